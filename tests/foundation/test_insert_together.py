"""core.db.insert.insert_together: rows as the ORM writes them, in one statement, all or none."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import signals
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from audit.services import Actor
from core.db.insert import insert_together
from kiosk.models import Kiosk, Session
from tenancy.models import Owner

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit: the statement is the unit


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk.objects.create(owner=Owner.objects.create(name="Вставка"), name="k1")


def _session(kiosk: Kiosk, **fields: Any) -> Session:
    values: dict[str, Any] = {
        "kiosk": kiosk,
        "type": "diagnostics",
        "contact_email": "ivan@mail.ru",
        "metadata": {"lang": "ru", "вложено": [1, {"a": None}]},
        "ttl_ms": 60_000,
        "expires_at": "2026-12-04T12:00:00+00:00",
        **fields,
    }
    return Session(**values)


def _audit(kiosk: Kiosk, session: Session) -> AuditEntry:
    return Actor.for_kiosk(kiosk).entry(
        "session.created", owner_id=kiosk.owner_id, obj=session, summary={"phone": "+79161234567"}
    )


def _stored(obj: Any) -> dict[str, Any]:
    row = type(obj).objects.get(pk=obj.pk)
    return {k: v for k, v in model_to_dict(row).items() if k not in ("id", "created_at")}


def test_the_rows_are_the_ones_the_orm_writes_in_one_statement(kiosk: Kiosk) -> None:
    by_orm = _session(kiosk)
    by_orm.save()
    together = _session(kiosk)
    entry = _audit(kiosk, together)
    with CaptureQueriesContext(connection) as queries:
        insert_together(together, entry)
    assert len(queries.captured_queries) == 1, queries.captured_queries
    assert queries.captured_queries[0]["sql"].startswith("WITH r0 AS (INSERT INTO")
    assert not together._state.adding
    stored = Session.objects.get(pk=together.pk)
    assert _stored(together) == _stored(by_orm)
    assert stored.created_at is not None and stored.updated_at is not None  # auto_now filled
    audit = AuditEntry.objects.get(object_id=str(together.pk))
    assert audit.action == "session.created" and audit.actor_kind == "kiosk"
    assert audit.summary == {"phone": "+7******4567"}  # masked by the entry, as record() does


def test_a_failing_row_leaves_none_of_them(kiosk: Kiosk) -> None:
    existing = _session(kiosk)
    existing.save()
    clash = _session(kiosk, id=existing.pk)  # the primary key is taken
    fresh = _session(kiosk)
    before = AuditEntry.objects.count()
    with pytest.raises(IntegrityError):
        insert_together(_audit(kiosk, fresh), fresh, clash)
    assert AuditEntry.objects.count() == before
    assert not Session.objects.filter(pk=fresh.pk).exists()
    assert Session.objects.count() == 1


def test_a_model_with_a_save_receiver_goes_through_the_orm(kiosk: Kiosk) -> None:
    heard: list[Any] = []

    def receiver(sender: type[Session], instance: Session, created: bool, **_: Any) -> None:
        heard.append((instance.pk, created))

    signals.post_save.connect(receiver, sender=Session)
    try:
        session = _session(kiosk)
        insert_together(session, _audit(kiosk, session))
    finally:
        signals.post_save.disconnect(receiver, sender=Session)
    assert heard == [(session.pk, True)]
    assert AuditEntry.objects.filter(object_id=str(session.pk)).count() == 1
