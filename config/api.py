"""The one DRF router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from inventory.api import InventoryChangeViewSet, InventoryViewSet, PresetViewSet, RecipeViewSet
from tasks_app.api import AssignmentViewSet, TaskViewSet
from tenancy.api import MembershipViewSet
from vendista.api.expenses import ExpenseViewSet
from vendista.api.import_runs import ImportRunViewSet
from vendista.api.terminals import TerminalViewSet
from vendista.api.transactions import TransactionViewSet

router = DefaultRouter()
router.register("members", MembershipViewSet, basename="member")

# --- Coffee points: terminals, stock, recipes, tasks (issue 6) ---
router.register("terminals", TerminalViewSet, basename="terminal")
router.register("inventory", InventoryViewSet, basename="inventory")
router.register("inventory-changes", InventoryChangeViewSet, basename="inventory-change")
router.register("recipes", RecipeViewSet, basename="recipe")
router.register("recipe-presets", PresetViewSet, basename="recipe-preset")
router.register("tasks", TaskViewSet, basename="task")
router.register("task-settings", AssignmentViewSet, basename="task-setting")

# --- Coffee points: transactions, expenses and import runs (issue 6, finance part) ---
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("expenses", ExpenseViewSet, basename="expense")
router.register("import-runs", ImportRunViewSet, basename="import-run")
