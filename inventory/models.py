"""Stock per location, the change log, recipes and recipe presets."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Location(models.TextChoices):
    WAREHOUSE = "warehouse", _("Warehouse")
    STAND = "stand", _("Stand")
    MACHINE = "machine", _("Machine")


# numeric(12, 3): the most a stock row can hold.
MAX_STOCK = Decimal("999999999.999")

# The places a terminal's containers are configured for (the warehouse has no containers).
CONTAINER_LOCATIONS = [
    (Location.STAND.value, Location.STAND.label),
    (Location.MACHINE.value, Location.MACHINE.label),
]


class Inventory(models.Model):
    """Current stock of one ingredient at one location (the owner's warehouse, or a terminal's
    stand or machine), with the container's capacity and restock threshold."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    terminal = models.ForeignKey(
        "vendista.Terminal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inventories",
        verbose_name=_("terminal"),
    )
    location = models.CharField(_("location"), max_length=16, choices=Location.choices)
    item_name = models.CharField(_("ingredient"), max_length=100)
    current_stock = models.DecimalField(
        _("current stock"), default=Decimal(0), max_digits=12, decimal_places=3
    )
    max_stock = models.DecimalField(
        _("capacity"), null=True, blank=True, max_digits=12, decimal_places=3
    )
    critical_stock = models.DecimalField(
        _("critical level"), null=True, blank=True, max_digits=12, decimal_places=3
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["owner_id", "location", "terminal_id", "item_name"]
        constraints = [
            # One row per (owner, terminal, location, item) — warehouse rows (no terminal) too.
            models.UniqueConstraint(
                fields=["owner", "terminal", "location", "item_name"],
                name="inventory_unique_row",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(location="warehouse", terminal__isnull=True)
                    | models.Q(location__in=["stand", "machine"], terminal__isnull=False)
                ),
                name="inventory_location_terminal",
            ),
            models.CheckConstraint(
                condition=models.Q(current_stock__gte=0), name="inventory_stock_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["owner", "location"], name="inventory_owner_location")]

    def __str__(self) -> str:
        return f"{self.item_name} @ {self.location} {self.terminal_id or ''}".strip()

    def is_critical(self) -> bool:
        return self.critical_stock is not None and self.current_stock <= self.critical_stock

    def is_configured(self) -> bool:
        """Whether the container has a capacity (machine rows without one are "not configured")."""
        return self.max_stock is not None and self.max_stock > 0

    def fill_percentage(self) -> int | None:
        """Current stock as a whole percentage of the capacity; None without a capacity."""
        if self.max_stock is None or self.max_stock <= 0:
            return None
        return round(self.current_stock / self.max_stock * 100)


class ChangeSource(models.TextChoices):
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    WAREHOUSE_ADJUST = "warehouse_adjust", _("Warehouse adjustment")
    WAREHOUSE_STOCKUP = "warehouse_stockup", _("Warehouse stock-up")
    RESTOCK_TASK = "restock_task", _("Restock task")
    SALE = "sale", _("Sales")
    SALE_REVERSAL = "sale_reversal", _("Refunds")
    # A stock audit: book stock moved to the measured level (the delta is the variance).
    AUDIT = "audit", _("Stock audit")


class InventoryChange(models.Model):
    """One change of one stock row: before and after, where, why and by whom."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    terminal = models.ForeignKey(
        "vendista.Terminal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("terminal"),
    )
    location = models.CharField(_("location"), max_length=16, choices=Location.choices)
    item_name = models.CharField(_("ingredient"), max_length=100)
    source = models.CharField(_("source"), max_length=20, choices=ChangeSource.choices)
    quantity_before = models.DecimalField(_("before"), max_digits=12, decimal_places=3)
    quantity_after = models.DecimalField(_("after"), max_digits=12, decimal_places=3)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    is_notified = models.BooleanField(_("included in a digest"), default=False)

    class Meta:
        verbose_name = _("stock change")
        verbose_name_plural = _("stock change log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["owner", "created_at"],
                name="invchange_unnotified",
                condition=models.Q(is_notified=False),
            ),
            models.Index(fields=["owner", "created_at"], name="invchange_owner_time"),
        ]

    def __str__(self) -> str:
        return f"{self.item_name}: {self.quantity_before} → {self.quantity_after}"

    @property
    def delta(self) -> Decimal:
        return self.quantity_after - self.quantity_before


class Recipe(models.Model):
    """What one drink (a machine item of a terminal) consumes."""

    terminal = models.ForeignKey(
        "vendista.Terminal",
        on_delete=models.CASCADE,
        related_name="recipes",
        verbose_name=_("terminal"),
    )
    machine_item_id = models.IntegerField(_("machine item"))
    name = models.CharField(_("name"), max_length=255)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("recipe")
        verbose_name_plural = _("recipes")
        ordering = ["terminal_id", "machine_item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "machine_item_id"], name="recipe_terminal_item_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RecipeItem(models.Model):
    recipe = models.ForeignKey(
        Recipe, on_delete=models.CASCADE, related_name="items", verbose_name=_("recipe")
    )
    item_name = models.CharField(_("ingredient"), max_length=100)
    quantity = models.DecimalField(_("quantity per drink"), max_digits=10, decimal_places=3)

    class Meta:
        verbose_name = _("recipe ingredient")
        verbose_name_plural = _("recipe ingredients")
        ordering = ["recipe_id", "item_name"]
        constraints = [
            models.UniqueConstraint(fields=["recipe", "item_name"], name="recipeitem_unique"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="recipeitem_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_name}: {self.quantity}"


class RecipePreset(models.Model):
    """A drink template: global (no owner, seeded) or the owner's own."""

    owner = models.ForeignKey(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=255)
    items = models.JSONField(_("ingredients"), default=list)  # [{"item_name", "quantity"}]
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recipe preset")
        verbose_name_plural = _("recipe presets")
        ordering = ["owner_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="recipepreset_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return self.name
