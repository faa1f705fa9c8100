"""Vendista connections (with the import actions), terminals, transactions, import runs and
expenses in the cabinet, owner-scoped. Imported data is read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tenancy.cabinet import scope
from tenancy.cabinet.labels import label
from tenancy.cabinet.options import CabinetModelAdmin
from vendista.admin.pages import FinanceExportMixin, TerminalPageMixin
from vendista.models import (
    Expense,
    ImportMode,
    ImportRun,
    RunKind,
    Terminal,
    Transaction,
    VendistaAccount,
)
from vendista.services import accounts, recovery
from vendista.services.runs import enqueue


class VendistaAccountForm(forms.ModelForm):
    """Credentials are typed in plain and stored encrypted; they are never shown again."""

    vendista_login = forms.CharField(label=_("Vendista login"), required=False)
    vendista_password = forms.CharField(
        label=_("Vendista password"), required=False, widget=forms.PasswordInput
    )

    class Meta:
        model = VendistaAccount
        fields = [
            "owner",
            "setup_date",
            "tax_system",
            "acquiring_percent",
            "imports_enabled",
        ]

    def save(self, commit: bool = True) -> VendistaAccount:
        account: VendistaAccount = super().save(commit=False)
        login = self.cleaned_data.get("vendista_login")
        password = self.cleaned_data.get("vendista_password")
        if login and password:
            account.save()
            accounts.set_credentials(account, login, password)
        elif commit:
            account.save()
        return account


@admin.register(VendistaAccount)
class VendistaAccountAdmin(CabinetModelAdmin):
    form = VendistaAccountForm
    owner_field = "owner"
    view_roles = scope.OWNER_ONLY
    write_roles = scope.OWNER_ONLY
    add_roles = ()
    action_roles = {"import_now": scope.OWNER_ONLY, "sync_now": scope.OWNER_ONLY}
    list_display = [
        "owner",
        "has_credentials",
        "token_status",
        "payment_status",
        "payment_required_at",
        "last_successful_import_at",
        "last_terminal_sync_at",
        "setup_date",
        "tax_system",
        "acquiring_percent",
        "imports_enabled",
    ]
    list_filter = ["payment_status", "token_status", "imports_enabled", "tax_system"]
    search_fields = ["owner__name"]
    readonly_fields = [
        "token_status",
        "payment_status",
        "payment_required_at",
        "last_successful_import_at",
        "last_terminal_sync_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["owner"]
    actions = ["import_now", "import_history", "sync_now", "reset_payment_status"]

    @admin.display(description=_("credentials"), boolean=True)
    def has_credentials(self, obj: VendistaAccount) -> bool:
        return bool(obj.login_encrypted and obj.password_encrypted)

    @admin.action(description=_("Import now (last 24 hours)"))
    def import_now(self, request: HttpRequest, queryset: QuerySet[VendistaAccount]) -> None:
        self._enqueue(request, queryset, window_kind="last_24h", mode=ImportMode.REGULAR)

    @admin.action(description=_("Historical import from the setup date (no deduction)"))
    def import_history(self, request: HttpRequest, queryset: QuerySet[VendistaAccount]) -> None:
        self._enqueue(request, queryset, window_kind="history", mode=ImportMode.HISTORICAL)

    @admin.action(description=_("Sync terminals now"))
    def sync_now(self, request: HttpRequest, queryset: QuerySet[VendistaAccount]) -> None:
        self._enqueue(request, queryset, kind=RunKind.SYNC)

    @admin.action(description=_("Reset payment status to active"))
    def reset_payment_status(
        self, request: HttpRequest, queryset: QuerySet[VendistaAccount]
    ) -> None:
        changed = sum(
            accounts.reactivate(
                account.owner_id, actor=request.user, request=request, reason="staff"
            )
            for account in queryset
        )
        self.message_user(request, _("Payment status reset for %d owner(s).") % changed)

    def _enqueue(
        self, request: HttpRequest, queryset: QuerySet[VendistaAccount], **options: Any
    ) -> None:
        queued = 0
        for account in queryset:
            if enqueue(
                account.owner_id,
                trigger="admin",
                requested_by=request.user,
                skip_if_active=False,
                **options,
            ):
                queued += 1
        level = messages.SUCCESS if queued else messages.WARNING
        self.message_user(
            request,
            _("%(queued)d run(s) queued, %(skipped)d already covered by a running one.")
            % {"queued": queued, "skipped": len(queryset) - queued},
            level,
        )


@admin.register(Terminal)
class TerminalAdmin(TerminalPageMixin, CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES
    add_roles = ()
    list_display = [
        "name",
        "owner",
        "vendista_id",
        "is_online",
        "is_active",
        "last_online_time",
        "sales_since_cleaning",
        "last_synced_at",
    ]
    list_filter = ["is_active", "is_online", "owner"]
    search_fields = ["name", "serial_number", "=vendista_id"]
    readonly_fields = [
        "owner",
        "vendista_id",
        "serial_number",
        "last_online_time",
        "is_online",
        "is_active",
        "last_synced_at",
        "sales_since_last_service",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["owner"]


@admin.register(Transaction)
class TransactionAdmin(FinanceExportMixin, CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    export_columns = [
        (_("Vendista id"), "id"),
        (_("time"), "time"),
        (_("terminal"), "terminal"),
        (_("machine item"), "machine_item_id"),
        (_("amount, ₽"), lambda row: Decimal(row.amount) / 100),
        (_("sale"), lambda row: row.is_sale),
        (_("reversal id"), "reverse_id"),
        (_("deduction"), "deduction_state"),
    ]
    list_display = [
        "id",
        "time",
        "owner",
        "terminal",
        "machine_item_id",
        "amount_rub",
        "sale",
        "result",
        "reverse_id",
        "deduction_state",
    ]
    list_filter = ["deduction_state", "result", "terminal", "owner"]
    search_fields = ["=id", "=reverse_id", "=vendista_terminal_id", "terminal_comment"]
    date_hierarchy = "time"
    list_select_related = ["owner", "terminal"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Transaction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("amount, ₽"), ordering="amount")
    def amount_rub(self, obj: Transaction) -> str:
        return f"{obj.amount / 100:.2f}"

    @admin.display(description=_("sale"), boolean=True)
    def sale(self, obj: Transaction) -> bool:
        return obj.is_sale


@admin.register(ImportRun)
class ImportRunAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    list_display = [
        "id",
        "created_at",
        "owner",
        "kind",
        "mode",
        "trigger_words",
        "status",
        "pages_done",
        "fetched",
        "inserted",
        "deducted",
        "needs_recipe",
        "tasks_created",
        "duration",
    ]
    list_filter = ["status", "kind", "mode", "trigger", "owner"]
    search_fields = ["=id", "owner__name", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    actions = ["cancel_runs"]

    @admin.action(description=_("Cancel the selected queued or running runs"))
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[ImportRun]) -> None:
        cancelled = sum(recovery.cancel_run(run.pk, by=request.user) for run in queryset)
        self.message_user(request, _("%d run(s) cancelled.") % cancelled)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ImportRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("trigger"), ordering="trigger")
    def trigger_words(self, obj: ImportRun) -> str:
        return label(obj.trigger)

    @admin.display(description=_("duration, s"))
    def duration(self, obj: ImportRun) -> str:
        return f"{obj.duration_s:.1f}" if obj.duration_s is not None else "—"


@admin.register(Expense)
class ExpenseAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    write_roles = scope.STAFF_ROLES
    delete_roles = scope.STAFF_ROLES
    list_display = ["spent_at", "owner", "amount", "comment", "created_by", "created_at"]
    list_filter = ["owner"]
    search_fields = ["comment", "owner__name"]
    date_hierarchy = "spent_at"
    list_select_related = ["owner", "created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    autocomplete_fields = ["owner"]

    def save_model(self, request: HttpRequest, obj: Expense, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
