from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from allauth.account.decorators import secure_admin_login
        from django.contrib import admin

        from accounts import signals  # noqa: F401

        # Django's own admin sign-in form knows nothing of TOTP or of the limits on
        # failed sign-ins; send everyone through allauth's sign-in instead.
        admin.site.login = secure_admin_login(admin.site.login)
