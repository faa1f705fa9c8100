"""An owner's Vendista connection as the owner's staff manage it: credentials checked against
Vendista and stored encrypted, finance settings, and "import now". The API calls these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from audit.services import record as audit
from vendista.client import VendistaClient
from vendista.models import (
    ACTIVE_RUN_STATUSES,
    ImportMode,
    ImportRun,
    PaymentStatus,
    RunKind,
    TokenStatus,
    VendistaAccount,
)
from vendista.services import accounts
from vendista.services.runs import enqueue

# Registration waits for Vendista while the person waits for the page: one quick retry at most,
# and a few seconds at most for a turn under the shared rate limit (imports may be using it).
CHECK_ATTEMPTS = 2
CHECK_RATE_WAIT_S = 5.0


class NotImportable(Exception):
    """The owner cannot be imported now; `code` says why (for the API's answer)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def has_credentials(account: VendistaAccount) -> bool:
    return bool(account.login_encrypted and account.password_encrypted)


def check_credentials(owner_id: int, login: str, password: str) -> str:
    """A Vendista token for the login and password, or the client's exception:
    VendistaInvalidCredentials (401/404 or no token), VendistaPaymentRequired (402),
    VendistaUnavailable (5xx, 429, timeout) or VendistaRejected. Calls Vendista once or twice."""
    client = VendistaClient(
        base_url=settings.VENDISTA_API_URL,
        rate_key=str(owner_id),
        rate_per_token=settings.VENDISTA_RATE_PER_TOKEN,
        rate_global=settings.VENDISTA_RATE_GLOBAL,
        timeout=settings.VENDISTA_TIMEOUT,
        max_attempts=min(CHECK_ATTEMPTS, settings.VENDISTA_MAX_ATTEMPTS),
        backoff_base=min(1.0, settings.VENDISTA_BACKOFF_BASE),
        rate_timeout=CHECK_RATE_WAIT_S,
    )
    try:
        return client.get_token(login, password)
    finally:
        client.close()


def connect(
    owner_id: int,
    *,
    login: str,
    password: str,
    token: str,
    setup_date: date | None,
    actor: Any,
    request: HttpRequest | None = None,
) -> list[int]:
    """Store checked credentials and their token encrypted (token status valid; payment status
    untouched), audit it, and queue a terminal sync and a historical import from the setup date
    (after commit). Returns the ids of the queued runs. Safe to repeat: re-entered credentials
    replace the old ones, and a run already covering the same work is not queued twice."""
    with transaction.atomic():
        account, _created = VendistaAccount.objects.select_for_update().get_or_create(
            owner_id=owner_id
        )
        replaced = has_credentials(account)
        previous_status = account.token_status
        if setup_date is not None:
            account.setup_date = setup_date
        accounts.set_credentials(account, login, password, token)
        audit(
            "vendista.credentials_set",
            actor_user=actor,
            owner_id=owner_id,
            object_type="vendista.vendistaaccount",
            object_id=owner_id,
            summary={
                "replaced": replaced,
                "previous_token_status": previous_status,
                "setup_date": account.setup_date.isoformat() if account.setup_date else None,
            },
            request=request,
        )
        queued = [
            enqueue(
                owner_id,
                kind=RunKind.SYNC,
                trigger="credentials",
                requested_by=actor,
                skip_if_active=False,
            ),
            enqueue(
                owner_id,
                window_kind="history",
                mode=ImportMode.HISTORICAL,
                trigger="credentials",
                requested_by=actor,
                skip_if_active=False,
            ),
        ]
    return [run_id for run_id in queued if run_id is not None]


def update_settings(
    account: VendistaAccount,
    changes: dict[str, Any],
    *,
    actor: Any,
    request: HttpRequest | None = None,
) -> VendistaAccount:
    """Save the finance settings (setup date, tax system, acquiring %) and audit what changed."""
    with transaction.atomic():
        before = {name: getattr(account, name) for name in changes}
        for name, value in changes.items():
            setattr(account, name, value)
        account.save()
        changed = {
            name: {"from": _plain(before[name]), "to": _plain(value)}
            for name, value in changes.items()
            if before[name] != value
        }
        if changed:
            audit(
                "vendista.settings_changed",
                actor_user=actor,
                owner_id=account.owner_id,
                object_type="vendista.vendistaaccount",
                object_id=account.owner_id,
                summary=changed,
                request=request,
            )
    return account


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | str) else str(value)


@dataclass(frozen=True)
class ImportRequest:
    run: ImportRun
    queued: bool


def import_now(owner_id: int, *, actor: Any) -> ImportRequest:
    """Queue a regular (deducting) import of the last 24 hours, unless a queued or running
    regular import of the owner already covers that window: then that run is returned. Raises
    NotImportable."""
    account = VendistaAccount.objects.filter(owner_id=owner_id).first()
    if account is None or not has_credentials(account):
        raise NotImportable("no_credentials")
    if account.token_status == TokenStatus.INVALID_CREDS:
        raise NotImportable("invalid_credentials")
    if account.payment_status != PaymentStatus.ACTIVE:
        raise NotImportable("payment_required")
    # Two tries: an active run may finish between the de-duplicated enqueue and the lookup.
    for _attempt in range(2):
        run_id = enqueue(
            owner_id,
            window_kind="last_24h",
            trigger="api",
            requested_by=actor,
            skip_if_active=False,
        )
        if run_id is not None:
            return ImportRequest(ImportRun.objects.get(pk=run_id), queued=True)
        active = ImportRun.objects.filter(
            owner_id=owner_id,
            kind=RunKind.IMPORT,
            mode=ImportMode.REGULAR,
            status__in=ACTIVE_RUN_STATUSES,
        ).first()
        if active is not None:
            return ImportRequest(active, queued=False)
    raise NotImportable("busy")
