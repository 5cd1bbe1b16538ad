"""Users sign in by e-mail; their roles are groups (see ``accounts.roles``)."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken
from simple_history.models import HistoricalRecords

from core.history import HistoryActionMixin


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(
        _("name"), max_length=150, blank=True, help_text=_("How colleagues see this person.")
    )
    is_staff = models.BooleanField(
        _("admin site access"), default=False, help_text=_("May sign in to the admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()
    history = HistoricalRecords(
        bases=[HistoryActionMixin], excluded_fields=["password", "last_login"]
    )

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self):
        return self.name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email

    # Roles --------------------------------------------------------------
    @property
    def role_names(self) -> frozenset[str]:
        cached = getattr(self, "_role_names", None)
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True))
            self._role_names = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names.intersection(roles))

    @property
    def is_coordinator(self) -> bool:
        return self.has_role("coordinator")

    @property
    def is_finance(self) -> bool:
        return self.has_role("finance")

    @property
    def is_admin_role(self) -> bool:
        return self.has_role("admin") or self.is_superuser

    @property
    def is_consultant_user(self) -> bool:
        return self.has_role("consultant")

    @property
    def is_staff_member(self) -> bool:
        """Coordinators, finance and admins: people who work for the study."""
        return self.has_role("coordinator", "finance", "admin") or self.is_superuser


class ApiToken(AbstractAuthToken):
    """A personal API token (django-rest-knox): only its hash is stored."""

    name = models.CharField(_("name"), max_length=80)

    history = HistoricalRecords(bases=[HistoryActionMixin], excluded_fields=["digest"])

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.token_key}…)"

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
