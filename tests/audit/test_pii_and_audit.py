"""Masking of e-mails and phones, and audit rows storing only masked summaries."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from audit.services import record
from core.pii import mask_data, mask_email, mask_phone, mask_text


def test_mask_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("ivan.petrov@mail.ru") == "i***@mail.ru"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+7 916 123-45-67", "+7******4567"),
        ("89161234567", "8******4567"),
        ("8 (916) 123-45-67", "8******4567"),
        ("+44 20 7946 0958", "+44******0958"),
    ],
)
def test_mask_phone_keeps_prefix_and_last_four_digits(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_mask_text_leaves_vendista_ids_and_amounts_alone() -> None:
    text = "sale 2175711248 of 20000 kopecks for a@b.ru, +79161234567"
    assert mask_text(text) == "sale 2175711248 of 20000 kopecks for a***@b.ru, +7******4567"


def test_mask_data_walks_nested_structures() -> None:
    data = {"contacts": [{"email": "client@example.com"}, "+7 999 000-11-22"], "n": 5}
    assert mask_data(data) == {
        "contacts": [{"email": "c***@example.com"}, "+7******1122"],
        "n": 5,
    }


@pytest.mark.django_db
def test_audit_record_stores_masked_summary_and_object() -> None:
    from tenancy.models import Owner

    owner = Owner.objects.create(name="Кофе")
    entry = record(
        "owner.renamed",
        obj=owner,
        owner_id=owner.pk,
        summary={"by": "boss@example.com", "phone": "+79161234567"},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.object_type == "tenancy.owner"
    assert stored.object_id == str(owner.pk)
    assert stored.summary == {"by": "b***@example.com", "phone": "+7******4567"}
    assert stored.actor_kind == "system"
