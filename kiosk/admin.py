"""Admin registrations of the kiosk app."""

from __future__ import annotations
