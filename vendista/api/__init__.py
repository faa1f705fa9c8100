"""Vendista's part of the staff API: one module per resource (routed in vendista/urls.py)."""
