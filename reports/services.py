"""Reports: create, render (Django template → WeasyPrint PDF), store, deliver, sign links.

PostgreSQL holds the pipeline; Redis only carries it. The `Report` row (written with the request)
is the outbox of the generation: a worker claims it with a lease before rendering, and the sweep
(`sweep_reports`, every minute and at worker start) queues it again when its message was lost,
its worker died or its retry is due. The transaction that stores the PDF writes the e-mail (PDF
attached) and SMS (signed link) rows of the one delivery log (`notifications.Delivery`,
`source="report:<id>"`), sent and retried there; their outcomes come back through
`delivery_finished`, in the transaction that records them. Every step is in the audit log.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.services import SYSTEM, Actor, record
from core.jobs import enqueue
from core.sweeps import lease_free, lease_until
from kiosk import metrics as kiosk_metrics
from kiosk.models import Kiosk, Session, SessionStatus
from notifications import services as deliveries
from notifications.models import Delivery
from notifications.models import DeliveryStatus as SendStatus
from payments import services as payments
from reports import metrics
from reports.models import DeliveryChannel, DeliveryStatus, Report, ReportKind, ReportStatus

log = logging.getLogger(__name__)

GENERATE_TASK = "reports.tasks.generate_report"
DELIVERY_SOURCE = "report"

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
        report = Report.objects.create(
            session=session, kind=kind, data=data, enqueued_at=timezone.now()
        )
        actor.audit(
            "report.requested",
            owner_id=kiosk.owner_id,
            obj=report,
            summary={"kind": kind, "session": str(session.pk)},
        )
        report_id = report.pk
        transaction.on_commit(lambda: queue_generation(report_id))
        transaction.on_commit(lambda: _finish_if_delivered(report_id))
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


# --- Generation --------------------------------------------------------------------------------


def queue_generation(report_id: Any, countdown: float | None = None) -> None:
    """Hand one report to the `reports` queue (safe to repeat: generation claims the row)."""
    Report.objects.filter(pk=report_id).update(enqueued_at=timezone.now())
    enqueue(GENERATE_TASK, report_id=str(report_id), countdown=countdown)


def _claim_generation(report_id: Any) -> bool:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return bool(
        Report.objects.filter(lease_free(now=now), due, pk=report_id, status=ReportStatus.PENDING)
        .exclude(file="", generation_attempts__gte=settings.REPORTS_MAX_GENERATION_ATTEMPTS)
        .update(
            lease_until=lease_until(settings.REPORTS_GENERATION_LEASE_SECONDS, now),
            generation_attempts=F("generation_attempts") + 1,
        )
    )


@dataclass(frozen=True)
class Generation:
    """What one `generate()` call did; `retry_in` asks the caller to try again that much later."""

    status: str  # "generated", "skipped", "retry" or "failed"
    retry_in: float | None = None


def generate(report_id: Any) -> Generation:
    """Claim a pending report, render and store its PDF and, in the same transaction, record
    its deliveries. Safe to re-run (a claimed or finished report is skipped; a stored PDF is
    kept)."""
    if not _claim_generation(report_id):
        return Generation("skipped")
    report = Report.objects.select_related("session__kiosk__owner").get(pk=report_id)
    pdf: bytes | None = None
    if not report.file:
        try:
            pdf = render_pdf(report)
        except Exception as exc:
            return _generation_failed(report, f"{type(exc).__name__}: {exc}")
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status != ReportStatus.PENDING:
            return Generation("skipped")  # our lease lapsed and another worker finished it
        if pdf is not None:
            locked.file.save(f"{locked.kind}-{locked.pk}.pdf", ContentFile(pdf), save=False)
        locked.status = ReportStatus.GENERATED
        locked.generated_at = locked.generated_at or timezone.now()
        locked.failed_stage = ""
        locked.error = ""
        locked.lease_until = None
        locked.next_attempt_at = None
        locked.save(
            update_fields=[
                "file",
                "status",
                "generated_at",
                "failed_stage",
                "error",
                "lease_until",
                "next_attempt_at",
                "updated_at",
            ]
        )
        if pdf is not None:
            record(
                "report.generated",
                owner_id=report.session.kiosk.owner_id,
                obj=locked,
                summary={"kind": locked.kind, "bytes": len(pdf)},
            )
        locked.session = report.session
        created = _record_deliveries(locked)
        # The service is delivered: the held money is taken now (once; retried until done).
        payments.request_capture(report.session_id)
    if pdf is not None:
        metrics.REPORTS_GENERATED.labels(kind=report.kind).inc()
    if not created and not report_deliveries(report.pk).exists():
        _finish_if_delivered(report.pk)
    return Generation("generated")


def _generation_failed(report: Report, error: str) -> Generation:
    """Release the claim: a retry later, or the report failed after its last attempt."""
    if report.generation_attempts >= settings.REPORTS_MAX_GENERATION_ATTEMPTS:
        fail_generation(report.pk, error)
        return Generation("failed")
    delay = 10.0 * 2 ** (report.generation_attempts - 1)
    Report.objects.filter(pk=report.pk, status=ReportStatus.PENDING).update(
        lease_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        error=error[:2000],
    )
    log.warning("report %s: rendering failed, retry in %.0f s: %s", report.pk, delay, error)
    return Generation("retry", retry_in=delay)


def fail_generation(report_id: Any, error: str) -> None:
    """Record that the PDF could not be made (after the last retry)."""
    with transaction.atomic():
        report = Report.objects.select_related("session__kiosk").get(pk=report_id)
        report.status = ReportStatus.FAILED
        report.failed_stage = "generate"
        report.error = error[:2000]
        report.lease_until = None
        report.next_attempt_at = None
        report.save(
            update_fields=[
                "status",
                "failed_stage",
                "error",
                "lease_until",
                "next_attempt_at",
                "updated_at",
            ]
        )
        record(
            "report.failed",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={"stage": "generate", "error": error[:500]},
        )
    # No report, no service: the client's held money is released (after the failure is stored).
    payments.release_session_payment(report.session_id, reason="service_failed")
    metrics.REPORTS_FAILED.labels(stage="generate").inc()


def sweep_reports(limit: int = 500) -> int:
    """Queue every pending report that is due and nobody renders: its queue message was lost
    (a Redis flush), its worker died (the lease lapsed) or its retry time came. Returns how
    many were queued. Safe to re-run."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.REPORTS_GENERATION_LEASE_SECONDS)
    due = (
        Report.objects.filter(lease_free(now=now), status=ReportStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=lost) | Q(next_attempt_at__lte=now))
        .exclude(file="", generation_attempts__gte=settings.REPORTS_MAX_GENERATION_ATTEMPTS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(due)
    for report_id in ids:
        queue_generation(report_id)
    # A report whose every attempt ended with its worker gone (killed, out of memory) is failed
    # here, visibly, instead of waiting for ever.
    exhausted = Report.objects.filter(
        lease_free(now=now),
        status=ReportStatus.PENDING,
        file="",
        generation_attempts__gte=settings.REPORTS_MAX_GENERATION_ATTEMPTS,
    ).values_list("pk", flat=True)[:limit]
    for report_id in list(exhausted):
        fail_generation(report_id, "the worker rendering it was lost on every attempt")
    return len(ids)


# --- Deliveries (rows of the one delivery log) -------------------------------------------------


def delivery_source(report_id: Any) -> str:
    return f"{DELIVERY_SOURCE}:{report_id}"


def report_deliveries(report_id: Any) -> Any:
    """The report's rows in the delivery log (one per channel)."""
    return Delivery.objects.filter(source=delivery_source(report_id))


def api_status(delivery: Delivery) -> str:
    """A delivery as the reports API shows it: pending until sent or given up."""
    if delivery.status == SendStatus.SENT:
        return DeliveryStatus.SENT
    if delivery.status == SendStatus.PERMANENTLY_FAILED:
        return DeliveryStatus.FAILED
    return DeliveryStatus.PENDING


def _record_deliveries(report: Report) -> int:
    """Write the report's e-mail and SMS rows (once per channel: keyed), queued after commit.
    Call in the transaction that marks the report generated."""
    session = report.session
    recipients = [
        (DeliveryChannel.EMAIL, session.contact_email),
        (DeliveryChannel.SMS, session.contact_phone),
    ]
    created = 0
    for channel, recipient in recipients:
        if not recipient:
            continue
        created += len(
            deliveries.queue_message(
                channel=channel,
                recipient=recipient,
                template=f"report_{channel}",
                owner_id=session.kiosk.owner_id,
                source=delivery_source(report.pk),
                dedup_key=f"{delivery_source(report.pk)}:{channel}",
                **_message(report, channel),
            )
        )
    return created


def _message(report: Report, channel: str) -> dict[str, Any]:
    kiosk = report.session.kiosk
    link = download_url(report)
    label = "диагностики" if report.kind == ReportKind.DIAGNOSTICS else "проверки толщины ЛКП"
    if channel == DeliveryChannel.EMAIL:
        assert report.file
        text = render_to_string(
            "reports/email.txt",
            {
                "greeting": f"Спасибо, что воспользовались терминалом «{kiosk.display_brand}».",
                "link": link,
                "link_expires": timezone.localtime(link_expiry()),
                "brand": kiosk.display_brand,
            },
        )
        return {
            "subject": f"Отчёт {label} — {kiosk.display_brand}",
            "text": text,
            "attachments": [
                {
                    "filename": f"otchet-{report.kind}.pdf",
                    "storage_name": report.file.name,
                    "mimetype": "application/pdf",
                }
            ],
        }
    return {"text": f"Отчёт {label} готов: {link}"}


def delivery_finished(delivery: Delivery) -> None:
    """The delivery log's handler for report rows: audit the outcome and move the report to
    `delivered` (every channel sent) or `failed` (this channel gave up). Runs in the
    transaction that records the outcome."""
    report_id = delivery.source.partition(":")[2]
    report = Report.objects.select_related("session__kiosk").get(pk=report_id)
    owner_id = report.session.kiosk.owner_id
    if delivery.status == SendStatus.SENT:
        record(
            "report.delivered",
            owner_id=owner_id,
            obj=report,
            summary={"channel": delivery.channel, "recipient": delivery.recipient},
        )
        metrics.REPORTS_DELIVERED.labels(channel=delivery.channel).inc()
        log.info("report %s sent by %s to %s", report.pk, delivery.channel, delivery.recipient)
        _finish_if_delivered(report.pk)
        return
    permanent = not delivery.last_error.startswith("gave up")
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.FAILED,
        failed_stage=delivery.channel,
        error=delivery.last_error[:2000],
        updated_at=timezone.now(),
    )
    record(
        "report.failed",
        owner_id=owner_id,
        obj=report,
        summary={
            "stage": delivery.channel,
            "recipient": delivery.recipient,
            "error": delivery.last_error[:500],
            "permanent": permanent,
        },
    )
    metrics.REPORTS_FAILED.labels(stage=delivery.channel).inc()
    log.warning(
        "report %s: %s delivery to %s failed: %s",
        report.pk,
        delivery.channel,
        delivery.recipient,
        delivery.last_error,
    )


