"""Models of the vendista app (added by its capability issue)."""

from __future__ import annotations
