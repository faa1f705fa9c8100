"""The owner-scoped ModelAdmin every registered admin builds on.

An admin names `owner_field` (the lookup from its model to the owner, e.g. "owner" or
"terminal__owner"), the roles that may open it (`view_roles`), change and add rows
(`write_roles`, `add_roles`) and delete them (`delete_roles`). Without an `owner_field` it is for
platform staff only. Querysets, object lookups (a foreign id is a 404), related-field choices
(so autocomplete too), actions and exports all go through `get_queryset`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.forms import Field as FormField
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline, TabularInline

from tenancy.cabinet import exports, scope


class ScopeMixin:
    """Owner scoping and the role table for a ModelAdmin (mixed in before the admin class)."""

    owner_field: str | None = None
    view_roles: tuple[str, ...] = scope.STAFF_ROLES
    write_roles: tuple[str, ...] = ()
    add_roles: tuple[str, ...] | None = None  # default: write_roles
    delete_roles: tuple[str, ...] = ()
    export_roles: tuple[str, ...] | None = None  # default: view_roles
    # (header, attribute or callable of a row) — the admin offers CSV and Excel when set.
    export_columns: list[tuple[Any, Any]] = []
    # Actions members may run, by name, with the roles allowed (platform staff: every action).
    action_roles: dict[str, tuple[str, ...]] = {}

    # --- who may do what ------------------------------------------------------------------

    def _member_may(self, request: HttpRequest, roles: tuple[str, ...]) -> bool:
        if self.owner_field is None:
            return False
        return scope.role_of(request) in roles

    def has_module_permission(self, request: HttpRequest) -> bool:
        if scope.is_platform_staff(request):
            return super().has_module_permission(request)  # type: ignore[misc]
        return self._member_may(request, self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_view_permission(request, obj)  # type: ignore[misc]
        return self._member_may(request, self.view_roles) or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_change_permission(request, obj)  # type: ignore[misc]
        return self._member_may(request, self.write_roles)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if scope.is_platform_staff(request):
            return super().has_add_permission(request, *args)  # type: ignore[misc]
        roles = self.add_roles if self.add_roles is not None else self.write_roles
        return self._member_may(request, roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_delete_permission(request, obj)  # type: ignore[misc]
        return self._member_may(request, self.delete_roles)

    def has_export_permission(self, request: HttpRequest) -> bool:
        roles = self.export_roles if self.export_roles is not None else self.view_roles
        if scope.is_platform_staff(request):
            return self.has_view_permission(request)
        return self._member_may(request, roles)

    # --- what they see ----------------------------------------------------------------------

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if scope.is_platform_staff(request):
            return queryset
        membership = scope.current_membership(request)
        if membership is None or self.owner_field is None:
            return queryset.none()
        return queryset.filter(**{self.owner_field: membership.owner_id})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope_queryset(request, super().get_queryset(request))  # type: ignore[misc]

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        if scope.is_platform_staff(request):
            return filters
        # A member's filters offer only values found in their own rows (never the owner itself).
        scoped: list[Any] = []
        for entry in filters:
            if isinstance(entry, str) and entry in ("owner", self.owner_field):
                continue
            if isinstance(entry, str) and _is_relation(self.model, entry):  # type: ignore[attr-defined]
                entry = (entry, RelatedOnlyFieldListFilter)
            scoped.append(entry)
        return scoped

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)  # type: ignore[misc]
        if scope.is_platform_staff(request):
            return actions
        role = scope.role_of(request)
        return {
            name: action
            for name, action in actions.items()
            if name == "delete_selected" or role in self.action_roles.get(name, ())
        }

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if self.owner_field == "owner" and not scope.is_platform_staff(request):
            exclude.append("owner")  # a member's rows belong to the owner they act for
        return exclude

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        membership = scope.current_membership(request)
        if self.owner_field == "owner" and membership is not None and not change:
            obj.owner_id = membership.owner_id
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        if "queryset" not in kwargs:
            kwargs["queryset"] = related_choices(self, db_field.remote_field.model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        if "queryset" not in kwargs:
            kwargs["queryset"] = related_choices(self, db_field.remote_field.model, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]

    # --- titles that read right in Russian ----------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        title = capfirst(self.model._meta.verbose_name_plural)  # type: ignore[attr-defined]
        context = {"title": title, "cabinet_exports": self._export_links(request)}
        return super().changelist_view(request, {**context, **(extra_context or {})})  # type: ignore[misc]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        name = self.model._meta.verbose_name  # type: ignore[attr-defined]
        context = {"title": _("New record: %(name)s") % {"name": name}}
        return super().add_view(request, form_url, {**context, **(extra_context or {})})  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        name = capfirst(self.model._meta.verbose_name)  # type: ignore[attr-defined]
        context = {"title": name}
        return super().change_view(  # type: ignore[misc]
            request, object_id, form_url, {**context, **(extra_context or {})}
        )

    # --- exports ------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        urls: list[Any] = super().get_urls()  # type: ignore[misc]
        if not self.export_columns:
            return urls
        info = self.model._meta.app_label, self.model._meta.model_name  # type: ignore[attr-defined]
        view = self.admin_site.admin_view(self.export_view)  # type: ignore[attr-defined]
        return [path("export/<str:fmt>/", view, name="{}_{}_export".format(*info)), *urls]

    def _export_links(self, request: HttpRequest) -> list[dict[str, str]]:
        if not self.export_columns or not self.has_export_permission(request):
            return []
        query = request.GET.urlencode()
        return [
            {"label": label, "url": f"export/{fmt}/" + (f"?{query}" if query else "")}
            for fmt, label in exports.FORMATS.items()
        ]

    def export_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """The changelist's rows as filtered and searched on screen (never another owner's)."""
        changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        return changelist.get_queryset(request)

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if fmt not in exports.FORMATS or not self.has_export_permission(request):
            raise Http404(_("Not found."))
        name = str(self.model._meta.model_name)  # type: ignore[attr-defined]
        return exports.respond(fmt, name, self.export_columns, self.export_queryset(request))


def _is_relation(model: type[models.Model], name: str) -> bool:
    if "__" in name:
        return False
    try:
        return bool(model._meta.get_field(name).is_relation)
    except Exception:  # a method or an unknown name: not a relation filter
        return False


def related_choices(admin: Any, model: type[models.Model], request: HttpRequest) -> QuerySet[Any]:
    """The rows of `model` a field of `admin` may offer: what that model's own admin shows the
    caller; people: the members of the caller's owner."""
    queryset: QuerySet[Any] = model._default_manager.all()
    if scope.is_platform_staff(request):
        return queryset
    membership = scope.current_membership(request)
    if membership is None:
        return queryset.none()
    if model is get_user_model():
        return queryset.filter(memberships__owner_id=membership.owner_id).distinct()
    related_admin = admin.admin_site._registry.get(model)
    if isinstance(related_admin, ScopeMixin):
        return related_admin.scope_queryset(request, queryset)
    return queryset.none()


