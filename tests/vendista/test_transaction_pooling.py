"""Behind a transaction pooler (PgBouncer `pool_mode = transaction`) consecutive transactions of
one process may use different server connections: an import must leave no session setting on the
connection it used, or the next client of that connection inherits it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from tests.vendista.coffee import configure, connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista.models import ImportRun, RunStatus, Transaction
from vendista.services import runs

pytestmark = pytest.mark.django_db(transaction=True)


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def test_page_commits_skip_the_flush_only_inside_their_own_transaction(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    seen: list[str] = []

    def between_pages(run: ImportRun) -> None:
        seen.append(synchronous_commit())

    summary = runs.run_now(
        owner.pk,
        window=window(LAST_DAY - timedelta(days=2), LAST_DAY),
        trigger="command",
        progress=between_pages,
    )

    assert summary.status == RunStatus.SUCCEEDED and summary.pages == len(seen) > 1
    # Between page transactions (where a pooler may hand the connection to someone else) the
    # session is as it was: the setting was `SET LOCAL` inside each page's transaction.
    assert seen == ["on"] * len(seen)
    assert synchronous_commit() == "on"
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)
