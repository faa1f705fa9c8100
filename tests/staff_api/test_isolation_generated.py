"""Tenant isolation, generated from the OpenAPI schema: every operation is called

1. by a user of another owner — on the victim's objects (path ids) and with the victim's ids in
   its request example (terminals, assignees …) — and answers 401/403/404 or, where it acts on the
   caller's own data, leaks nothing and changes nothing of the victim's;
2. by that user naming the victim in `X-Owner-Id` — and is refused;
3. by a `service` member of the victim where the view's roles leave service out — and gets 403.

A new endpoint is covered as soon as it is in the schema. After each operation the victim's rows
(every model that leads to an owner) must be exactly as before.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import deque
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from kiosk.models import Session
from payments.models import PaymentIntent
from reports.models import Report
from tenancy.models import Owner, Role
from tenancy.permissions import ActsForOwner, roles_allowed
from tests.helpers.api_schema import acts_for_owner, operations, view_of
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.kiosk import make_kiosk, paid_session
from tests.helpers.tenancy import Tenant, make_tenant
from vendista.models import ImportRun

pytestmark = pytest.mark.django_db

MARKER = "ЖЕРТВА-7f3a"
REFUSED = {401, 403, 404}
# Keys of request examples that carry ids of the caller's own objects.
TERMINAL_KEYS = {"terminal", "source_terminal", "destinations", "destination_terminals", "route"}
# Keys that carry ids of machine containers.
CONTAINER_KEYS = {"inventory"}
USER_KEYS = {"assignee", "restock_assignee"}
# Rows the victim's data may gain from someone else's request: none. Audit and delivery logs
# record attempts and are not the victim's data.
NOT_TENANT_DATA = {"audit.auditentry"}


OPERATIONS = operations()


def owner_lookup(model: type[models.Model], depth: int = 4) -> str | None:
    """The ORM path from `model` to its Owner (breadth first over foreign keys), if any."""
    queue: deque[tuple[type[models.Model], str]] = deque([(model, "")])
    seen = {model}
    while queue:
        current, prefix = queue.popleft()
        for field in current._meta.get_fields():
            if not isinstance(field, models.ForeignKey | models.OneToOneField):
                continue
            if field.auto_created and not field.concrete:
                continue
            target = field.related_model
            lookup = f"{prefix}{field.name}"
            if target is Owner:
                return lookup
            if target not in seen and lookup.count("__") < depth - 1:
                seen.add(target)
                queue.append((target, f"{lookup}__"))
    return None


def victim_snapshot(owner: Owner) -> str:
    """A digest of every row of every model that leads to `owner`."""
    digest = hashlib.sha256()
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
        if model._meta.label_lower in NOT_TENANT_DATA:
            continue
        lookup = "pk" if model is Owner else owner_lookup(model)
        if lookup is None:
            continue
        rows = model._default_manager.filter(**{lookup: owner.pk}).order_by("pk").values()
        digest.update(model._meta.label_lower.encode())
        digest.update(json.dumps(list(rows), default=str, sort_keys=True).encode())
    return digest.hexdigest()


class Victim:
    """An owner with coffee points and a kiosk, an owner user and a service user."""

    def __init__(self) -> None:
        self.boss = make_tenant(Role.OWNER)
        self.service = make_tenant(Role.SERVICE, owner=self.boss.owner)
        self.shop = seed_shop(self.boss.owner, marker=MARKER, assignee=self.service.user)
        ImportRun.objects.create(owner=self.boss.owner, kind="import", trigger="test")
        kiosk = make_kiosk(owner=self.boss.owner)
        kiosk.kiosk.name = f"{MARKER} киоск"
        kiosk.kiosk.save(update_fields=["name"])
        self.session = paid_session(kiosk, "diagnostics", email="victim@example.com")
        self.intent = PaymentIntent.objects.get(session=self.session)
        self.report = Report.objects.create(session=self.session, kind="diagnostics", data={})
        Session.objects.filter(pk=self.session.pk).update(
            expires_at=timezone.now() + timedelta(hours=1)
        )

    @property
    def owner(self) -> Owner:
        return self.boss.owner

    def object_for(self, model: type[models.Model] | None, path: str) -> Any:
        """One of the victim's rows that the operation's path id can name."""
        if "/payments/" in path:
            return self.intent.pk
        if "/reports/session/" in path or "/sessions/" in path:
            return self.session.pk
        if "/reports/" in path:
            return self.report.pk
        if model is None:
            return None
        lookup = "pk" if model is Owner else owner_lookup(model)
        if lookup is None:
            return None
        row = model._default_manager.filter(**{lookup: self.owner.pk}).order_by("pk").first()
        return None if row is None else row.pk

    def with_my_ids(self, example: Any) -> Any:
        """The request example with every id reference pointing at the victim's rows."""
        terminal = self.shop.terminals[0].pk
        if isinstance(example, dict):
            result = {}
            for key, value in example.items():
                if key in TERMINAL_KEYS:
                    result[key] = [terminal] if isinstance(value, list) else terminal
                elif key in USER_KEYS:
                    result[key] = self.service.user.pk
                elif key in CONTAINER_KEYS:
                    result[key] = self.shop.objects["audits"][0].inventory_id
                else:
                    result[key] = self.with_my_ids(value)
            return result
        if isinstance(example, list):
            return [self.with_my_ids(item) for item in example]
        return example


