"""Admin registrations of the payments app."""

from __future__ import annotations
