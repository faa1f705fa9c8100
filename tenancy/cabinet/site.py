"""The admin site: platform staff and every member of an owner sign in here; the sidebar lists
what the caller's role may open; the owner switcher; admins registered by other packages (auth,
tokens, beat, login attempts) are themed and kept to platform staff."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.forms import AuthenticationForm
from unfold.sites import UnfoldAdminSite

from tenancy.cabinet import scope
from tenancy.cabinet.options import ScopeMixin
from tenancy.models import Membership


def may_sign_in(user: Any) -> bool:
    """Platform staff, or a person who is a member of at least one owner."""
    if not (user.is_active and user.pk):
        return False
    return bool(user.is_staff or Membership.objects.filter(user_id=user.pk).exists())


class CabinetLoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        if not may_sign_in(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class CabinetSite(UnfoldAdminSite):
    login_form = CabinetLoginForm
    site_header = "vendkiosk"
    site_title = "vendkiosk"
    index_title = _("Dashboard")
    index_template = "cabinet/dashboard.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_authenticated and may_sign_in(request.user))

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, ScopeMixin):
            # Someone else's admin: themed, and for platform staff only (no owner_field).
            bases: tuple[type, ...] = (ScopeMixin, admin_class)
            if not issubclass(admin_class, UnfoldModelAdmin):
                bases = (*bases, UnfoldModelAdmin)
            admin_class = type(admin_class.__name__, bases, {"__module__": admin_class.__module__})
        super().register(model_or_iterable, admin_class, **options)

    def get_urls(self) -> list[Any]:
        extra = [path("owner/", self.admin_view(switch_owner_view), name="switch_owner")]
        return [*extra, *super().get_urls()]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        current = scope.current_membership(request)
        context["cabinet_membership"] = current
        context["cabinet_memberships"] = (
            scope.memberships(request) if request.user.is_authenticated else []
        )
        return context


@require_POST
def switch_owner_view(request: HttpRequest) -> HttpResponse:
    """Act for another of the caller's owners; an owner they do not belong to changes nothing."""
    scope.switch_owner(request, request.POST.get("owner_id"))
    target = request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return HttpResponseRedirect(target)


def sidebar_navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """The sidebar: the dashboard, then each app's pages the caller may open."""
    from django.contrib import admin

    groups: list[dict[str, Any]] = [
        {
            "title": _("Cabinet"),
            "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse("admin:index")}
            ],
        }
    ]
    for app in admin.site.get_app_list(request):
        items = [
            {"title": model["name"], "link": model["admin_url"]}
            for model in app["models"]
            if model.get("admin_url")
        ]
        if items:
            groups.append({"title": app["name"], "collapsible": True, "items": items})
    return groups
