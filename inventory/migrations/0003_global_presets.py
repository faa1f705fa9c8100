"""Seed the 21 global recipe presets from the reference data (re-running changes nothing)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def load_presets(apps: Any, schema_editor: Any) -> None:
    from inventory.reference import recipe_presets

    preset_model = apps.get_model("inventory", "RecipePreset")
    for preset in recipe_presets():
        preset_model.objects.update_or_create(
            owner=None, name=preset["name"], defaults={"items": preset["items"]}
        )


def remove_presets(apps: Any, schema_editor: Any) -> None:
    apps.get_model("inventory", "RecipePreset").objects.filter(owner=None).delete()


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_initial")]
    operations = [migrations.RunPython(load_presets, remove_presets)]
