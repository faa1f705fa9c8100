"""Models of the notifications app (added by its capability issue)."""

from __future__ import annotations
