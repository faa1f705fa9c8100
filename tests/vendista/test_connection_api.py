"""`/api/vendista/connection/`: status and finance settings, credentials checked against the
Vendista sandbox over HTTP and stored encrypted (never returned), and "import now"."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from core.ratelimit import Bucket, RateLimiter
from sandboxes.vendista import SandboxAccount, VendistaSandbox
from tenancy.models import Role
from tests.helpers.tenancy import Tenant, make_tenant
from tests.vendista.staff import MSK
from vendista import crypto
from vendista.models import (
    ImportMode,
    ImportRun,
    PaymentStatus,
    RunKind,
    RunStatus,
    TokenStatus,
    Transaction,
    VendistaAccount,
)
from vendista.services import accounts
from vendista.services import runs as vendista_runs

pytestmark = pytest.mark.django_db

URL = "/api/vendista/connection/"
CREDENTIALS = "/api/vendista/connection/credentials/"
IMPORT_NOW = "/api/vendista/connection/import-now/"
SETUP = "2026-11-01"
STATUS_FIELDS = {
    "has_credentials",
    "token_status",
    "payment_status",
    "payment_required_at",
    "imports_enabled",
    "last_successful_import_at",
    "last_terminal_sync_at",
    "setup_date",
    "tax_system",
    "acquiring_percent",
    "latest_import",
    "latest_sync",
}


@pytest.fixture
def owner() -> Tenant:
    return make_tenant(Role.OWNER)


def _connected(tenant: Tenant, **fields: Any) -> VendistaAccount:
    account = VendistaAccount.objects.create(
        owner=tenant.owner, setup_date=date(2026, 1, 1), **fields
    )
    accounts.set_credentials(account, "login-of-secret", "password-of-secret", "token-of-secret")
    return account


def _no_secrets(content: bytes, account: VendistaAccount | None = None) -> None:
    text = content.decode()
    for secret in ("login-of-secret", "password-of-secret", "token-of-secret", "shop-password"):
        assert secret not in text
    if account is not None:
        for value in (account.login_encrypted, account.password_encrypted, account.token_encrypted):
            assert not value or value not in text


# --- status and settings ---------------------------------------------------------------------


def test_status_of_an_owner_without_a_connection(owner: Tenant) -> None:
    response = owner.client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == STATUS_FIELDS
    assert body["has_credentials"] is False and body["latest_import"] is None
    assert not VendistaAccount.objects.exists()  # reading creates nothing


def test_status_shows_health_and_latest_runs_but_never_a_secret(owner: Tenant) -> None:
    account = _connected(owner, tax_system="income_6", acquiring_percent=Decimal("1.6"))
    now = timezone.now()
    VendistaAccount.objects.filter(pk=account.pk).update(last_successful_import_at=now)
    older = ImportRun.objects.create(owner=owner.owner, kind="import", trigger="t")
    ImportRun.objects.filter(pk=older.pk).update(created_at=now - timedelta(hours=1))
    latest = ImportRun.objects.create(owner=owner.owner, kind="import", trigger="t")
    sync = ImportRun.objects.create(owner=owner.owner, kind="sync", trigger="t")
    admin = make_tenant(Role.ADMIN, owner=owner.owner)

    for client in (owner.client, admin.client):
        response = client.get(URL)
        body = response.json()
        assert set(body) == STATUS_FIELDS
        assert body["has_credentials"] is True and body["token_status"] == "valid"
        assert body["tax_system"] == "income_6" and body["acquiring_percent"] == "1.60"
        assert body["setup_date"] == "2026-01-01" and body["last_successful_import_at"]
        assert body["latest_import"]["id"] == latest.pk and body["latest_sync"]["id"] == sync.pk
        _no_secrets(response.content, account)


def test_service_staff_cannot_see_or_change_the_connection(owner: Tenant) -> None:
    _connected(owner)
    service = make_tenant(Role.SERVICE, owner=owner.owner)
    assert service.client.get(URL).status_code == 403
    assert service.client.patch(URL, {"tax_system": ""}, format="json").status_code == 403
    assert service.client.post(IMPORT_NOW).status_code == 403
    assert service.client.post(CREDENTIALS, {"login": "a", "password": "b"}).status_code == 403


def test_owner_and_admin_change_the_finance_settings_audited(owner: Tenant) -> None:
    account = _connected(owner)
    admin = make_tenant(Role.ADMIN, owner=owner.owner)

    response = admin.client.patch(
        URL,
        {
            "tax_system": "income_expense_15",
            "acquiring_percent": "2.35",
            "setup_date": "2025-06-01",
            "token_status": "invalid_creds",  # read-only: ignored
            "payment_status": "payment_required",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.tax_system == "income_expense_15"
    assert account.acquiring_percent == Decimal("2.35")
    assert account.setup_date == date(2025, 6, 1)
    assert account.token_status == TokenStatus.VALID
    assert account.payment_status == PaymentStatus.ACTIVE
    entry = AuditEntry.objects.get(action="vendista.settings_changed")
    assert entry.actor_user == admin.user and entry.owner_id == owner.owner.pk
    assert entry.summary["acquiring_percent"] == {"from": "0.00", "to": "2.35"}
    assert owner.client.patch(URL, {"tax_system": ""}, format="json").json()["tax_system"] == ""


def test_settings_can_be_saved_before_any_credentials(owner: Tenant) -> None:
    response = owner.client.patch(URL, {"acquiring_percent": "1.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["has_credentials"] is False
    assert VendistaAccount.objects.get(owner=owner.owner).acquiring_percent == Decimal("1.5")
    # ... and the schedules do not queue imports that could only be skipped.
    assert owner.owner.pk not in accounts.importable_owner_ids()
    _connected(make_tenant(Role.OWNER))
    assert len(accounts.importable_owner_ids()) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"acquiring_percent": "100.01"}, "acquiring_percent"),
        ({"acquiring_percent": "-0.01"}, "acquiring_percent"),
        ({"acquiring_percent": "1.234"}, "acquiring_percent"),
        ({"acquiring_percent": "много"}, "acquiring_percent"),
        ({"tax_system": "usn"}, "tax_system"),
        ({"setup_date": "2999-01-01"}, "setup_date"),
        ({"setup_date": "1999-12-31"}, "setup_date"),
        ({"setup_date": ""}, "setup_date"),
        ({"setup_date": None}, "setup_date"),  # bug 7: never wiped once credentials exist
        ({"setup_date": "01.11.2026"}, "setup_date"),
    ],
)
def test_bad_settings_answer_400_and_change_nothing(
    owner: Tenant, payload: dict[str, Any], field: str
) -> None:
    account = _connected(owner)
    response = owner.client.patch(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    account.refresh_from_db()
    assert account.setup_date == date(2026, 1, 1) and account.acquiring_percent == 0
    assert not AuditEntry.objects.filter(action="vendista.settings_changed").exists()


def test_setup_date_may_be_cleared_while_there_are_no_credentials(owner: Tenant) -> None:
    VendistaAccount.objects.create(owner=owner.owner, setup_date=date(2026, 1, 1))
    response = owner.client.patch(URL, {"setup_date": None}, format="json")
    assert response.status_code == 200 and response.json()["setup_date"] is None


def test_a_body_that_is_not_an_object_is_a_400(owner: Tenant) -> None:
    assert owner.client.patch(URL, [1, 2], format="json").status_code == 400
    assert owner.client.post(CREDENTIALS, [1, 2], format="json").status_code == 400


# --- credentials -----------------------------------------------------------------------------


def test_owner_connects_vendista_credentials_are_checked_stored_encrypted_and_imported(
    owner: Tenant,
    sandbox: VendistaSandbox,
    shop: SandboxAccount,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.client.post(
            CREDENTIALS,
            {"login": shop.login, "password": shop.password, "setup_date": SETUP},
            format="json",
        )

    assert response.status_code == 200, response.content
    account = VendistaAccount.objects.get(owner=owner.owner)
    _no_secrets(response.content, account)
    assert shop.login not in response.content.decode()
    body = response.json()
    assert body["has_credentials"] is True and body["setup_date"] == SETUP
    # Checked against Vendista's /token, and stored encrypted with the token it issued.
    assert [r.status for r in sandbox.request_log("/token")] == [200]
    assert shop.password not in account.password_encrypted
    assert crypto.decrypt(account.login_encrypted) == shop.login
    assert crypto.decrypt(account.password_encrypted) == shop.password
    token = crypto.decrypt(account.token_encrypted)
    assert token.startswith(f"tok-{shop.login}-") and token not in response.content.decode()
    assert account.token_status == TokenStatus.VALID
    # Audited without the secrets.
    entry = AuditEntry.objects.get(action="vendista.credentials_set")
    assert entry.actor_user == owner.user and entry.owner_id == owner.owner.pk
    assert shop.login not in str(entry.summary) and shop.password not in str(entry.summary)
    # A terminal sync and a historical import from the setup date, queued after commit.
    runs = ImportRun.objects.filter(owner=owner.owner).order_by("id")
    assert [(r.kind, r.mode, r.status) for r in runs] == [
        (RunKind.SYNC, ImportMode.REGULAR, RunStatus.QUEUED),
        (RunKind.IMPORT, ImportMode.HISTORICAL, RunStatus.QUEUED),
    ]
    assert runs[1].date_from == datetime.combine(date(2026, 11, 1), clock.min, MSK)
    assert all(run.requested_by == owner.user for run in runs)
    assert len(callbacks) == 2
    # The queued runs do what they say (run here instead of on a worker).
    for run in runs:
        assert vendista_runs.execute_run(run.pk).status == "succeeded"
    imported = Transaction.objects.filter(owner=owner.owner)
    assert imported.count() == len(shop.transactions)
    assert not imported.filter(deduction_state="deducted").exists()


def test_reentering_credentials_after_invalid_creds_makes_the_token_valid(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount
) -> None:
    account = _connected(owner)
    VendistaAccount.objects.filter(pk=account.pk).update(token_status=TokenStatus.INVALID_CREDS)

    response = owner.client.post(
        CREDENTIALS, {"login": shop.login, "password": shop.password}, format="json"
    )

    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.token_status == TokenStatus.VALID
    assert account.setup_date == date(2026, 1, 1)  # kept when not given
    assert crypto.decrypt(account.login_encrypted) == shop.login
    entry = AuditEntry.objects.get(action="vendista.credentials_set")
    assert entry.summary["replaced"] is True
    assert entry.summary["previous_token_status"] == "invalid_creds"


@pytest.mark.parametrize("not_found", [False, True])
def test_refused_credentials_are_a_field_error_and_nothing_is_stored(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount, not_found: bool
) -> None:
    sandbox.set_faults(not_found_for_bad_credentials=not_found)  # Vendista answers 404 too
    account = _connected(owner)

    response = owner.client.post(
        CREDENTIALS, {"login": shop.login, "password": "wrong"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert {"login", "password"} <= set(response.json())
    assert [r.status for r in sandbox.request_log("/token")] == [404 if not_found else 401]
    account.refresh_from_db()
    assert crypto.decrypt(account.password_encrypted) == "password-of-secret"
    assert not ImportRun.objects.exists()
    assert not AuditEntry.objects.filter(action="vendista.credentials_set").exists()


def test_vendista_answering_without_a_token_is_refused_credentials(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount
) -> None:
    sandbox.set_faults(token_soft_error="Неверный логин")
    response = owner.client.post(
        CREDENTIALS,
        {"login": shop.login, "password": shop.password, "setup_date": SETUP},
        format="json",
    )
    assert response.status_code == 400 and "password" in response.json()
    assert not VendistaAccount.objects.exists()


def test_unpaid_vendista_account_is_a_409_saying_so(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount
) -> None:
    sandbox.set_unpaid(shop.login)
    response = owner.client.post(
        CREDENTIALS,
        {"login": shop.login, "password": shop.password, "setup_date": SETUP},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "payment_required"
    assert not VendistaAccount.objects.exists()


def test_vendista_down_is_a_503_with_retry_after_and_nothing_is_stored(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount
) -> None:
    sandbox.fail_next("/token", status=503, times=5)
    response = owner.client.post(
        CREDENTIALS,
        {"login": shop.login, "password": shop.password, "setup_date": SETUP},
        format="json",
    )
    assert response.status_code == 503
    assert response.json()["code"] == "vendista_unavailable" and response["Retry-After"]
    assert 1 <= len(sandbox.request_log("/token")) <= 2  # a quick retry at most
    assert not VendistaAccount.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": "x", "setup_date": SETUP}, "login"),
        ({"login": "x", "setup_date": SETUP}, "password"),
        ({"login": "", "password": "x", "setup_date": SETUP}, "login"),
        ({"login": "x" * 256, "password": "x", "setup_date": SETUP}, "login"),
        ({"login": "x", "password": "x", "setup_date": "2999-01-01"}, "setup_date"),
        ({"login": "x", "password": "x", "setup_date": "never"}, "setup_date"),
        ({"login": "x", "password": "x"}, "setup_date"),  # no setup date stored yet
    ],
)
def test_bad_credentials_input_is_a_400_without_asking_vendista(
    owner: Tenant, sandbox: VendistaSandbox, payload: dict[str, str], field: str
) -> None:
    response = owner.client.post(CREDENTIALS, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert sandbox.request_log("/token") == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SERVICE])
def test_only_the_owner_may_write_credentials(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount, role: str
) -> None:
    other = make_tenant(role, owner=owner.owner)
    response = other.client.post(
        CREDENTIALS,
        {"login": shop.login, "password": shop.password, "setup_date": SETUP},
        format="json",
    )
    assert response.status_code == 403
    assert sandbox.request_log("/token") == [] and not VendistaAccount.objects.exists()


# --- import now ------------------------------------------------------------------------------


def test_import_now_queues_one_regular_import_and_then_returns_it(
    owner: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    _connected(owner)
    admin = make_tenant(Role.ADMIN, owner=owner.owner)

    with django_capture_on_commit_callbacks() as callbacks:
        first = admin.client.post(IMPORT_NOW)
        second = owner.client.post(IMPORT_NOW)

    assert first.status_code == second.status_code == 202, first.content
    assert first.json()["queued"] is True and second.json()["queued"] is False
    run = first.json()["run"]
    assert second.json()["run"]["id"] == run["id"]
    assert (run["kind"], run["mode"], run["status"], run["trigger"]) == (
        "import",
        "regular",
        "queued",
        "api",
    )
    stored = ImportRun.objects.get()
    assert stored.requested_by == admin.user
    assert stored.date_to is not None and stored.date_from is not None
    assert stored.date_to - stored.date_from == timedelta(hours=24)
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ({}, "no_credentials"),
        ({"payment_status": PaymentStatus.PAYMENT_REQUIRED}, "payment_required"),
        ({"token_status": TokenStatus.INVALID_CREDS}, "invalid_credentials"),
    ],
)
def test_import_now_is_a_409_when_the_owner_cannot_be_imported(
    owner: Tenant, state: dict[str, str], code: str
) -> None:
    if state:
        account = _connected(owner)
        VendistaAccount.objects.filter(pk=account.pk).update(**state)
    response = owner.client.post(IMPORT_NOW)
    assert response.status_code == 409
    assert response.json()["code"] == code
    assert not ImportRun.objects.exists()


def test_a_busy_rate_limit_is_a_quick_503_not_a_hanging_request(
    owner: Tenant, sandbox: VendistaSandbox, shop: SandboxAccount, vendista_settings: Any
) -> None:
    # Imports of this owner hold its Vendista rate limit (a token per 100 s here).
    vendista_settings.VENDISTA_RATE_PER_TOKEN = 0.01
    limiter = RateLimiter()
    limiter.acquire([Bucket(f"vendista:owner:{owner.owner.pk}", rate=0.01)])

    started = time.monotonic()
    response = owner.client.post(
        CREDENTIALS,
        {"login": shop.login, "password": shop.password, "setup_date": SETUP},
        format="json",
    )

    assert response.status_code == 503 and response.json()["code"] == "vendista_unavailable"
    assert time.monotonic() - started < 5
    assert sandbox.request_log("/token") == []
