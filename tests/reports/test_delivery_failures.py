"""Report delivery when providers fail, end to end: the kiosk API, a real Celery worker over the
real Redis, the real SMTP channel against a local SMTP server and the real SMSC channel against
a local SMSC sandbox. Transient failures retry with back-off; permanent ones fail once and show the
stage; the admin "resend" sends a failed delivery again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from kiosk.models import Session
from notifications.models import Delivery
from reports.models import Report
from reports.services import report_deliveries
from sandboxes.smsc import SmscSandbox
from sandboxes.smtp import RecordingSmtpHandler
from tests.helpers.idle import wait_until_idle
from tests.helpers.kiosk import THICKNESS, KioskClient, make_kiosk, paid_session, wait_for
from tests.helpers.smsc import smsc_sandbox
from tests.helpers.smtp import local_smtp_server

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMAIL = "ivan.petrov@mail.ru"
PHONE = "+79161234567"
# First retry delay in these tests (production: 15 s); each next one doubles.
BASE = 0.4


@dataclass
class Providers:
    smtp: RecordingSmtpHandler
    smsc: SmscSandbox


@pytest.fixture
def providers(settings, tmp_path) -> Iterator[Providers]:
    """The real e-mail (SMTP) and SMS (SMSC) channels, pointed at local stand-ins."""
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_PROVIDER = "smtp"
    settings.SMS_PROVIDER = "smsc"
    settings.REPORTS_RETRY_BASE_SECONDS = BASE
    settings.REPORTS_MAX_DELIVERY_ATTEMPTS = 6
    with local_smtp_server() as smtp, smsc_sandbox() as smsc:
        yield Providers(smtp=smtp, smsc=smsc)


def _request_report(k: KioskClient, session: Session) -> Report:
    response = k.client.post(
        "/api/reports/thickness", {"session_id": str(session.pk), **THICKNESS}, format="json"
    )
    assert response.status_code == 202, response.content
    return Report.objects.get(pk=response.json()["id"])


def _delivery(report: Report, channel: str) -> Delivery:
    return report_deliveries(report.pk).get(channel=channel)


def _status(report: Report, channel: str) -> str | None:
    """The delivery's state; None until the generated report recorded it."""
    row = report_deliveries(report.pk).filter(channel=channel).first()
    return row.status if row else None


def test_transient_failures_retry_with_backoff_then_deliver(
    celery_worker, redis_client, providers
) -> None:
    smtp, smsc = providers.smtp, providers.smsc
    smtp.refuse[EMAIL] = "451 4.7.1 Greylisted, try again later"
    smsc.http_status = 503
    k = make_kiosk()
    report = _request_report(k, paid_session(k, email=EMAIL, phone=PHONE))

    # Three failed attempts per channel: recorded on the deliveries, the report still waits.
    wait_for(lambda: len(smsc.calls) >= 3 and len(smtp.rcpt_attempts) >= 3, timeout=30)
    email, sms = _delivery(report, "email"), _delivery(report, "sms")
    assert email.status in ("failed", "sending") and sms.status in ("failed", "sending")
    assert email.attempts >= 3 and sms.attempts >= 3
    assert "SMTP recipient refused ([451])" in email.last_error
    assert sms.last_error == "SMSC HTTP 503"
    report.refresh_from_db()
    assert (report.status, report.failed_stage) == ("generated", "")

    # The providers recover: the next retry delivers on both channels.
    del smtp.refuse[EMAIL]
    smsc.http_status = 200
    wait_for(lambda: Report.objects.get(pk=report.pk).status == "delivered", timeout=30)

    email, sms = _delivery(report, "email"), _delivery(report, "sms")
    assert (email.status, sms.status) == ("sent", "sent")
    # One attempt per request the providers saw; exactly one message went out on each.
    assert email.attempts == len(smtp.rcpt_attempts) >= 4
    assert sms.attempts == len(smsc.calls) >= 4
    assert [rcpt for rcpt, _raw in smtp.received] == [[EMAIL]]
    mail = message_from_bytes(smtp.received[0][1], policy=policy.default)
    assert [part.get_filename() for part in mail.iter_attachments()] == ["otchet-thickness.pdf"]
    [sent] = smsc.sent()
    assert sent["phones"] == [PHONE.removeprefix("+")]
    assert sms.provider_id and email.provider_id
    # Back-off: the first retry waits the base delay, each next one twice as long.
    for attempts in ([at for _addr, at in smtp.rcpt_attempts], [at for at, *_ in smsc.calls]):
        gaps = [later - earlier for earlier, later in pairwise(attempts)]
        assert gaps[0] >= BASE * 0.9, gaps
        assert gaps[1] >= 2 * BASE * 0.9, gaps
        assert gaps[2] >= 4 * BASE * 0.9, gaps


