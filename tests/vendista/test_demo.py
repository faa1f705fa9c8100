"""The demo: seed_demo connects the demo owner to the sandbox's demo account, and its queued
runs import and deduct like any owner's."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from inventory.models import Recipe
from sandboxes.vendista import VendistaSandbox
from tasks_app.models import TerminalAssignment
from tenancy.demo import DEMO_OWNER_NAME
from tenancy.models import Owner
from vendista.models import Expense, ImportRun, RunStatus, Terminal, Transaction
from vendista.services import runs

pytestmark = pytest.mark.django_db


@pytest.mark.wall_clock
def test_demo_owner_imports_from_the_sandbox(vendista_settings):
    with VendistaSandbox.with_demo_accounts() as server:
        vendista_settings.VENDISTA_API_URL = server.url
        call_command("seed_demo", stdout=StringIO())
        owner = Owner.objects.get(name=DEMO_OWNER_NAME)
        assert Terminal.objects.filter(owner=owner).count() == 4
        assert Recipe.objects.filter(terminal__owner=owner).count() == 4 * 7
        assert (
            TerminalAssignment.objects.filter(restock_assignee__username="demo-service").count()
            == 4
        )

        queued = list(ImportRun.objects.filter(owner=owner, status=RunStatus.QUEUED).order_by("id"))
        assert [(run.kind, run.mode) for run in queued] == [
            ("import", "historical"),
            ("import", "regular"),
            ("sync", "regular"),
        ]
        for run in queued:
            assert runs.execute_run(run.pk).status == RunStatus.SUCCEEDED

    states = set(Transaction.objects.filter(owner=owner).values_list("deduction_state", flat=True))
    assert {"historical", "deducted", "needs_recipe"} <= states
    # Re-seeding keeps one connection, terminals and recipes.
    call_command("seed_demo", stdout=StringIO())
    assert Terminal.objects.filter(owner=owner).count() == 4
    assert Recipe.objects.filter(terminal__owner=owner).count() == 4 * 7
    assert Expense.objects.filter(owner=owner).count() == 2  # seeded once, not twice