def build(path: str, method: str, operation: dict[str, Any], victim: Victim) -> tuple[str, Any]:
    view_cls, _actions = view_of(path)
    model = None
    queryset = getattr(view_cls, "queryset", None)
    if queryset is not None:
        model = queryset.model
    url = path
    if "{id}" in path or "{pk}" in path:
        pk = victim.object_for(model, path)
        assert pk is not None, f"{method} {path}: the victim has no row to aim at ({model})"
        url = path.replace("{id}", str(pk)).replace("{pk}", str(pk))
    body = None
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = content.get("examples") or {}
    if examples:
        body = victim.with_my_ids(copy.deepcopy(next(iter(examples.values()))["value"]))
    elif method in ("POST", "PUT", "PATCH"):
        body = {}
    return url, body


def call(tenant: Tenant, method: str, url: str, body: Any, **headers: Any) -> Any:
    return tenant.client.generic(
        method,
        url,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        **headers,
    )


def _id(operation: tuple[str, str, dict[str, Any]]) -> str:
    return f"{operation[1]} {operation[0]}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[_id(op) for op in OPERATIONS])
def test_another_owner_never_sees_or_changes_the_victims_data(operation, redis_client):
    path, method, spec = operation
    attacker = make_tenant(Role.OWNER)
    seed_shop(attacker.owner, marker="Чужак")
    is_collection_read = method == "GET" and "{" not in path
    if is_collection_read:
        before = call(attacker, method, path, None)
    victim = Victim()
    url, body = build(path, method, spec, victim)
    if method == "GET" and "{" in path:
        # the id is real: the victim's owner reads it (else the refusal below proves nothing)
        own = call(victim.boss, method, url, None)
        assert own.status_code == 200, (url, own.status_code, own.content[:300])
    snapshot = victim_snapshot(victim.owner)

    response = call(attacker, method, url, body)
    text = response.content.decode("utf-8", "replace")
    assert MARKER not in text, f"{method} {url} showed the victim's data: {text[:300]}"
    if "{" in path:
        assert response.status_code in REFUSED, (method, url, response.status_code, text[:300])
    else:
        assert response.status_code < 500, (method, url, response.status_code, text[:300])
    if is_collection_read and response.status_code == 200:
        assert response.json() == before.json(), f"{url} answers differently once the victim exists"

    claimed = call(attacker, method, url, body, HTTP_X_OWNER_ID=str(victim.owner.pk))
    assert claimed.status_code in REFUSED or not acts_for_owner(path), (
        method,
        url,
        claimed.status_code,
    )
    assert MARKER not in claimed.content.decode("utf-8", "replace")
    assert victim_snapshot(victim.owner) == snapshot, f"{method} {url} changed the victim's data"


