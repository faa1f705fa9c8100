"""Vendista's part of the staff API: one module per resource."""

from __future__ import annotations

from vendista.api.payment_status import ResetPaymentStatusView

__all__ = ["ResetPaymentStatusView"]
