"""Reports: create, render (Django template → WeasyPrint PDF), store, deliver, sign links.

Pipeline, each stage a Celery task on the `reports` queue (reports.tasks), each recorded on the
`Report` / `ReportDelivery` rows and in the audit log: generate → e-mail (PDF attached) and SMS
(signed link). A permanent `DeliveryError` is recorded without retry; a transient one retries.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.services import SYSTEM, Actor, record
from core.jobs import enqueue, enqueue_on_commit
from kiosk import metrics as kiosk_metrics
from kiosk.models import Kiosk, Session, SessionStatus
from notifications.channels import Attachment, DeliveryError, OutgoingMessage, get_channel
from payments import services as payments
from reports import metrics
from reports.models import (
    DeliveryChannel,
    DeliveryStatus,
    Report,
    ReportDelivery,
    ReportKind,
    ReportStatus,
)

log = logging.getLogger(__name__)

GENERATE_TASK = "reports.tasks.generate_report"

STATIC_DIR = Path(__file__).resolve().parent / "static" / "reports"
LINK_SALT = "reports.download"
SEVERITY_LABELS = {"low": "низкая", "medium": "средняя", "high": "высокая"}
VERDICT_LABELS = {
    "original": "заводское покрытие",
    "repainted": "перекрашено",
    "putty": "шпаклёвка",
}
PANEL_LABELS = {
    "hood": "Капот",
    "roof": "Крыша",
    "trunk": "Крышка багажника",
    "front_bumper": "Передний бампер",
    "rear_bumper": "Задний бампер",
    "front_left_fender": "Переднее левое крыло",
    "front_right_fender": "Переднее правое крыло",
    "rear_left_fender": "Заднее левое крыло",
    "rear_right_fender": "Заднее правое крыло",
    "front_left_door": "Передняя левая дверь",
    "front_right_door": "Передняя правая дверь",
    "rear_left_door": "Задняя левая дверь",
    "rear_right_door": "Задняя правая дверь",
}


class ReportConflict(Exception):
    """The session cannot get a report (not paid, not the right kind, finished long ago)."""


# --- Create ------------------------------------------------------------------------------------


def create_report(
    *, kiosk: Kiosk, kind: str, session_id: Any, data: dict[str, Any], actor: Actor = SYSTEM
) -> Report:
    """Record the service's results and queue the PDF pipeline (after commit)."""
    session = Session.objects.filter(pk=session_id, kiosk=kiosk).first()
    if session is None:
        raise Session.DoesNotExist
    if session.type != kind:
        raise ReportConflict(f"session is a {session.type} session, not {kind}")
    if session.status == SessionStatus.EXPIRED:
        raise ReportConflict("session expired")
    # The service's price, paid (held or captured): not just any payment of the session.
    if payments.paid_intent(session.pk, payments.price_for(kiosk, session.type)) is None:
        raise ReportConflict("session is not paid")
    with transaction.atomic():
        report = Report.objects.create(session=session, kind=kind, data=data)
        if session.contact_email:
            ReportDelivery.objects.create(
                report=report, channel=DeliveryChannel.EMAIL, recipient=session.contact_email
            )
        if session.contact_phone:
            ReportDelivery.objects.create(
                report=report, channel=DeliveryChannel.SMS, recipient=session.contact_phone
            )
        actor.audit(
            "report.requested",
            owner_id=kiosk.owner_id,
            obj=report,
            summary={"kind": kind, "session": str(session.pk)},
        )
        enqueue_on_commit(GENERATE_TASK, report_id=str(report.pk))
    if kind == ReportKind.DIAGNOSTICS:
        _count_scan(session, data)
    return report


def _count_scan(session: Session, data: dict[str, Any]) -> None:
    kiosk_metrics.DIAGNOSTICS_SCANS.inc()
    for dtc in data.get("dtc_codes", []):
        kiosk_metrics.DIAGNOSTICS_DTC_FOUND.labels(severity=dtc.get("severity", "low")).inc()
    duration_ms = data.get("scan_duration_ms")
    seconds = (
        duration_ms / 1000 if duration_ms else (timezone.now() - session.created_at).total_seconds()
    )
    kiosk_metrics.DIAGNOSTICS_DURATION.observe(seconds)


# --- Links -------------------------------------------------------------------------------------


def download_token(report: Report) -> str:
    return signing.dumps({"r": str(report.pk)}, salt=LINK_SALT, compress=True)


