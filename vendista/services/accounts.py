"""An owner's Vendista account: API clients from the stored (encrypted) credentials, token
refresh, and the payment-status flow — a 402 suspends the owner once, the 04:00 check or a
staff reset brings it back."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record as audit
from vendista import crypto, metrics, notices
from vendista.client import (
    VendistaClient,
    VendistaInvalidCredentials,
    VendistaPaymentRequired,
    VendistaUnauthorized,
    VendistaUnavailable,
)
from vendista.models import PaymentStatus, TokenStatus, VendistaAccount

logger = logging.getLogger(__name__)


def make_client(account: VendistaAccount, **overrides: Any) -> VendistaClient:
    """A client for the owner that refreshes its token with the stored credentials (the caller
    stores a refreshed token: `save_token`). Undecryptable credentials → invalid_creds."""
    try:
        credentials = (
            crypto.decrypt(account.login_encrypted),
            crypto.decrypt(account.password_encrypted),
        )
    except crypto.DecryptionError as exc:
        mark_invalid_credentials(account.owner_id, "stored credentials cannot be decrypted")
        raise VendistaInvalidCredentials("stored credentials cannot be decrypted") from exc
    options: dict[str, Any] = {
        "base_url": settings.VENDISTA_API_URL,
        "token": decrypt_or_empty(account.token_encrypted),
        "rate_key": str(account.owner_id),
        "credentials": credentials if all(credentials) else None,
        "rate_per_token": settings.VENDISTA_RATE_PER_TOKEN,
        "rate_global": settings.VENDISTA_RATE_GLOBAL,
        "timeout": settings.VENDISTA_TIMEOUT,
        "max_attempts": settings.VENDISTA_MAX_ATTEMPTS,
        "backoff_base": settings.VENDISTA_BACKOFF_BASE,
        "page_size": settings.VENDISTA_PAGE_SIZE,
        # Below the owner lock's lifetime, so no single wait can outlast it.
        "max_wait": min(settings.VENDISTA_MAX_WAIT, settings.VENDISTA_LOCK_TTL / 2),
    }
    options.update(overrides)
    return VendistaClient(**options)


def decrypt_or_empty(value: str) -> str:
    """A stored secret in clear, or "" (logged) when no key can decrypt it."""
    try:
        return crypto.decrypt(value)
    except crypto.DecryptionError:
        logger.error("a stored Vendista token cannot be decrypted; a new one will be requested")
        return ""


def set_credentials(account: VendistaAccount, login: str, password: str, token: str = "") -> None:
    """Store credentials (and a token) encrypted; the token is marked valid."""
    account.login_encrypted = crypto.encrypt(login)
    account.password_encrypted = crypto.encrypt(password)
    account.token_encrypted = crypto.encrypt(token)
    account.token_status = TokenStatus.VALID
    account.save()


def save_token(owner_id: int, client: VendistaClient, stored: str) -> str:
    """Store the client's token if it was refreshed since `stored`; returns the current one."""
    if client.token and client.token != stored:
        VendistaAccount.objects.filter(owner_id=owner_id).update(
            token_encrypted=crypto.encrypt(client.token),
            token_status=TokenStatus.VALID,
            updated_at=timezone.now(),
        )
        logger.info("vendista token refreshed for owner %s", owner_id)
    return client.token


def mark_invalid_credentials(owner_id: int, reason: str) -> None:
    """Vendista refused the stored credentials: stop importing; staff hear of it once."""
    with transaction.atomic():
        changed = (
            VendistaAccount.objects.filter(owner_id=owner_id)
            .exclude(token_status=TokenStatus.INVALID_CREDS)
            .update(token_status=TokenStatus.INVALID_CREDS, updated_at=timezone.now())
        )
        if changed:
            notices.operation_failed(
                owner_id=owner_id, context="vendista.credentials", error=reason
            )


def mark_payment_required(owner_id: int, *, source: str, error: str) -> bool:
    """Vendista answered 402: suspend the owner. Exactly one caller — the one whose conditional
    UPDATE changed the row — tells the admin. Returns whether this call made the change."""
    with transaction.atomic():
        changed = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.ACTIVE
        ).update(
            payment_status=PaymentStatus.PAYMENT_REQUIRED,
            payment_required_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed:
            audit(
                "vendista.payment_required",
                owner_id=owner_id,
                object_type="vendista.vendistaaccount",
                object_id=owner_id,
                summary={"source": source, "error": error[:200]},
            )
            notices.payment_required(owner_id=owner_id, source=source, error=error)
    if changed:
        metrics.OWNERS_SUSPENDED.inc()
    else:
        logger.info("vendista 402 for owner %s again (already suspended)", owner_id)
    return bool(changed)


def reactivate(
    owner_id: int,
    *,
    token: str | None = None,
    actor: Any = None,
    request: Any = None,
    reason: str = "check",
) -> bool:
    """Back to `active` (from the 04:00 check with a fresh token, or a staff reset)."""
    updates: dict[str, Any] = {
        "payment_status": PaymentStatus.ACTIVE,
        "payment_required_at": None,
        "updated_at": timezone.now(),
    }
    if token is not None:
        updates["token_encrypted"] = crypto.encrypt(token)
        updates["token_status"] = TokenStatus.VALID
    with transaction.atomic():
        changed = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.PAYMENT_REQUIRED
        ).update(**updates)
        audit(
            "vendista.payment_status_reset" if reason == "staff" else "vendista.reactivated",
            actor_user=actor,
            owner_id=owner_id,
            object_type="vendista.vendistaaccount",
            object_id=owner_id,
            summary={"changed": bool(changed), "reason": reason},
            request=request,
        )
        if changed:
            notices.owner_reactivated(owner_id=owner_id)
    return bool(changed)


def check_payment_status(owner_id: int) -> bool:
    """The 04:00 check for one suspended owner: a new token AND a cheap data call must both
    succeed to reactivate. Returns whether the owner was reactivated. Safe to re-run."""
    account = VendistaAccount.objects.get(owner_id=owner_id)
    if account.payment_status != PaymentStatus.PAYMENT_REQUIRED:
        return False
    try:
        client = make_client(account, token="")
    except VendistaInvalidCredentials:
        logger.error("payment check: owner %s credentials cannot be decrypted", owner_id)
        return False
    try:
        client.refresh()
        client.get_terminals()
    except VendistaPaymentRequired:
        logger.info("payment check: owner %s still unpaid", owner_id)
        return False
    except VendistaInvalidCredentials:
        mark_invalid_credentials(owner_id, "payment check: Vendista refused the credentials")
        return False
    except (VendistaUnavailable, VendistaUnauthorized) as exc:
        logger.warning("payment check: owner %s inconclusive: %s", owner_id, exc)
        return False
    finally:
        client.close()
    return reactivate(owner_id, token=client.token, reason="check")


def importable_owner_ids() -> list[int]:
    """Owners the schedules import: connected, paid, with credentials that work. A connection
    saved with finance settings only (no credentials yet) is not imported."""
    return list(
        VendistaAccount.objects.filter(imports_enabled=True, payment_status=PaymentStatus.ACTIVE)
        .exclude(token_status=TokenStatus.INVALID_CREDS)
        .exclude(login_encrypted="", token_encrypted="")
        .values_list("owner_id", flat=True)
    )


def suspended_owner_ids() -> list[int]:
    return list(
        VendistaAccount.objects.filter(payment_status=PaymentStatus.PAYMENT_REQUIRED).values_list(
            "owner_id", flat=True
        )
    )
