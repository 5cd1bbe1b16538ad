from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The offline demo: its data, its commands and the local Stripe sandbox's command.

    Nothing in the live apps imports it; every command here refuses to run without DEBUG
    (``stripe_sandbox`` aside, which reaches no real money).
    """

    name = "demo"
    verbose_name = "Demo"
