"""Admin for staff tasks and terminal assignees, with the complete and cancel actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tasks_app import services
from tasks_app.models import Task, TaskStatus, TerminalAssignment


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "task_type",
        "status",
        "terminal",
        "owner",
        "assignee",
        "is_auto",
        "completed_at",
        "hidden_at",
    ]
    list_filter = ["status", "task_type", "is_auto", "owner"]
    search_fields = ["terminal__name", "comment", "assignee__username"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "owner",
        "is_auto",
        "details",
        "created_by",
        "created_at",
        "completed_at",
        "completed_by",
        "cancelled_at",
        "hidden_at",
    ]
    list_select_related = ["terminal", "assignee", "owner"]
    actions = ["complete_tasks", "cancel_tasks"]

    @admin.action(description=_("Complete selected open tasks (no stock entry)"))
    def complete_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        done = sum(
            services.close_task_by_staff(task_id, user=request.user, request=request)
            for task_id in queryset.filter(status=TaskStatus.PENDING).values_list("id", flat=True)
        )
        self.message_user(
            request,
            ngettext("%(n)d task completed.", "%(n)d tasks completed.", done) % {"n": done},
            messages.SUCCESS,
        )

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
class TerminalAssignmentAdmin(admin.ModelAdmin):
    list_display = ["terminal", "restock_assignee", "updated_at"]
    search_fields = ["terminal__name", "restock_assignee__username"]
    list_select_related = ["terminal", "restock_assignee"]
    autocomplete_fields = ["terminal"]