def _finish_if_delivered(report_id: Any) -> None:
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        statuses = set(report_deliveries(report_id).values_list("status", flat=True))
        if report.status == ReportStatus.GENERATED and statuses <= {SendStatus.SENT}:
            report.status = ReportStatus.DELIVERED
            report.delivered_at = timezone.now()
            report.save(update_fields=["status", "delivered_at", "updated_at"])


def resend(report: Report, *, actor: Actor) -> None:
    """Admin "resend": every delivery not sent — failed, still waiting or stuck with a dead
    worker's claim — goes back to the queue now, and a report without its PDF is rendered again
    (a failed one with fresh attempts). Safe to repeat."""
    with transaction.atomic():
        ids = list(
            report_deliveries(report.pk)
            .filter(deliveries.resendable())
            .values_list("pk", flat=True)
        )
        deliveries.resend(ids)
        fields: dict[str, Any] = {"failed_stage": "", "error": "", "updated_at": timezone.now()}
        if report.file:
            fields["status"] = ReportStatus.GENERATED
        else:
            fields.update(
                status=ReportStatus.PENDING,
                generation_attempts=0,
                lease_until=None,
                next_attempt_at=None,
            )
        if report.status != ReportStatus.DELIVERED:
            Report.objects.filter(pk=report.pk).exclude(
                status=ReportStatus.PENDING, lease_until__gt=timezone.now()
            ).update(**fields)
        actor.audit(
            "report.resend",
            owner_id=report.session.kiosk.owner_id,
            obj=report,
            summary={"kind": report.kind, "deliveries": len(ids)},
        )
        report_id = report.pk
        transaction.on_commit(lambda: queue_generation(report_id))
        transaction.on_commit(lambda: _finish_if_delivered(report_id))
