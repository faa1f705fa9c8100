"""Restock planning: the owner's settings, consumption forecasts per machine container, pick
lists for a visit day, and stock audits (measured against book stock)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanningSettings(models.Model):
    """How an owner plans visits: the days between visits and how far ahead a forecast opens a
    restock task early (0: only when a container is already critical)."""

    owner = models.OneToOneField(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="planning_settings",
        verbose_name=_("owner"),
    )
    visit_interval_days = models.PositiveSmallIntegerField(_("days between visits"), default=7)
    early_task_horizon_days = models.PositiveSmallIntegerField(
        _("open restock tasks this many days ahead"), default=0
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("planning settings")
        verbose_name_plural = _("planning settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(visit_interval_days__gte=1, visit_interval_days__lte=60),
                name="planning_visit_interval_range",
            ),
            models.CheckConstraint(
                condition=models.Q(early_task_horizon_days__lte=30),
                name="planning_early_horizon_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.owner)


class Forecast(models.Model):
    """The expected consumption of one machine container, as of the last recomputation."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    inventory = models.OneToOneField(
        "inventory.Inventory",
        on_delete=models.CASCADE,
        related_name="forecast",
        verbose_name=_("container"),
    )
    terminal = models.ForeignKey(
        "vendista.Terminal",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("terminal"),
    )
    item_name = models.CharField(_("ingredient"), max_length=100)
    # Expected use per day of the week, Monday first (7 numbers).
    weekday_use = models.JSONField(_("expected use per weekday"), default=list)
    daily_use = models.DecimalField(
        _("expected use per day"), max_digits=12, decimal_places=3, default=Decimal(0)
    )
    days_of_history = models.PositiveSmallIntegerField(_("days of history"), default=0)
    critical_on = models.DateField(_("reaches critical on"), null=True, blank=True)
    empty_on = models.DateField(_("empties on"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("forecast")
        verbose_name_plural = _("forecasts")
        ordering = ["owner_id", "terminal_id", "item_name"]
        indexes = [models.Index(fields=["owner", "critical_on"], name="forecast_owner_critical")]

    def __str__(self) -> str:
        return f"{self.item_name} @ {self.terminal_id}: {self.daily_use}/day"


class PickList(models.Model):
    """What to bring on one visit day: per terminal and ingredient, and totals against the
    warehouse."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    day = models.DateField(_("visit day"))
    # The route: terminal ids in visiting order (all active terminals when none was chosen).
    route = models.JSONField(_("route"), default=list, blank=True)
    next_visit_day = models.DateField(_("next visit"))
    # [{"item_name", "quantity", "warehouse", "shortfall"}], by ingredient.
    totals = models.JSONField(_("totals"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pick list")
        verbose_name_plural = _("pick lists")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["owner", "day"], name="picklist_owner_day")]

    def __str__(self) -> str:
        return f"{self.day:%d.%m.%Y} #{self.pk}"

    def has_shortfall(self) -> bool:
        return any(Decimal(str(row["shortfall"])) > 0 for row in self.totals)


class PickListLine(models.Model):
    """One terminal's ingredient on a pick list: what to bring so the container is full at the
    visit."""

    pick_list = models.ForeignKey(
        PickList, on_delete=models.CASCADE, related_name="lines", verbose_name=_("pick list")
    )
    terminal = models.ForeignKey(
        "vendista.Terminal", on_delete=models.CASCADE, related_name="+", verbose_name=_("terminal")
    )
    position = models.PositiveIntegerField(_("place in the route"), default=0)
    item_name = models.CharField(_("ingredient"), max_length=100)
    current_stock = models.DecimalField(_("stock now"), max_digits=12, decimal_places=3)
    expected_at_visit = models.DecimalField(
        _("expected at the visit"), max_digits=12, decimal_places=3
    )
    use_until_next_visit = models.DecimalField(
        _("use until the next visit"), max_digits=12, decimal_places=3
    )
    capacity = models.DecimalField(_("capacity"), max_digits=12, decimal_places=3)
    quantity = models.DecimalField(_("to bring"), max_digits=12, decimal_places=3)

    class Meta:
        verbose_name = _("pick-list line")
        verbose_name_plural = _("pick-list lines")
        ordering = ["pick_list_id", "position", "item_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["pick_list", "terminal", "item_name"], name="picklistline_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_name}: {self.quantity}"

    def lasts_until_next_visit(self) -> bool:
        """Whether a full container covers the expected use until the next visit."""
        return self.capacity >= self.use_until_next_visit


class AuditMethod(models.TextChoices):
    WEIGHT = "weight", _("By weight")
    EYE = "eye", _("By eye")


class StockAudit(models.Model):
    """A measured level of one machine container against its book stock at that moment."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    inventory = models.ForeignKey(
        "inventory.Inventory",
        on_delete=models.CASCADE,
        related_name="audits",
        verbose_name=_("container"),
    )
    terminal = models.ForeignKey(
        "vendista.Terminal", on_delete=models.CASCADE, related_name="+", verbose_name=_("terminal")
    )
    item_name = models.CharField(_("ingredient"), max_length=100)
    book_level = models.DecimalField(_("book stock"), max_digits=12, decimal_places=3)
    measured_level = models.DecimalField(_("measured"), max_digits=12, decimal_places=3)
    method = models.CharField(_("method"), max_length=8, choices=AuditMethod.choices)
    photo = models.ImageField(_("photo"), upload_to="audit-photos/%Y/%m/", blank=True)
    comment = models.TextField(_("comment"), blank=True)
    audited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("audited by"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock audit")
        verbose_name_plural = _("stock audits")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="stockaudit_owner_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(measured_level__gte=0), name="stockaudit_measured_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_name} @ {self.terminal_id}: {self.book_level} → {self.measured_level}"

    @property
    def variance(self) -> Decimal:
        """Measured minus book: negative when less is in the container than the books say."""
        return self.measured_level - self.book_level
