from django.apps import AppConfig


class IncomeConfig(AppConfig):
    name = "income"
    verbose_name = "Income by month, pay plans and income letters"
