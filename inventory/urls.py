"""Stock per place, its change log, recipes and recipe presets."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from inventory.api import InventoryChangeViewSet, InventoryViewSet, PresetViewSet, RecipeViewSet

router = SimpleRouter()
router.register("inventory", InventoryViewSet, basename="inventory")
router.register("inventory-changes", InventoryChangeViewSet, basename="inventory-change")
router.register("recipes", RecipeViewSet, basename="recipe")
router.register("recipe-presets", PresetViewSet, basename="recipe-preset")

urlpatterns = [path("api/", include(router.urls))]
