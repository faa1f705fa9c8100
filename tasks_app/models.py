"""Models of the tasks_app app (added by its capability issue)."""

from __future__ import annotations
