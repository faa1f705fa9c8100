"""Owner alerts in the bot: a terminal offline too long, no sales for hours within business
hours, the Vendista connection suspended (402) or its credentials refused, imports failing.

Each problem is one `OwnerAlert` row while it lasts (a partial unique index): the owner and
admins are told once, and once more ("resolved") when it clears. Outside the owner's business
hours only urgent alerts are sent; the others wait for the hours to start (and are dropped if
the problem cleared meanwhile). Safe to re-run: telling is claimed with a conditional UPDATE in
the transaction that queues the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.clock import as_moscow
from notifications.services import notify_users, owner_and_admin_user_ids
from phone.models import AlertKind, AlertSettings, OwnerAlert
from vendista.finance import SALE
from vendista.models import (
    ImportRun,
    PaymentStatus,
    RunKind,
    RunStatus,
    Terminal,
    TokenStatus,
    Transaction,
    VendistaAccount,
)

logger = logging.getLogger("phone.alerts")


@dataclass(frozen=True)
class Problem:
    kind: str
    subject: str
    text: str
    urgent: bool = False


def settings_of(owner_id: int) -> AlertSettings:
    found = AlertSettings.objects.filter(owner_id=owner_id).first()
    return found or AlertSettings(owner_id=owner_id)


def current_problems(owner_id: int, config: AlertSettings, now: datetime) -> list[Problem]:
    """What is wrong with this owner at `now`."""
    problems: list[Problem] = []
    offline_since = now - timedelta(minutes=config.offline_after_minutes)
    terminals = Terminal.objects.filter(
        owner_id=owner_id, is_active=True, last_online_time__lt=offline_since
    ).order_by("name", "id")
    for terminal in terminals:
        seen = as_moscow(terminal.last_online_time).strftime("%d.%m %H:%M")  # type: ignore[arg-type]
        problems.append(
            Problem(
                AlertKind.TERMINAL_OFFLINE,
                f"terminal:{terminal.pk}",
                _("Terminal %(name)s has been offline since %(seen)s.")
                % {"name": terminal, "seen": seen},
            )
        )
    if config.no_sales_hours and _whole_window_in_hours(config, now):
        since = now - timedelta(hours=config.no_sales_hours)
        has_terminals = Terminal.objects.filter(owner_id=owner_id, is_active=True).exists()
        sold = Transaction.objects.filter(SALE, owner_id=owner_id, time__gte=since).exists()
        if has_terminals and not sold:
            problems.append(
                Problem(
                    AlertKind.NO_SALES,
                    "",
                    _("No sales for %(hours)s h.") % {"hours": config.no_sales_hours},
                )
            )
    account = VendistaAccount.objects.filter(owner_id=owner_id).first()
    if account is not None and account.payment_status == PaymentStatus.PAYMENT_REQUIRED:
        problems.append(
            Problem(
                AlertKind.PAYMENT_REQUIRED,
                "",
                _("Vendista suspended the connection until its service is paid (HTTP 402)."),
                urgent=True,
            )
        )
    if account is not None and account.token_status == TokenStatus.INVALID_CREDS:
        problems.append(
            Problem(
                AlertKind.CREDENTIALS_REFUSED,
                "",
                _("Vendista refused the stored login and password: enter them again."),
                urgent=True,
            )
        )
    limit = config.failed_imports_in_a_row
    if limit:
        recent = list(
            ImportRun.objects.filter(owner_id=owner_id, kind=RunKind.IMPORT)
            .exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SKIPPED])
            .order_by("-created_at", "-id")
            .values_list("status", flat=True)[:limit]
        )
        if len(recent) == limit and all(status == RunStatus.FAILED for status in recent):
            problems.append(
                Problem(
                    AlertKind.IMPORT_FAILING,
                    "",
                    _("The last %(count)s imports of sales failed.") % {"count": limit},
                )
            )
    return problems


def _whole_window_in_hours(config: AlertSettings, now: datetime) -> bool:
    """Whether both `now` and the start of the no-sales window lie in business hours today."""
    local = as_moscow(now)
    start = as_moscow(now - timedelta(hours=config.no_sales_hours))
    if not config.in_business_hours(local.time()) or not config.in_business_hours(start.time()):
        return False
    if config.business_hours_start < config.business_hours_end:
        return start.date() == local.date()
    return True


def check_owner_alerts(owner_id: int, now: datetime | None = None) -> dict[str, int]:
    """Open, tell, clear and resolve this owner's alerts. Safe to re-run."""
    with translation.override(settings.LANGUAGE_CODE):  # the texts are stored, in Russian
        return _check_owner_alerts(owner_id, now or timezone.now())


def _check_owner_alerts(owner_id: int, now: datetime) -> dict[str, int]:
    config = settings_of(owner_id)
    counts = {"opened": 0, "told": 0, "cleared": 0, "resolved": 0}
    if not config.enabled:
        return counts
    problems = {(p.kind, p.subject): p for p in current_problems(owner_id, config, now)}
    open_rows = {
        (row.kind, row.subject): row
        for row in OwnerAlert.objects.filter(owner_id=owner_id, cleared_at__isnull=True)
    }
    for key, problem in problems.items():
        if key not in open_rows:
            try:
                with transaction.atomic():
                    open_rows[key] = OwnerAlert.objects.create(
                        owner_id=owner_id,
                        kind=problem.kind,
                        subject=problem.subject,
                        urgent=problem.urgent,
                        text=problem.text,
                    )
                counts["opened"] += 1
            except IntegrityError:  # a concurrent run opened it
                open_rows[key] = OwnerAlert.objects.get(
                    owner_id=owner_id, kind=problem.kind, subject=problem.subject, cleared_at=None
                )
    for key, row in open_rows.items():
        if key not in problems:
            OwnerAlert.objects.filter(pk=row.pk, cleared_at__isnull=True).update(cleared_at=now)
            counts["cleared"] += 1
    awake = config.in_business_hours(as_moscow(now).time())
    for row in OwnerAlert.objects.filter(
        owner_id=owner_id, cleared_at__isnull=True, notified_at__isnull=True
    ):
        if awake or row.urgent:
            counts["told"] += _tell(row, "owner_alert", now, field="notified_at")
    for row in OwnerAlert.objects.filter(
        owner_id=owner_id,
        cleared_at__isnull=False,
        notified_at__isnull=False,
        resolved_notified_at__isnull=True,
    ):
        if awake or row.urgent:
            counts["resolved"] += _tell(
                row, "owner_alert_resolved", now, field="resolved_notified_at"
            )
    return counts


def _tell(row: OwnerAlert, template: str, now: datetime, *, field: str) -> int:
    with transaction.atomic():
        claimed = OwnerAlert.objects.filter(pk=row.pk, **{f"{field}__isnull": True}).update(
            **{field: now}
        )
        if not claimed:
            return 0
        notify_users(
            owner_and_admin_user_ids(row.owner_id),
            template=template,
            context={"title": AlertKind(row.kind).label, "text": row.text},
            owner_id=row.owner_id,
        )
    logger.info("owner alert %s %s: %s", row.pk, row.kind, template)
    return 1
