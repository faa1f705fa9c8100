"""The owner's planning settings."""

from __future__ import annotations

from planning.models import PlanningSettings


def settings_of(owner_id: int) -> PlanningSettings:
    """The owner's settings, unsaved defaults until changed. Reads only."""
    found = PlanningSettings.objects.filter(owner_id=owner_id).first()
    return found or PlanningSettings(owner_id=owner_id)
