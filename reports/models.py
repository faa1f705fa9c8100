"""Models of the reports app (added by its capability issue)."""

from __future__ import annotations
