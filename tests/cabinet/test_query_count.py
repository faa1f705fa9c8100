"""The dashboard and the main changelists cost the same number of queries for an owner with 5
terminals and with 50."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inventory.services import create_default_containers
from tasks_app.models import Task, TaskType
from tenancy.models import Role
from tests.helpers.tenancy import make_tenant
from vendista.models import Terminal, Transaction

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/",
    "/admin/vendista/terminal/",
    "/admin/inventory/inventory/",
    "/admin/tasks_app/task/",
    "/admin/vendista/transaction/",
    "/admin/inventory/recipe/",
]


def owner_with(terminals: int) -> Client:
    tenant = make_tenant(Role.OWNER)
    created = Terminal.objects.bulk_create(
        Terminal(owner=tenant.owner, vendista_id=9000 + n, name=f"T{n}") for n in range(terminals)
    )
    create_default_containers(tenant.owner.pk, [t.pk for t in created])
    Task.objects.bulk_create(
        Task(owner=tenant.owner, terminal=t, task_type=TaskType.RESTOCK) for t in created
    )
    Transaction.objects.bulk_create(
        Transaction(
            id=10_000 * terminals + n,
            owner=tenant.owner,
            terminal=t,
            machine_item_id=8,
            amount=100,
            result="1",
            time="2026-11-30T10:00:00Z",
            deduction_state="needs_recipe",
        )
        for n, t in enumerate(created)
    )
    client = Client()
    client.force_login(tenant.user)
    return client


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


@pytest.mark.parametrize("url", PAGES)
def test_query_count_does_not_grow_with_terminals(url: str) -> None:
    small, large = owner_with(5), owner_with(50)
    assert queries(small, url) == queries(large, url)
