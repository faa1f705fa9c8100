"""The terminal page (containers, recipe coverage, open task) and the finance summary export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from core.clock import Period, moscow_now
from inventory.admin.display import fill_bar, quantity
from inventory.models import Inventory
from tasks_app.models import Task, TaskStatus
from tenancy.cabinet import exports, scope
from tenancy.models import Owner
from vendista import finance
from vendista.admin.dashboard import missing_recipes


def _table(headers: list[str], rows: Any) -> Any:
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html(
        '<table class="cab-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body
    )


class TerminalPageMixin:
    page_fields = ["containers", "recipe_coverage", "open_task"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*self.page_fields, *fields] if obj is not None else fields

    def containers(self, terminal: Any) -> Any:
        rows = Inventory.objects.filter(terminal_id=terminal.pk).order_by("location", "item_name")
        return _table(
            [
                _("place"),
                _("ingredient"),
                _("stock"),
                _("capacity"),
                _("critical level"),
                _("fill"),
            ],
            (
                (
                    row.get_location_display(),
                    row.item_name,
                    quantity(row.current_stock, row.item_name),
                    quantity(row.max_stock, row.item_name),
                    quantity(row.critical_stock, row.item_name),
                    fill_bar(row),
                )
                for row in rows
            ),
        )

    containers.short_description = _("containers and stock")  # type: ignore[attr-defined]

    def recipe_coverage(self, terminal: Any) -> Any:
        recipes = terminal.recipes.count()
        missing = missing_recipes([terminal.pk]).get(terminal.pk, [])
        if not missing:
            return format_html(
                "{}: {}. {}", _("Recipes"), recipes, _("Every sold drink has a recipe.")
            )
        add = reverse("admin:inventory_recipe_add")
        links = format_html_join(
            ", ",
            '<a href="{}?{}">№{}</a>',
            (
                (
                    add,
                    urlencode(
                        {"terminal": terminal.pk, "machine_item_id": item, "name": f"№{item}"}
                    ),
                    item,
                )
                for item in missing
            ),
        )
        return format_html(
            "{}: {}. {}: {}. <small class='cab-muted'>{}</small>",
            _("Recipes"),
            recipes,
            _("Sold without a recipe"),
            links,
            _("A recipe added now deducts the sales from now on; past sales stay as they were."),
        )

    recipe_coverage.short_description = _("recipe coverage")  # type: ignore[attr-defined]

    def open_task(self, terminal: Any) -> Any:
        task = Task.objects.filter(terminal_id=terminal.pk, status=TaskStatus.PENDING).first()
        if task is None:
            return "—"
        url = reverse("admin:tasks_app_task_change", args=[task.pk])
        return format_html('<a href="{}">#{} {}</a>', url, task.pk, task.get_task_type_display())

    open_task.short_description = _("open task")  # type: ignore[attr-defined]


def period_of(request: HttpRequest) -> Period:
    today = moscow_now().date()
    return Period.month_of(today)


class FinanceExportMixin:
    """`…/transaction/finance/<csv|xlsx>/`: the finance summary of this month per owner."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.finance_view)  # type: ignore[attr-defined]
        return [
            path("finance/<str:fmt>/", view, name="vendista_finance_export"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def _export_links(self, request: HttpRequest) -> list[dict[str, str]]:
        links: list[dict[str, str]] = super()._export_links(request)  # type: ignore[misc]
        if links:
            links += [
                {"label": _("finance summary (%(fmt)s)") % {"fmt": label}, "url": f"finance/{fmt}/"}
                for fmt, label in exports.FORMATS.items()
            ]
        return links

    def finance_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if fmt not in exports.FORMATS or not self.has_export_permission(request):  # type: ignore[attr-defined]
            raise Http404
        period = period_of(request)
        owners = Owner.objects.order_by("id")
        membership = scope.current_membership(request)
        if not scope.is_platform_staff(request):
            owners = owners.filter(pk=membership.owner_id if membership else -1)
        headers = [
            _("owner"),
            _("from"),
            _("to"),
            _("sales"),
            _("revenue, ₽"),
            _("acquiring, ₽"),
            _("expenses, ₽"),
            _("tax, ₽"),
            _("net profit, ₽"),
        ]
        lines: list[list[Any]] = [headers]
        for owner in owners:
            s = finance.summary(owner.pk, period)
            lines.append(
                [
                    owner.name,
                    period.first.isoformat(),
                    period.last.isoformat(),
                    s.sales_count,
                    s.revenue,
                    s.acquiring,
                    s.expenses,
                    s.tax,
                    s.net_profit,
                ]
            )
        return exports.file_response(fmt, "finance", lines)
