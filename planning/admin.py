"""Planning in the cabinet: forecasts per container, pick lists (planned through the service,
printable), stock audits (recorded through the service) and the owner's settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.clock import moscow_today
from inventory.models import Inventory, Location
from planning import services
from planning.models import AuditMethod, Forecast, PickList, PlanningSettings, StockAudit
from planning.services.pdf import render_pick_list_pdf
from tenancy.cabinet import scope
from tenancy.cabinet.options import CabinetModelAdmin
from vendista.models import Terminal


def _owner_id(request: HttpRequest) -> int | None:
    membership = scope.current_membership(request)
    return None if membership is None else membership.owner_id


@admin.register(Forecast)
class ForecastAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    list_display = [
        "terminal",
        "item_name",
        "stock",
        "daily_use",
        "critical_on",
        "empty_on",
        "days_of_history",
        "computed_at",
    ]
    list_filter = ["terminal", "critical_on"]
    search_fields = ["item_name", "terminal__name"]
    list_select_related = ["terminal", "inventory"]
    ordering = ["critical_on", "terminal__name", "item_name"]
    readonly_fields = [
        "terminal",
        "item_name",
        "stock",
        "daily_use",
        "weekday_use",
        "days_of_history",
        "critical_on",
        "empty_on",
        "computed_at",
    ]
    fields = readonly_fields

    @admin.display(description=_("stock now"))
    def stock(self, forecast: Forecast) -> Any:
        return forecast.inventory.current_stock


class PickListForm(forms.ModelForm):
    """Plan a visit: the day and, optionally, the terminals in visiting order."""

    terminals = forms.ModelMultipleChoiceField(
        label=_("terminals"),
        queryset=Terminal.objects.none(),
        required=False,
        help_text=_("Leave empty for every active terminal, in route order."),
    )

    class Meta:
        model = PickList
        fields = ["day"]


@admin.register(PickList)
class PickListAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = ()
    add_roles = scope.EVERY_ROLE
    form = PickListForm
    list_display = ["id", "day", "next_visit_day", "stops", "shortfall", "created_at", "pdf_link"]
    list_filter = ["day"]
    date_hierarchy = "day"
    readonly_fields = ["day", "next_visit_day", "totals_table", "lines_table", "pdf_link"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["day", "terminals"]
        return ["day", "next_visit_day", "pdf_link", "totals_table", "lines_table"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        owner_id = _owner_id(request)
        if "terminals" in form.base_fields:
            terminals: Any = form.base_fields["terminals"]
            terminals.queryset = Terminal.objects.filter(owner_id=owner_id or 0, is_active=True)
            form.base_fields["day"].initial = moscow_today()
        return form

    def save_model(self, request: HttpRequest, obj: PickList, form: Any, change: bool) -> None:
        owner_id = _owner_id(request)
        if change or owner_id is None:
            raise PermissionDenied
        try:
            created = services.create_pick_list(
                owner_id,
                form.cleaned_data["day"],
                route=[t.pk for t in form.cleaned_data.get("terminals") or []] or None,
                user_id=request.user.pk,
            )
        except services.PlanningError as error:
            raise PermissionDenied(error.message) from error
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="planning_picklist_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        pick_list = self.get_object(request, object_id)
        if pick_list is None or not self.has_view_permission(request, pick_list):
            raise Http404(_("Not found."))
        response = HttpResponse(render_pick_list_pdf(pick_list), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="pick-list-{pick_list.pk}.pdf"'
        return response

    @admin.display(description=_("PDF"))
    def pdf_link(self, pick_list: PickList) -> Any:
        if not pick_list.pk:
            return "—"
        url = reverse("admin:planning_picklist_pdf", args=[pick_list.pk])
        return format_html('<a class="cab-button" href="{}">{}</a>', url, _("Print"))

    @admin.display(description=_("terminals"))
    def stops(self, pick_list: PickList) -> int:
        return len(pick_list.route)

    @admin.display(description=_("warehouse short"), boolean=True)
    def shortfall(self, pick_list: PickList) -> bool:
        return pick_list.has_shortfall()

    @admin.display(description=_("totals"))
    def totals_table(self, pick_list: PickList) -> Any:
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (row["item_name"], row["quantity"], row["warehouse"], row["shortfall"])
                for row in pick_list.totals
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("ingredient"),
            _("to bring"),
            _("in the warehouse"),
            _("short"),
            body,
        )

    @admin.display(description=_("per terminal"))
    def lines_table(self, pick_list: PickList) -> Any:
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (line.terminal, line.item_name, line.current_stock, line.capacity, line.quantity)
                for line in pick_list.lines.select_related("terminal")
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("terminal"),
            _("ingredient"),
            _("stock now"),
            _("capacity"),
            _("to bring"),
            body,
        )


class StockAuditForm(forms.ModelForm):
    class Meta:
        model = StockAudit
        fields = ["inventory", "measured_level", "method", "photo", "comment"]


@admin.register(StockAudit)
class StockAuditAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = ()
    add_roles = scope.EVERY_ROLE
    form = StockAuditForm
    list_display = [
        "created_at",
        "terminal",
        "item_name",
        "book_level",
        "measured_level",
        "variance_display",
        "method",
        "audited_by",
    ]
    list_filter = ["terminal", "item_name", "method"]
    date_hierarchy = "created_at"
    list_select_related = ["terminal", "audited_by"]
    readonly_fields = [
        "terminal",
        "item_name",
        "book_level",
        "measured_level",
        "variance_display",
        "method",
        "comment",
        "audited_by",
        "created_at",
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["inventory", "measured_level", "method", "photo", "comment"]
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "inventory" in form.base_fields:
            containers: Any = form.base_fields["inventory"]
            containers.queryset = Inventory.objects.filter(
                owner_id=_owner_id(request) or 0, location=Location.MACHINE
            ).select_related("terminal")
            form.base_fields["method"].initial = AuditMethod.WEIGHT
        return form

    def save_model(self, request: HttpRequest, obj: StockAudit, form: Any, change: bool) -> None:
        owner_id = _owner_id(request)
        if change or owner_id is None:
            raise PermissionDenied
        data = form.cleaned_data
        created = services.record_audit(
            owner_id,
            data["inventory"].pk,
            data["measured_level"],
            method=data["method"],
            user_id=request.user.pk,
            photo=data.get("photo") or None,
            comment=data.get("comment", ""),
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False

    @admin.display(description=_("variance"))
    def variance_display(self, audit: StockAudit) -> Any:
        return audit.variance

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        owner_id = _owner_id(request)
        if owner_id is not None and scope.may(request, scope.STAFF_ROLES):
            for suggestion in services.suggest_recipe_corrections(owner_id):
                messages.info(request, _("Recipe check: %(text)s") % {"text": suggestion.text})
        return super().changelist_view(request, extra_context)


@admin.register(PlanningSettings)
class PlanningSettingsAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    write_roles = scope.STAFF_ROLES
    list_display = ["owner", "visit_interval_days", "early_task_horizon_days", "updated_at"]
    fields = ["visit_interval_days", "early_task_horizon_days"]
