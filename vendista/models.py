"""Owners' Vendista connections, terminals, imported transactions and import runs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TokenStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    EXPIRED = "expired", _("Expired")
    INVALID_CREDS = "invalid_creds", _("Invalid credentials")


class PaymentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAYMENT_REQUIRED = "payment_required", _("Payment required")


class TaxSystem(models.TextChoices):
    NONE = "", _("Not set")
    # xgettext:no-python-format
    INCOME_6 = "income_6", _("Simplified, 6% of income")
    # xgettext:no-python-format
    INCOME_EXPENSE_15 = "income_expense_15", _("Simplified, 15% of income minus expenses")


class VendistaAccount(models.Model):
    """An owner's Vendista connection: encrypted credentials and token, and their health."""

    owner = models.OneToOneField(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="vendista", verbose_name=_("owner")
    )
    login_encrypted = models.TextField(_("login (encrypted)"), blank=True)
    password_encrypted = models.TextField(_("password (encrypted)"), blank=True)
    token_encrypted = models.TextField(_("token (encrypted)"), blank=True)
    token_status = models.CharField(
        _("token status"), max_length=16, choices=TokenStatus.choices, default=TokenStatus.VALID
    )
    payment_status = models.CharField(
        _("payment status"),
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.ACTIVE,
    )
    payment_required_at = models.DateTimeField(_("payment required since"), null=True, blank=True)
    setup_date = models.DateField(_("setup date"), null=True, blank=True)
    tax_system = models.CharField(
        _("tax system"), max_length=32, choices=TaxSystem.choices, blank=True, default=""
    )
    acquiring_percent = models.DecimalField(
        _("acquiring, %"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    imports_enabled = models.BooleanField(_("scheduled imports"), default=True)
    last_successful_import_at = models.DateTimeField(
        _("last successful import"), null=True, blank=True
    )
    last_terminal_sync_at = models.DateTimeField(_("last terminal sync"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Vendista connection")
        verbose_name_plural = _("Vendista connections")
        ordering = ["owner_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(token_status__in=TokenStatus.values), name="vendista_token_ok"
            ),
            models.CheckConstraint(
                condition=models.Q(payment_status__in=PaymentStatus.values),
                name="vendista_payment_ok",
            ),
        ]

    def __str__(self) -> str:
        return f"Vendista: {self.owner}"

    def is_importable(self) -> bool:
        """Whether workers may call Vendista for this owner."""
        return (
            self.imports_enabled
            and bool(self.token_encrypted or self.login_encrypted)
            and self.token_status != TokenStatus.INVALID_CREDS
            and self.payment_status == PaymentStatus.ACTIVE
        )


class Terminal(models.Model):
    """A coffee point: one Vendista terminal of an owner."""

    owner = models.ForeignKey(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="terminals",
        verbose_name=_("owner"),
    )
    vendista_id = models.BigIntegerField(_("Vendista id"))
    name = models.CharField(_("name"), max_length=255, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    last_online_time = models.DateTimeField(_("last online"), null=True, blank=True)
    is_online = models.BooleanField(_("online"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    sales_since_cleaning = models.IntegerField(_("sales since restock"), default=0)
    sales_since_last_service = models.IntegerField(_("sales since service"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        ordering = ["owner_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "vendista_id"], name="terminal_owner_vendista_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.vendista_id}"


class DeductionState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DEDUCTED = "deducted", _("Deducted")
    NEEDS_RECIPE = "needs_recipe", _("Needs a recipe")
    NO_ITEM = "no_item", _("Sale without a drink")
    HISTORICAL = "historical", _("Historical (not deducted)")
    NOT_A_SALE = "not_a_sale", _("Not a sale")
    UNKNOWN_TERMINAL = "unknown_terminal", _("Unknown terminal")


class Transaction(models.Model):
    """One Vendista payment event, keyed by Vendista's own 64-bit id."""

    id = models.BigIntegerField(_("Vendista id"), primary_key=True)
    # The busiest table: its references are kept by the pipeline and by Django's deletion
    # cascade, not re-checked by PostgreSQL for every imported row (a fifth of an import's time).
    owner = models.ForeignKey(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("owner"),
        db_constraint=False,
    )
    vendista_terminal_id = models.BigIntegerField(_("Vendista terminal id"), null=True)
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("terminal"),
        db_constraint=False,
    )
    machine_item_id = models.IntegerField(_("machine item"), null=True, blank=True)
    amount = models.BigIntegerField(_("amount, kopecks"), default=0)
    time = models.DateTimeField(_("time"))
    result = models.CharField(_("result"), max_length=16, default="0")
    reverse_id = models.BigIntegerField(_("reversal id"), default=0)
    status = models.CharField(_("status"), max_length=32, blank=True, default="0")
    terminal_comment = models.CharField(_("terminal name at sale"), max_length=255, blank=True)
    card_number = models.CharField(_("card"), max_length=32, blank=True)
    bonus = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    left_sum = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    left_bonus = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    deduction_state = models.CharField(
        _("deduction"),
        max_length=20,
        choices=DeductionState.choices,
        default=DeductionState.PENDING,
    )
    deducted_at = models.DateTimeField(_("deducted at"), null=True, blank=True)
    restored_at = models.DateTimeField(_("stock restored at"), null=True, blank=True)
    # What the deduction took, per machine stock row: [{"inventory_id": 7, "quantity": "8.000"}]
    # (the recipe as it was then). A refund puts back exactly this; NULL for sales deducted
    # before it was recorded (their refund goes by the current recipe).
    deducted_items = models.JSONField(_("deducted ingredients"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first imported"), auto_now_add=True)
    last_updated_at = models.DateTimeField(_("last imported"), auto_now=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-time"]
        indexes = [
            models.Index(fields=["owner", "time"], name="tx_owner_time"),
            models.Index(
                fields=["owner", "vendista_terminal_id", "machine_item_id"], name="tx_owner_item"
            ),
            models.Index(
                fields=["owner", "reverse_id"],
                name="tx_owner_reverse",
                condition=~models.Q(reverse_id=0),
            ),
            models.Index(
                fields=["owner", "vendista_terminal_id"],
                name="tx_owner_no_terminal",
                condition=models.Q(terminal__isnull=True),
            ),
            models.Index(
                fields=["owner", "deduction_state"],
                name="tx_owner_open_state",
                condition=models.Q(deduction_state__in=["needs_recipe", "unknown_terminal"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount / 100:.2f} ₽"

    @property
    def is_sale(self) -> bool:
        return self.result == "1" and self.reverse_id == 0


class ImportMode(models.TextChoices):
    REGULAR = "regular", _("Regular (deducts)")
    HISTORICAL = "historical", _("Historical (no deduction)")


class RunKind(models.TextChoices):
    IMPORT = "import", _("Transaction import")
    SYNC = "sync", _("Terminal sync")
    PAYMENT_CHECK = "payment_check", _("Payment check")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", pgettext_lazy("import run", "Cancelled")


ACTIVE_RUN_STATUSES = [RunStatus.QUEUED, RunStatus.RUNNING]


class ImportRun(models.Model):
    """One import / sync of one owner: who asked, what window, progress, counts and outcome."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=RunKind.choices)
    mode = models.CharField(
        _("mode"), max_length=16, choices=ImportMode.choices, default=ImportMode.REGULAR
    )
    trigger = models.CharField(_("trigger"), max_length=32)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    date_from = models.DateTimeField(_("from"), null=True, blank=True)
    date_to = models.DateTimeField(_("to"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    pages_done = models.IntegerField(_("pages done"), default=0)
    pages_total = models.IntegerField(_("pages"), null=True, blank=True)
    fetched = models.IntegerField(_("fetched"), default=0)
    inserted = models.IntegerField(_("inserted"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    deducted = models.IntegerField(_("deducted"), default=0)
    needs_recipe = models.IntegerField(_("need a recipe"), default=0)
    unknown_terminal = models.IntegerField(_("unknown terminal"), default=0)
    restored = models.IntegerField(_("refunds restored"), default=0)
    tasks_created = models.IntegerField(_("tasks created"), default=0)
    invalid = models.IntegerField(_("invalid rows"), default=0)
    attempts = models.IntegerField(_("attempts"), default=0)
    # Times it went back to the queue to wait for its token (no attempt: RunYielded).
    yields = models.IntegerField(_("yields"), default=0)
    # Raised by each attempt that claims the run; every write of an attempt checks it.
    lease_token = models.IntegerField(_("lease token"), default=0)
    next_page = models.IntegerField(_("next page"), default=1)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "kind", "-created_at"], name="importrun_recent"),
            # The few active runs among many finished ones: the stalled-run sweep and the
            # `vendista_runs_active` gauge read only these.
            models.Index(
                fields=["status"],
                condition=models.Q(status__in=["queued", "running"]),
                name="importrun_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Expense(models.Model):
    """Money an owner spent on the business (rent, ingredients, repairs), in rubles; it lowers
    the net profit of the period it falls in (and the base of the 15 % tax)."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="expenses", verbose_name=_("owner")
    )
    amount = models.DecimalField(_("amount, ₽"), max_digits=12, decimal_places=2)
    comment = models.TextField(_("comment"), blank=True)
    spent_at = models.DateTimeField(_("spent at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["-spent_at", "-id"]
        indexes = [models.Index(fields=["owner", "spent_at"], name="expense_owner_time")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="expense_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} ₽ {self.comment[:40]}".strip()
