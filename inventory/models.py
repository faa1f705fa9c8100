"""Models of the inventory app (added by its capability issue)."""

from __future__ import annotations