SERVICE_FORBIDDEN: list[tuple[str, str, dict[str, Any]]] = []
for _op in OPERATIONS:
    _cls, _actions = view_of(_op[0])
    if ActsForOwner not in tuple(getattr(_cls, "permission_classes", ())):
        continue
    _view = _cls()
    _view.action = (_actions or {}).get(_op[1].lower())
    if Role.SERVICE not in roles_allowed(_view, _op[1]):
        SERVICE_FORBIDDEN.append(_op)


# What service staff may not do (domain.md §7-§9, §14 with the decisions in the README): they
# read terminals, stock, recipes and tasks, move stock and complete their tasks; configuring,
# the warehouse, the change log, people and money are for owners and admins. The roles the views
# declare must say exactly this.
SERVICE_MAY_NOT = {
    "GET /api/inventory-changes/",
    "GET /api/inventory-changes/{id}/",
    "POST /api/inventory/warehouse/adjust/",
    "POST /api/inventory/warehouse/stock-up/",
    "GET /api/members/",
    "GET /api/members/{id}/",
    "POST /api/recipe-presets/",
    "PUT /api/recipe-presets/{id}/",
    "PATCH /api/recipe-presets/{id}/",
    "DELETE /api/recipe-presets/{id}/",
    "POST /api/recipes/",
    "POST /api/recipes/copy/",
    "PUT /api/recipes/{id}/",
    "PATCH /api/recipes/{id}/",
    "DELETE /api/recipes/{id}/",
    "PUT /api/task-settings/{id}/",
    "PATCH /api/task-settings/{id}/",
    "POST /api/tasks/",
    "POST /api/tasks/{id}/cancel/",
    "PUT /api/terminals/{id}/containers/",
    "POST /api/terminals/{id}/copy-containers/",
    # Money and the Vendista connection (transactions, finance, expenses, imports).
    "GET /api/transactions/",
    "GET /api/transactions/{id}/",
    "GET /api/finance/summary/",
    "GET /api/finance/terminals/",
    "GET /api/finance/drinks/",
    "GET /api/expenses/",
    "POST /api/expenses/",
    "GET /api/expenses/{id}/",
    "PUT /api/expenses/{id}/",
    "PATCH /api/expenses/{id}/",
    "DELETE /api/expenses/{id}/",
    "GET /api/import-runs/",
    "GET /api/import-runs/{id}/",
    "GET /api/vendista/connection/",
    "PATCH /api/vendista/connection/",
    "POST /api/vendista/connection/credentials/",
    "POST /api/vendista/connection/import-now/",
    # The bot's alert settings (owners and admins hear the alerts).
    "GET /api/alert-settings/",
    "PATCH /api/alert-settings/",
    # Planning: service staff read forecasts and settings, plan pick lists and record audits;
    # the settings and the shrinkage report (people's losses) are for owners and admins.
    "PATCH /api/planning-settings/",
    "GET /api/stock-audits/shrinkage/",
}


def test_the_roles_views_declare_match_what_the_spec_forbids_service_staff():
    assert {_id(op) for op in SERVICE_FORBIDDEN} == SERVICE_MAY_NOT


@pytest.mark.parametrize("operation", SERVICE_FORBIDDEN, ids=[_id(op) for op in SERVICE_FORBIDDEN])
def test_service_staff_are_refused_where_their_role_is_not_allowed(operation, redis_client):
    path, method, spec = operation
    victim = Victim()
    url, body = build(path, method, spec, victim)
    snapshot = victim_snapshot(victim.owner)
    response = call(victim.service, method, url, body)
    assert response.status_code == 403, (method, url, response.status_code, response.content[:300])
    assert victim_snapshot(victim.owner) == snapshot
