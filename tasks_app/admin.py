"""Admin registrations of the tasks_app app."""

from __future__ import annotations
