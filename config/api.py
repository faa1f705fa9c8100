"""The one DRF router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from inventory.api import InventoryChangeViewSet, InventoryViewSet, PresetViewSet, RecipeViewSet
from tasks_app.api import AssignmentViewSet, TaskViewSet
from tenancy.api import MembershipViewSet
from vendista.api.terminals import TerminalViewSet

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