def download_url(report: Report) -> str:
    """Absolute, signed link to the PDF; expires after `REPORTS_LINK_TTL_S`."""
    path = reverse("report-download", kwargs={"token": download_token(report)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def report_for_token(token: str) -> Report | None:
    """The report a link names, or None if the link is forged or expired."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=settings.REPORTS_LINK_TTL_S)
    except signing.BadSignature:
        return None
    return Report.objects.filter(pk=payload.get("r")).exclude(file="").first()


def link_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.REPORTS_LINK_TTL_S)


# --- Render ------------------------------------------------------------------------------------


def _verdict(thickness_um: float) -> str:
    if thickness_um >= settings.REPORTS_THICKNESS_PUTTY_UM:
        return "putty"
    if thickness_um >= settings.REPORTS_THICKNESS_REPAINTED_UM:
        return "repainted"
    return "original"


def _qr_data_uri(url: str) -> str:
    import segno

    svg = segno.make(url, error="m").svg_inline(scale=4, border=1)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def render_context(report: Report) -> dict[str, Any]:
    session = report.session
    kiosk = session.kiosk
    data = report.data
    vehicle = " ".join(
        str(part) for part in (data.get("vehicle_make"), data.get("vehicle_model")) if part
    )
    context: dict[str, Any] = {
        "brand": {
            "name": kiosk.display_brand,
            "kiosk": kiosk.name,
            "address": kiosk.brand_address,
            "support": kiosk.brand_support,
            "color": kiosk.brand_color,
        },
        "report_id": str(report.pk),
        "session_id": str(session.pk),
        "timestamp": timezone.localtime(_parse_time(data.get("timestamp")) or report.created_at),
        "vehicle": vehicle or "не указан",
        "vin": data.get("vin", ""),
        "qr_data_uri": _qr_data_uri(download_url(report)),
        "link_expires": timezone.localtime(link_expiry()),
    }
    if report.kind == ReportKind.DIAGNOSTICS:
        context["dtc_codes"] = [
            {**dtc, "severity_label": SEVERITY_LABELS.get(dtc.get("severity", ""), "")}
            for dtc in data.get("dtc_codes", [])
        ]
    else:
        readings = []
        for reading in data.get("readings", []):
            verdict = _verdict(float(reading["thickness_um"]))
            panel = str(reading["panel"])
            readings.append(
                {
                    "panel_label": PANEL_LABELS.get(panel, panel),
                    "thickness_um": f"{float(reading['thickness_um']):g}",
                    "verdict": verdict,
                    "verdict_label": VERDICT_LABELS[verdict],
                }
            )
        context["readings"] = readings
        context["repainted_um"] = settings.REPORTS_THICKNESS_REPAINTED_UM
        context["putty_um"] = settings.REPORTS_THICKNESS_PUTTY_UM
    return context


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _local_fetcher() -> Any:
    """A WeasyPrint fetcher that reads our own font files and inline data, nothing else."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file://"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if not path.is_relative_to(STATIC_DIR):
                    raise ValueError(f"report may not read {url}")
            elif not url.startswith("data:"):
                raise ValueError(f"report may not fetch {url}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (A4, DejaVu embedded). Imports WeasyPrint here: it loads Pango."""
    from weasyprint import HTML

    html = render_to_string(f"reports/{report.kind}.html", render_context(report))
    pdf: bytes = HTML(
        string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=_local_fetcher()
    ).write_pdf()
    return pdf


# --- Pipeline stages ---------------------------------------------------------------------------


def generate(report_id: Any) -> bool:
    """Render and store the PDF, then queue its deliveries. Safe to re-run (a stored PDF is
    kept). Returns False when there was nothing to do."""
    report = Report.objects.select_related("session__kiosk__owner").get(pk=report_id)
    if report.file:
        _queue_deliveries(report)
        return False
    Report.objects.filter(pk=report.pk).update(generation_attempts=F("generation_attempts") + 1)
    pdf = render_pdf(report)
    with transaction.atomic():
        report.file.save(f"{report.kind}-{report.pk}.pdf", ContentFile(pdf), save=False)
        report.status = ReportStatus.GENERATED
        report.generated_at = timezone.now()
        report.failed_stage = ""
        report.error = ""
        report.save(
            update_fields=["file", "status", "generated_at", "failed_stage", "error", "updated_at"]
        )
        record(
            "report.generated",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={"kind": report.kind, "bytes": len(pdf)},
        )
        transaction.on_commit(lambda: _queue_deliveries(report))
        # The service is delivered: the held money is taken now (once; retried until done).
        payments.request_capture(report.session_id)
    metrics.REPORTS_GENERATED.labels(kind=report.kind).inc()
    if not report.deliveries.exists():
        _finish_if_delivered(report.pk)
    return True


def _queue_deliveries(report: Report) -> None:
    for delivery in report.deliveries.filter(status=DeliveryStatus.PENDING):
        enqueue("reports.tasks.deliver_report", report_id=str(report.pk), channel=delivery.channel)


def fail_generation(report_id: Any, error: str) -> None:
    """Record that the PDF could not be made (after the last retry)."""
    with transaction.atomic():
        report = Report.objects.select_related("session__kiosk").get(pk=report_id)
        report.status = ReportStatus.FAILED
        report.failed_stage = "generate"
        report.error = error[:2000]
        report.save(update_fields=["status", "failed_stage", "error", "updated_at"])
        record(
            "report.failed",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={"stage": "generate", "error": error[:500]},
        )
    # No report, no service: the client's held money is released (after the failure is stored).
    payments.release_session_payment(report.session_id, reason="service_failed")
    metrics.REPORTS_FAILED.labels(stage="generate").inc()


def _message(report: Report, delivery: ReportDelivery) -> OutgoingMessage:
    kiosk = report.session.kiosk
    link = download_url(report)
    label = "диагностики" if report.kind == ReportKind.DIAGNOSTICS else "проверки толщины ЛКП"
    if delivery.channel == DeliveryChannel.EMAIL:
        assert report.file
        with report.file.open("rb") as handle:
            content = handle.read()
        text = render_to_string(
            "reports/email.txt",
            {
                "greeting": f"Спасибо, что воспользовались терминалом «{kiosk.display_brand}».",
                "link": link,
                "link_expires": timezone.localtime(link_expiry()),
                "brand": kiosk.display_brand,
            },
        )
        return OutgoingMessage(
            recipient=delivery.recipient,
            subject=f"Отчёт {label} — {kiosk.display_brand}",
            text=text,
            attachments=(Attachment(f"otchet-{report.kind}.pdf", content, "application/pdf"),),
        )
    return OutgoingMessage(recipient=delivery.recipient, text=f"Отчёт {label} готов: {link}")


class TransientDeliveryError(Exception):
    """Retry later (the task retries with back-off, honouring `retry_after`)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def deliver(report_id: Any, channel: str, *, final_attempt: bool) -> str:
    """Send the report over one channel. Safe to re-run: a sent delivery is not sent again.
    Raises `TransientDeliveryError` for a retryable failure unless `final_attempt`."""
    report = Report.objects.select_related("session__kiosk").get(pk=report_id)
    delivery = ReportDelivery.objects.get(report=report, channel=channel)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery.status
    ReportDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    owner_id = report.session.kiosk.owner_id
    try:
        result = get_channel(channel).send(_message(report, delivery))
    except DeliveryError as exc:
        if exc.permanent or final_attempt:
            _fail_delivery(report, delivery, str(exc), permanent=exc.permanent)
            return DeliveryStatus.FAILED
        ReportDelivery.objects.filter(pk=delivery.pk).update(last_error=str(exc)[:2000])
        raise TransientDeliveryError(str(exc), exc.retry_after) from exc
    except ImproperlyConfigured as exc:
        # The channel cannot be built (a provider without its credentials): retrying will not
        # help, and the failure must show in the admin rather than leave the delivery pending.
        _fail_delivery(report, delivery, f"configuration: {exc}", permanent=True)
        return DeliveryStatus.FAILED
    except Exception as exc:
        # Anything else from a provider library: retried like a transient failure, and
        # recorded as failed on the last attempt — never left pending.
        error = f"{type(exc).__name__}: {exc}"
        if final_attempt:
            _fail_delivery(report, delivery, error, permanent=False)
            return DeliveryStatus.FAILED
        ReportDelivery.objects.filter(pk=delivery.pk).update(last_error=error[:2000])
        raise TransientDeliveryError(error, None) from exc
    with transaction.atomic():
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT,
            sent_at=timezone.now(),
            provider_id=result.provider_id[:200],
            last_error="",
        )
        record(
            "report.delivered",
            owner_id=owner_id,
            obj=report,
            summary={"channel": channel, "recipient": delivery.recipient},
        )
    metrics.REPORTS_DELIVERED.labels(channel=channel).inc()
    log.info("report %s sent by %s to %s", report.pk, channel, delivery.recipient)
    _finish_if_delivered(report.pk)
    return DeliveryStatus.SENT


def _fail_delivery(report: Report, delivery: ReportDelivery, error: str, permanent: bool) -> None:
    with transaction.atomic():
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error=error[:2000]
        )
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.FAILED,
            failed_stage=delivery.channel,
            error=error[:2000],
            updated_at=timezone.now(),
        )
        record(
            "report.failed",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={
                "stage": delivery.channel,
                "recipient": delivery.recipient,
                "error": error[:500],
                "permanent": permanent,
            },
        )
    metrics.REPORTS_FAILED.labels(stage=delivery.channel).inc()
    log.warning(
        "report %s: %s delivery to %s failed: %s",
        report.pk,
        delivery.channel,
        delivery.recipient,
        error,
    )


def _finish_if_delivered(report_id: Any) -> None:
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        statuses = set(report.deliveries.values_list("status", flat=True))
        if report.status == ReportStatus.GENERATED and statuses <= {DeliveryStatus.SENT}:
            report.status = ReportStatus.DELIVERED
            report.delivered_at = timezone.now()
            report.save(update_fields=["status", "delivered_at", "updated_at"])


def resend(report: Report, *, actor: Actor) -> None:
    """Admin "resend": failed deliveries back to pending and the pipeline queued again."""
    with transaction.atomic():
        report.deliveries.filter(status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, last_error=""
        )
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.GENERATED if report.file else ReportStatus.PENDING,
            failed_stage="",
            error="",
        )
        actor.audit(
            "report.resend",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={"kind": report.kind},
        )
        enqueue_on_commit(GENERATE_TASK, report_id=str(report.pk))
