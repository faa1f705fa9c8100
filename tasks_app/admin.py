"""Tasks in the cabinet: a readable page with the critical and missing items, completion through
`services.complete_task` (acceptance rules, the logged stock entry, the sales-counter reset)."""

from __future__ import annotations

import mimetypes
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.widgets import UnfoldAdminDecimalFieldWidget

from inventory.admin.display import fill_bar, quantity
from inventory.models import Inventory, Location
from planning.services import prefill_after_restock
from tasks_app import services
from tasks_app.models import Task, TaskStatus, TaskType, TerminalAssignment
from tenancy.cabinet import scope
from tenancy.cabinet.options import CabinetModelAdmin


def machine_rows(task: Task) -> list[Inventory]:
    return list(
        Inventory.objects.filter(
            owner_id=task.owner_id, terminal_id=task.terminal_id, location=Location.MACHINE
        ).order_by("item_name")
    )


class CompleteForm(forms.Form):
    """One field per machine container: the stock after the visit (empty: unchanged)."""

    def __init__(self, *args: Any, task: Task, rows: list[Inventory], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wanted = set(task.critical_items) | set(task.details.get("missing_items", []))
        for row in sorted(rows, key=lambda r: (r.item_name not in wanted, r.item_name)):
            label = f"{row.item_name} ({quantity(row.current_stock, row.item_name)})"
            self.fields[f"item:{row.item_name}"] = forms.DecimalField(
                label=label,
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=3,
                help_text=_("capacity %(max)s, critical %(critical)s")
                % {
                    "max": quantity(row.max_stock, row.item_name),
                    "critical": quantity(row.critical_stock, row.item_name),
                },
                widget=UnfoldAdminDecimalFieldWidget,
            )
        for name in sorted(wanted - {row.item_name for row in rows}):
            self.fields[f"item:{name}"] = forms.DecimalField(
                label=f"{name} ({_('not configured')})",
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=3,
                widget=UnfoldAdminDecimalFieldWidget,
            )

    def updated_stock(self) -> dict[str, Decimal]:
        return {
            key.partition(":")[2]: value
            for key, value in self.cleaned_data.items()
            if key.startswith("item:") and value is not None
        }


@admin.register(Task)
class TaskAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES
    add_roles = ()  # tasks are raised by the import or through the API
    change_form_template = "cabinet/task_change_form.html"
    list_display = [
        "id",
        "created_at",
        "task_type",
        "status",
        "terminal",
        "assignee",
        "is_auto",
        "completed_at",
        "complete_link",
    ]
    list_filter = ["status", "task_type", "is_auto", "terminal", "owner"]
    search_fields = ["terminal__name", "comment", "assignee__username"]
    date_hierarchy = "created_at"
    fields = [
        "terminal",
        "task_type",
        "status",
        "assignee",
        "comment",
        "items_table",
        "is_auto",
        "created_by",
        "created_at",
        "completed_at",
        "completed_by",
        "photo",
        "cancelled_at",
        "hidden_at",
    ]
    readonly_fields = [
        "photo",
        "terminal",
        "task_type",
        "status",
        "items_table",
        "is_auto",
        "created_by",
        "created_at",
        "completed_at",
        "completed_by",
        "cancelled_at",
        "hidden_at",
    ]
    list_select_related = ["terminal", "assignee", "owner"]
    actions = ["cancel_tasks"]
    action_roles = {"cancel_tasks": scope.STAFF_ROLES}
    export_columns = [
        (_("id"), "id"),
        (_("created at"), "created_at"),
        (_("type"), "task_type"),
        (_("status"), "status"),
        (_("terminal"), "terminal"),
        (_("assignee"), "assignee"),
        (_("critical items"), lambda task: ", ".join(task.critical_items)),
        (_("completed at"), "completed_at"),
        (_("completed by"), "completed_by"),
    ]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.complete_view)
        photo = self.admin_site.admin_view(self.photo_view)
        return [
            path("<path:object_id>/complete/", view, name="tasks_app_task_complete"),
            path("<path:object_id>/photo/", photo, name="tasks_app_task_photo"),
            *super().get_urls(),
        ]

    @admin.display(description=_("critical and missing items"))
    def items_table(self, task: Task) -> Any:
        rows = {row.item_name: row for row in machine_rows(task)}
        names = [*task.critical_items, *task.details.get("missing_items", [])]
        if not names:
            return "—"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    name,
                    _("critical") if name in task.critical_items else _("not configured"),
                    quantity(rows[name].current_stock, name) if name in rows else "—",
                    fill_bar(rows[name]) if name in rows else "—",
                )
                for name in names
            ),
        )
        return format_html(
            '<table class="cab-table"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
            _("ingredient"),
            _("why"),
            _("stock"),
            _("fill"),
            body,
        )

    @admin.display(description=_("photo after completion"))
    def photo(self, task: Task) -> Any:
        if not task.completion_photo:
            return "—"
        url = reverse("admin:tasks_app_task_photo", args=[task.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" style="max-width:22rem;border-radius:8px"></a>',
            url,
            url,
            _("The machine after the refill, task #%(id)s") % {"id": task.pk},
        )

    def photo_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        """The completion photo, to whoever may open the task (files under MEDIA_ROOT are not
        served publicly: the task's owner scope decides)."""
        task = self.get_object(request, object_id)
        if not self.has_view_permission(request, task) or not task.completion_photo:
            raise Http404(_("Not found."))
        content_type = mimetypes.guess_type(task.completion_photo.name)[0]
        return FileResponse(task.completion_photo.open("rb"), content_type=content_type)

    @admin.display(description=_("complete"))
    def complete_link(self, task: Task) -> Any:
        if task.status != TaskStatus.PENDING:
            return "—"
        url = reverse("admin:tasks_app_task_complete", args=[task.pk])
        return format_html('<a class="cab-button cab-primary" href="{}">{}</a>', url, _("Complete"))

    def complete_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        task = self.get_object(request, object_id)
        if not scope.may(request, scope.EVERY_ROLE):
            raise PermissionDenied
        if task.status != TaskStatus.PENDING:
            messages.warning(request, _("The task is already finished."))
            return HttpResponseRedirect(reverse("admin:tasks_app_task_change", args=[task.pk]))
        rows = machine_rows(task) if task.task_type == TaskType.RESTOCK else []
        # A restock kitted by a pick list starts from what the list brings.
        initial = (
            {
                f"item:{name}": stock
                for name, stock in prefill_after_restock(
                    task.pick_list_id, task.terminal_id
                ).items()
            }
            if rows and task.pick_list_id is not None
            else {}
        )
        form = CompleteForm(request.POST or None, task=task, rows=rows, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.complete_task(task.pk, form.updated_stock(), user_id=request.user.pk)
            except services.TaskError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Task #%(id)s completed.") % {"id": task.pk})
                return HttpResponseRedirect(reverse("admin:tasks_app_task_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Complete task #%(id)s — %(terminal)s")
            % {"id": task.pk, "terminal": task.terminal},
            "form": form,
            "intro": _("Enter the machine stock after the visit; leave a field empty if unchanged.")
            if rows
            else _("Confirm the visit is done."),
            "submit_label": _("Complete"),
        }
        return TemplateResponse(request, "cabinet/form_page.html", context)

    @admin.action(description=_("Cancel selected open tasks"))
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        done = 0
        for task_id in queryset.filter(status=TaskStatus.PENDING).values_list("id", flat=True):
            try:
                services.cancel_task(task_id, user_id=request.user.pk)
                done += 1
            except services.TaskError:
                continue  # finished meanwhile
        self.message_user(
            request,
            ngettext("%(n)d task cancelled.", "%(n)d tasks cancelled.", done) % {"n": done},
            messages.SUCCESS,
        )


@admin.register(TerminalAssignment)
class TerminalAssignmentAdmin(CabinetModelAdmin):
    owner_field = "terminal__owner"
    view_roles = scope.STAFF_ROLES
    write_roles = scope.STAFF_ROLES
    list_display = ["terminal", "restock_assignee", "updated_at"]
    search_fields = ["terminal__name", "restock_assignee__username"]
    list_select_related = ["terminal", "restock_assignee"]
    autocomplete_fields = ["terminal"]
