"""Admin registrations of the vendista app."""

from __future__ import annotations
