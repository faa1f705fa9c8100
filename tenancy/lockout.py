"""Login lockout (django-axes): the address a failure counts against, and the audit of a
lockout and of its reset by platform staff."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from audit.models import ActorKind
from audit.services import record
from core import net


def client_ip(request: HttpRequest) -> str:
    """The address a failure counts against: the client behind the trusted proxies
    (`TRUSTED_PROXIES`, the same rule as the throttles and the audit log), never a header the
    client wrote itself."""
    return net.client_ip(request) or ""


def audit_lockout(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    """Receiver of axes' `user_locked_out`: one audit row per refused attempt."""
    record(
        "auth.locked_out",
        actor_kind=ActorKind.SYSTEM,
        actor_label="axes",
        object_type="auth.user",
        object_id=username or "",
        summary={"username": username or "", "path": request.path if request else ""},
        request=request,
    )


def reset_lockout(attempts: Any, *, user: Any, request: HttpRequest) -> int:
    """Lift the lockout of the given access attempts (platform staff) and audit each. Safe to
    re-run: an attempt already lifted is simply gone."""
    from axes.utils import reset

    lifted = 0
    with transaction.atomic():
        for attempt in list(attempts):
            lifted += reset(username=attempt.username) if attempt.username else 0
            lifted += reset(ip=attempt.ip_address) if attempt.ip_address else 0
            record(
                "auth.lockout_reset",
                actor_user=user,
                object_type="auth.user",
                object_id=attempt.username or "",
                summary={"username": attempt.username or "", "ip": attempt.ip_address or ""},
                request=request,
            )
    return lifted
