"""Quick expenses typed into the bot: "500 аренда", "1 200,50 ремонт кофемолки".

A typed expense is recorded at once and answered with an undo button; one that repeats an
expense the same person entered less than a minute ago is held as a draft until they confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from phone.models import ExpenseDraft
from vendista.models import Expense

MAX_AMOUNT = Decimal("9999999999.99")
DUPLICATE_WINDOW = timedelta(minutes=1)
# An amount (digits, spaces as thousands separators, comma or dot decimals), then the comment.
_EXPENSE = re.compile(
    r"^\s*(?P<amount>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
    r"(?:\s*(?:₽|руб\.?|р\.?))?\s+(?P<comment>\S.*)$",
    re.DOTALL,
)


@dataclass(frozen=True)
class TypedExpense:
    amount: Decimal
    comment: str


def parse_expense(text: str) -> TypedExpense | None:
    """The amount and comment of a typed expense, or None when the text is not one."""
    match = _EXPENSE.match(text or "")
    if match is None:
        return None
    raw = re.sub(r"[ \u00a0\u202f]", "", match["amount"]).replace(",", ".")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    if amount <= 0 or amount > MAX_AMOUNT:
        return None
    return TypedExpense(
        amount=amount.quantize(Decimal("0.01")), comment=match["comment"].strip()[:1000]
    )


@dataclass(frozen=True)
class ExpenseOutcome:
    expense: Expense | None = None
    draft: ExpenseDraft | None = None


def record_expense(owner_id: int, user_id: int, typed: TypedExpense) -> ExpenseOutcome:
    """Record the expense now, or hold it as a draft when the same person entered the same
    amount and comment within the last minute. Not idempotent: each call is one message."""
    now = timezone.now()
    with transaction.atomic():
        repeated = Expense.objects.filter(
            owner_id=owner_id,
            created_by_id=user_id,
            amount=typed.amount,
            comment=typed.comment,
            created_at__gte=now - DUPLICATE_WINDOW,
        ).exists()
        if repeated:
            draft = ExpenseDraft.objects.create(
                owner_id=owner_id, user_id=user_id, amount=typed.amount, comment=typed.comment
            )
            return ExpenseOutcome(draft=draft)
        expense = Expense.objects.create(
            owner_id=owner_id,
            amount=typed.amount,
            comment=typed.comment,
            spent_at=now,
            created_by_id=user_id,
        )
    return ExpenseOutcome(expense=expense)


def decide_draft(draft_id: int, *, owner_id: int, user_id: int, record: bool) -> Expense | None:
    """The person answered about a held duplicate: record it (once) or drop it. A second answer
    finds the draft decided and does nothing."""
    with transaction.atomic():
        claimed = ExpenseDraft.objects.filter(
            pk=draft_id, owner_id=owner_id, user_id=user_id, decided_at__isnull=True
        ).update(decided_at=timezone.now())
        if not claimed or not record:
            return None
        draft = ExpenseDraft.objects.get(pk=draft_id)
        return Expense.objects.create(
            owner_id=owner_id,
            amount=draft.amount,
            comment=draft.comment,
            spent_at=timezone.now(),
            created_by_id=user_id,
        )


def undo_expense(expense_id: int, *, owner_id: int) -> Expense | None:
    """Delete an expense of this owner entered through the bot; None when it is gone already."""
    expense = Expense.objects.filter(pk=expense_id, owner_id=owner_id).first()
    if expense is None:
        return None
    expense.delete()
    return expense
