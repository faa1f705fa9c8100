"""Models of the payments app (added by its capability issue)."""

from __future__ import annotations
