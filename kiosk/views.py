"""The kiosk's touch screen: one page at `/kiosk/` whose script talks to the public kiosk API with
the kiosk's own token (kept in the browser's localStorage, never in the page).

The page itself holds no secret and needs no login: what it can do depends on the token the
kiosk was provisioned with (`/kiosk/#token=<token>` once, or the setup form the page shows).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Everything the page loads comes from this server; the QR code is a blob: URL, the script and
# styles are static files (no inline script runs; the JSON blocks are data).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Texts the script shows in changing situations; `{name}` placeholders are filled in there.
UI_STRINGS: dict[str, Any] = {
    "network_lost": _("No connection. Retrying…"),
    "network_back": _("Connection restored."),
    "loading": _("Loading…"),
    "support": _("Help: {contact}"),
    "pay_title": _("Pay {amount} by QR code"),
    "time_left": _("Time left to pay: {time}"),
    "waiting_payment": _("Waiting for the payment…"),
    "preparing_qr": _("Preparing the QR code…"),
    "qr_alt": _("QR code to pay {amount}"),
    "payment_received": _("Payment received."),
    "canceling": _("Cancelling the payment…"),
    "payment_canceled_title": _("Payment cancelled"),
    "payment_canceled_text": _("No money was charged. You can start again at any time."),
    "payment_expired_title": _("Time to pay is over"),
    "payment_expired_text": _(
        "The payment did not arrive in time and no money was charged. Please start again."
    ),
    "payment_failed_title": _("The payment did not go through"),
    "payment_failed_text": _(
        "No money was charged. Please try again or ask a member of staff for help."
    ),
    "session_expired": _("The session has ended after a long wait. Please start again."),
    "service_title_diagnostics": _("Diagnostics in progress"),
    "service_title_thickness": _("Paint thickness check in progress"),
    "service_text_diagnostics": _(
        "Plug the scanner into the car's OBD-II socket (usually under the steering wheel) and "
        "switch the ignition on. The results will appear here by themselves."
    ),
    "service_text_thickness": _(
        "Touch each body panel with the thickness gauge, as its screen shows. The results will "
        "appear here by themselves."
    ),
    "scan_waiting": _("Waiting for the scanner's results…"),
    "report_generating": _("Preparing the report…"),
    "report_sending": _("Sending the report…"),
    "done_title": _("Done! The report has been sent"),
    "done_pending_title": _("The report is on its way"),
    "done_failed_title": _("The report will arrive a little later"),
    "done_failed_text": _(
        "We could not send it right now. Our staff have already been notified and will send it "
        "again — you do not need to do anything."
    ),
    "email_sent": _("PDF report sent to {email}"),
    "email_pending": _("PDF report is being sent to {email}"),
    "email_later": _("PDF report will come to {email} a little later"),
    "sms_sent": _("Link to the report sent by SMS to {phone}"),
    "sms_pending": _("Link to the report is being sent by SMS to {phone}"),
    "sms_later": _("Link to the report will come by SMS to {phone} a little later"),
    "return_in": _("Back to the start screen in {seconds} s"),
    "idle_text": _("The screen will go back to the start in {seconds} s."),
    "contact_missing": _("Enter an e-mail or a phone number."),
    "email_invalid": _("Check the e-mail: it should look like name@example.ru."),
    "phone_invalid": _("Check the phone number, for example +7 916 123-45-67."),
    "token_rejected": _("The kiosk token was not accepted. Check it and try again."),
    "error_generic": _("Something went wrong. Please try again."),
}


def _sample_diagnostics() -> dict[str, Any]:
    return {
        "vehicle_make": "Toyota",
        "vehicle_model": "Camry",
        "vin": "JTNB11HK103456789",
        "dtc_codes": [
            {
                "code": "P0420",
                "description": "Эффективность катализатора ниже порога",
                "severity": "medium",
            },
            {
                "code": "P0301",
                "description": "Пропуски зажигания в цилиндре 1",
                "severity": "high",
            },
            {
                "code": "B1342",
                "description": "Неисправность блока подушек безопасности",
                "severity": "low",
            },
        ],
        "scan_duration_ms": 42000,
    }


def _sample_thickness() -> dict[str, Any]:
    readings = [
        ("hood", 118),
        ("roof", 124),
        ("trunk", 131),
        ("front_left_fender", 122),
        ("front_right_fender", 245),
        ("front_left_door", 119),
        ("front_right_door", 238),
        ("rear_left_door", 127),
        ("rear_right_door", 121),
        ("rear_left_fender", 340),
        ("rear_right_fender", 126),
    ]
    return {
        "vehicle_make": "Lada",
        "vehicle_model": "Vesta",
        "readings": [{"panel": panel, "thickness_um": um} for panel, um in readings],
    }


def dev_samples() -> dict[str, Any] | None:
    """What the DEV "simulate scan" button posts in place of the kiosk agent; none in PROD."""
    if settings.IS_PROD:
        return None
    return {"diagnostics": _sample_diagnostics(), "thickness": _sample_thickness()}


def _language(request: HttpRequest) -> str:
    # The screen speaks Russian whatever the kiosk browser's own locale says; `?lang=en` is
    # there for developers and for a kiosk set up for foreign clients.
    wanted = request.GET.get("lang", "")
    return wanted if wanted in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@require_GET
@never_cache
def kiosk_screen(request: HttpRequest) -> HttpResponse:
    """The kiosk's single-page touch screen (start → contacts → payment → service → done)."""
    with translation.override(_language(request)):
        strings = {key: str(value) for key, value in UI_STRINGS.items()}
        response = render(
            request,
            "kiosk/screen.html",
            {"strings": strings, "dev_samples": dev_samples()},
        )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
