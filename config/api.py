"""The one DRF router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from tenancy.api import MembershipViewSet

router = DefaultRouter()
router.register("members", MembershipViewSet, basename="member")

# --- Vendista: transactions, expenses and import runs (issue 6, finance part) ---
from vendista.api.expenses import ExpenseViewSet  # noqa: E402
from vendista.api.import_runs import ImportRunViewSet  # noqa: E402
from vendista.api.transactions import TransactionViewSet  # noqa: E402

router.register("transactions", TransactionViewSet, basename="transaction")
router.register("expenses", ExpenseViewSet, basename="expense")
router.register("import-runs", ImportRunViewSet, basename="import-run")