class CabinetPaginator(Paginator):
    """The changelist's paginator; its template counts rows with the language's plural forms."""

    template_name = "cabinet/pagination_count.html"


class CabinetModelAdmin(ScopeMixin, UnfoldModelAdmin):
    """The base of the product's admins."""

    list_per_page = 50
    paginator = CabinetPaginator
    change_list_template = "cabinet/change_list.html"


class ScopedInlineMixin:
    """An inline follows the role table of the admin it sits in (`write_roles` of its own)."""

    write_roles: tuple[str, ...] = ()
    view_roles: tuple[str, ...] = scope.STAFF_ROLES

    def _may(self, request: HttpRequest, roles: tuple[str, ...]) -> bool:
        return scope.is_platform_staff(request) or scope.role_of(request) in roles

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        base = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]

        class LabelledFormSet(base):  # type: ignore[misc, valid-type]
            """A table row's inputs carry their column's name (screen readers see no label)."""

            def add_fields(self, form: Any, index: Any) -> None:
                super().add_fields(form, index)
                for field in form.fields.values():
                    field.widget.attrs.setdefault("aria-label", str(field.label or ""))
                for key, value in form.initial.items():
                    if isinstance(value, Decimal):  # 175, not 175.000
                        form.initial[key] = f"{value.normalize():f}"

        return LabelledFormSet

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_view_permission(request, obj)  # type: ignore[misc]
        return self._may(request, self.view_roles) or self._may(request, self.write_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_change_permission(request, obj)  # type: ignore[misc]
        return self._may(request, self.write_roles)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_add_permission(request, obj)  # type: ignore[misc]
        return self._may(request, self.write_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if scope.is_platform_staff(request):
            return super().has_delete_permission(request, obj)  # type: ignore[misc]
        return self._may(request, self.write_roles)

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        if "queryset" not in kwargs:
            kwargs["queryset"] = related_choices(self, db_field.remote_field.model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class CabinetTabularInline(ScopedInlineMixin, TabularInline):
    pass


class CabinetStackedInline(ScopedInlineMixin, StackedInline):
    pass
