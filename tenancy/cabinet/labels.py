"""Words for the codes the cabinet shows: audit actions, payment events, import triggers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CODES = {
    # audit actions
    "auth.locked_out": _("login locked out"),
    "auth.lockout_reset": _("login lockout lifted"),
    "kiosk.created": _("kiosk created"),
    "kiosk.token_rotated": _("kiosk token rotated"),
    "session.created": _("session started"),
    "session.completed": _("session completed"),
    "session.expired": _("session expired"),
    "report.requested": _("report requested"),
    "report.generated": _("report generated"),
    "report.delivered": _("report delivered"),
    "report.failed": _("report failed"),
    "report.resend": _("report sent again"),
    "payment.webhook_received": _("payment notification received"),
    "payment.late_success_refunded": _("late payment refunded"),
    "vendista.credentials_set": _("Vendista credentials set"),
    "vendista.payment_required": _("Vendista payment required"),
    "vendista.reactivated": _("Vendista connection reactivated"),
    "vendista.settings_changed": _("connection settings changed"),
    # payment provider events
    "payment.succeeded": _("payment succeeded"),
    "payment.canceled": _("payment cancelled"),
    "payment.waiting_for_capture": _("payment waiting for capture"),
    "refund.succeeded": _("refund succeeded"),
    # who started an import run
    "admin": _("from the admin"),
    "api": _("from the API"),
    "command": _("command line"),
    "credentials": _("new credentials"),
    "daily": _("daily schedule"),
    "weekly": _("weekly schedule"),
    "schedule": _("schedule"),
    "demo": _("demo data"),
}


def label(code: str) -> str:
    """The words for `code`, or the code itself when it has none."""
    return str(CODES.get(code, code))
