"""Staff work items (restock and service visits) and who gets them per terminal."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskType(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    SERVICE = "service", _("Service visit")


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("Open")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    """One work item at one terminal. Finished tasks are hidden at 23:59, never deleted."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    terminal = models.ForeignKey(
        "vendista.Terminal",
        on_delete=models.CASCADE,
        related_name="tasks",
        verbose_name=_("terminal"),
    )
    task_type = models.CharField(
        _("type"), max_length=16, choices=TaskType.choices, default=TaskType.RESTOCK
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tasks",
        verbose_name=_("assignee"),
    )
    is_auto = models.BooleanField(_("created automatically"), default=False)
    # Automatic restock: {"critical_items": [...], "missing_items": [...]} (missing = an
    # ingredient of the terminal's recipes with no machine stock row: "not configured").
    details = models.JSONField(_("details"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # Optional: the machine after the refill, taken by whoever completed the task.
    completion_photo = models.ImageField(
        _("photo after completion"),
        upload_to="task-photos/%Y/%m/",
        blank=True,
        # The restock upsert in services.py inserts with raw SQL and leaves this column out.
        db_default="",
    )
    hidden_at = models.DateTimeField(_("hidden from the list at"), null=True, blank=True)
    # The pick list the restock was kitted by (its completion form is prefilled from it).
    pick_list = models.ForeignKey(
        "planning.PickList",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("pick list"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                name="task_one_open_restock_per_terminal",
                condition=models.Q(status="pending", task_type="restock"),
            )
        ]
        indexes = [models.Index(fields=["owner", "status"], name="task_owner_status")]

    def __str__(self) -> str:
        return f"{self.get_task_type_display()} — {self.terminal}"

    @property
    def critical_items(self) -> list[str]:
        return list(self.details.get("critical_items", []))


class TerminalAssignment(models.Model):
    """Who receives the automatic restock tasks of a terminal."""

    terminal = models.OneToOneField(
        "vendista.Terminal",
        on_delete=models.CASCADE,
        related_name="assignment",
        verbose_name=_("terminal"),
    )
    restock_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("restock assignee"),
    )
    # Where the terminal comes in the service round (the Mini App lists tasks in this order).
    route_position = models.PositiveIntegerField(_("place in the route"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("terminal assignee")
        verbose_name_plural = _("terminal assignees")

    def __str__(self) -> str:
        return f"{self.terminal}: {self.restock_assignee or '—'}"
