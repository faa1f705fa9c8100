"""Admin for staff tasks and terminal assignees."""

from __future__ import annotations

from django.contrib import admin

from tasks_app.models import Task, TerminalAssignment


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "task_type",
        "status",
        "terminal",
        "assignee",
        "is_auto",
        "completed_at",
        "hidden_at",
    ]
    list_filter = ["status", "task_type", "is_auto", "owner"]
    search_fields = ["terminal__name", "comment"]
    readonly_fields = ["created_at", "completed_at", "cancelled_at", "hidden_at"]
    list_select_related = ["terminal", "assignee"]


@admin.register(TerminalAssignment)
class TerminalAssignmentAdmin(admin.ModelAdmin):
    list_display = ["terminal", "restock_assignee", "updated_at"]
    search_fields = ["terminal__name"]
    list_select_related = ["terminal", "restock_assignee"]
