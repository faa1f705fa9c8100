"""Planning: forecasts, pick lists, stock audits and the owner's settings. Other apps call what
this package re-exports."""

from __future__ import annotations

from planning.services.audits import record_audit, shrinkage, suggest_recipe_corrections
from planning.services.forecast import (
    ContainerForecast,
    forecast_containers,
    project,
    refresh_forecasts,
    weekday_use,
)
from planning.services.picklists import (
    PlanningError,
    bring_for_terminal,
    create_pick_list,
    prefill_after_restock,
    quantity_to_bring,
)
from planning.services.settings import settings_of

__all__ = [
    "ContainerForecast",
    "PlanningError",
    "bring_for_terminal",
    "create_pick_list",
    "forecast_containers",
    "prefill_after_restock",
    "project",
    "quantity_to_bring",
    "record_audit",
    "refresh_forecasts",
    "settings_of",
    "shrinkage",
    "suggest_recipe_corrections",
    "weekday_use",
]
