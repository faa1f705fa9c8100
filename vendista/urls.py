"""Coffee points: terminals, transactions, finance, expenses, import runs and the owner's
Vendista connection; the staff-only payment-status reset."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from vendista.api.connection import ConnectionView, CredentialsView, ImportNowView
from vendista.api.expenses import ExpenseViewSet
from vendista.api.finance import DrinkStatsView, FinanceSummaryView, TerminalStatsView
from vendista.api.import_runs import ImportRunViewSet
from vendista.api.payment_status import ResetPaymentStatusView
from vendista.api.terminals import TerminalViewSet
from vendista.api.transactions import TransactionViewSet

router = SimpleRouter()
router.register("terminals", TerminalViewSet, basename="terminal")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("expenses", ExpenseViewSet, basename="expense")
router.register("import-runs", ImportRunViewSet, basename="import-run")

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/finance/summary/", FinanceSummaryView.as_view(), name="finance-summary"),
    path("api/finance/terminals/", TerminalStatsView.as_view(), name="finance-terminals"),
    path("api/finance/drinks/", DrinkStatsView.as_view(), name="finance-drinks"),
    path("api/vendista/connection/", ConnectionView.as_view(), name="vendista-connection"),
    path(
        "api/vendista/connection/credentials/",
        CredentialsView.as_view(),
        name="vendista-credentials",
    ),
    path(
        "api/vendista/connection/import-now/", ImportNowView.as_view(), name="vendista-import-now"
    ),
    path(
        "api/auth/reset-payment-status",
        ResetPaymentStatusView.as_view(),
        name="reset-payment-status",
    ),
]
