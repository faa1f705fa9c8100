from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    default = True
    name = "tenancy"
    verbose_name = _("Owners and access")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from tenancy.lockout import audit_lockout

        user_locked_out.connect(audit_lockout, dispatch_uid="tenancy.audit_lockout")


class CabinetAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the cabinet's site as `admin.site`."""

    default = False
    default_site = "tenancy.cabinet.site.CabinetSite"