@pytest.mark.parametrize(
    ("channel", "expected_error"),
    [
        ("email", "SMTP recipient refused ([550])"),
        ("sms", "SMSC error 7: invalid phone number format"),
    ],
)
def test_permanent_failure_fails_on_first_attempt_without_retry(
    celery_worker, redis_client, providers, channel: str, expected_error: str
) -> None:
    smtp, smsc = providers.smtp, providers.smsc
    if channel == "email":
        smtp.refuse[EMAIL] = "550 5.1.1 Mailbox unavailable"
    else:
        smsc.error_code = 7
    other = "sms" if channel == "email" else "email"
    k = make_kiosk()
    report = _request_report(k, paid_session(k, email=EMAIL, phone=PHONE))

    wait_for(
        lambda: (
            _status(report, channel) == "permanently_failed" and _status(report, other) == "sent"
        )
    )

    failed = _delivery(report, channel)
    assert failed.attempts == 1
    assert expected_error in failed.last_error
    report.refresh_from_db()
    assert (report.status, report.failed_stage) == ("failed", channel)
    assert expected_error in report.error
    entry = AuditEntry.objects.get(action="report.failed", object_id=str(report.pk))
    assert entry.summary["stage"] == channel
    assert entry.summary["permanent"] is True
    # Nothing left to run, no retry waiting for its countdown: still the one request.
    wait_until_idle(celery_worker)
    assert (len(smtp.rcpt_attempts) if channel == "email" else len(smsc.calls)) == 1
    assert _delivery(report, channel).attempts == 1


def test_admin_resend_sends_a_failed_delivery_again_once_fixed_and_is_audited(
    celery_worker, redis_client, providers, client
) -> None:
    smtp, smsc = providers.smtp, providers.smsc
    smsc.error_code = 8  # cannot be delivered to this number (e.g. the phone was off the network)
    k = make_kiosk()
    report = _request_report(k, paid_session(k, email=EMAIL, phone=PHONE))
    wait_for(
        lambda: (
            _status(report, "sms") == "permanently_failed" and _status(report, "email") == "sent"
        )
    )
    assert Report.objects.get(pk=report.pk).failed_stage == "sms"

    smsc.error_code = None  # the cause is fixed
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/reports/report/",
        {"action": "resend", "_selected_action": [str(report.pk)]},
        follow=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    assert "Queued again: 1" in [str(m) for m in response.context["messages"]]

    wait_for(lambda: Report.objects.get(pk=report.pk).status == "delivered", timeout=30)
    sms = _delivery(report, "sms")
    assert (sms.status, sms.attempts, sms.last_error) == ("sent", 2, "")
    assert len(smsc.sent()) == 1
    # Only the failed delivery was sent again: the e-mail went out once.
    assert len(smtp.received) == 1
    report.refresh_from_db()
    assert (report.failed_stage, report.error) == ("", "")
    resend = AuditEntry.objects.get(action="report.resend", object_id=str(report.pk))
    assert resend.actor_user == admin
    delivered = AuditEntry.objects.filter(action="report.delivered", object_id=str(report.pk))
    assert sorted(e.summary["channel"] for e in delivered) == ["email", "sms"]
    assert all(e.created_at > resend.created_at for e in delivered if e.summary["channel"] == "sms")


def test_a_provider_without_its_settings_fails_the_delivery_visibly(
    celery_worker, redis_client, providers, settings
) -> None:
    settings.SMTP_HOST = ""  # EMAIL_PROVIDER=smtp with no server: a configuration error
    k = make_kiosk()
    report = _request_report(k, paid_session(k, email=EMAIL, phone=PHONE))

    wait_for(
        lambda: (
            _status(report, "email") == "permanently_failed" and _status(report, "sms") == "sent"
        )
    )

    failed = _delivery(report, "email")
    assert failed.attempts == 1
    assert "configuration" in failed.last_error and "SMTP_HOST" in failed.last_error
    report.refresh_from_db()
    assert (report.status, report.failed_stage) == ("failed", "email")
