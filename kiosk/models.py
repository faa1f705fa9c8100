"""Models of the kiosk app (added by its capability issue)."""

from __future__ import annotations
