"""Sandbox data: Vendista accounts, terminals and transactions, generated deterministically.

Plain Python (no Django) so the sandbox can run anywhere. Times are naive Europe/Moscow local
times, as Vendista sends them; amounts are kopecks; ids are 64-bit and above 2^31.
"""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core import clock
from core.clock import MOSCOW
from sandboxes.vendista.seasons import demand_factor, outage_days

DEMO_LOGIN = "demo-vendista"
DEMO_PASSWORD = "demo-vendista-2026"  # noqa: S105 - a public demo credential
DEMO_SEED = "demo"
DEMO_TERMINALS = 4
DEMO_DAYS = 30
DEMO_PER_DAY = 80
UNPAID_LOGIN = "demo-unpaid"
UNPAID_PASSWORD = "demo-unpaid-2026"  # noqa: S105 - a public demo credential
UNPAID_SEED = "demo-unpaid"

# Vendista transaction ids passed 2^31 in January 2026 (2 175 711 248 was seen then).
FIRST_TRANSACTION_ID = 2_175_700_000

_PLACES = (
    "БЦ Островского",
    "ТЦ Галерея",
    "Автомойка на Лесной",
    "Фитнес-клуб Пульс",
    "Вокзал Южный",
    "Университет, корпус 2",
    "Бизнес-парк Орбита",
    "Поликлиника №3",
    "Аэропорт, терминал B",
    "Коворкинг Точка",
)
# Sales per hour from 07:00 to 22:00: a morning peak, lunch, a quiet evening.
_HOUR_WEIGHTS = (3, 9, 10, 8, 6, 5, 8, 8, 6, 5, 5, 6, 5, 4, 3, 2)
_FIRST_HOUR = 7
_CARD_PREFIXES = ("220220", "220070", "427638", "553691", "220015", "489347")


def moscow_now() -> datetime:
    """The current naive Europe/Moscow local time (Vendista's own notation)."""
    return clock.moscow_now().replace(tzinfo=None)


def moscow_today() -> date:
    return moscow_now().date()


def format_time(moment: datetime) -> str:
    """Vendista's transaction time format: `YYYY-MM-DDTHH:MM:SS.fff`, naive."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}"


def parse_time(text: str) -> datetime:
    """A naive Moscow time from ISO text (`T` or space, optional fraction, optional offset)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(MOSCOW).replace(tzinfo=None)
    return moment


def window_key(text: str, *, upper: bool) -> str:
    """A comparable time key for a `DateFrom` (lower) or `DateTo` (upper, inclusive) bound.

    A date-only upper bound covers its whole day; an upper bound without a fraction covers its
    whole second, so `DateTo=...T23:59:59` includes a sale at 23:59:59.500.
    """
    moment = parse_time(text)
    value = text.strip()
    if not upper:
        return format_time(moment)
    if len(value) <= 10:  # date only
        return f"{moment:%Y-%m-%d}T23:59:59.999"
    if "." not in value[10:]:
        return f"{moment:%Y-%m-%dT%H:%M:%S}.999"
    return format_time(moment)


@dataclass(slots=True)
class SandboxTerminal:
    """One Vendista terminal (a coffee point) as `/terminals` describes it."""

    id: int
    comment: str
    serial_number: str
    last_online_time: datetime
    last_hour_online: int

    @property
    def online(self) -> bool:
        return self.last_hour_online > 0

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The API shape; with `now` (live accounts) an online terminal was seen moments ago."""
        seen = self.last_online_time
        if now is not None and self.online:
            seen = now - timedelta(seconds=self.id % 90)
        return {
            "id": self.id,
            "comment": self.comment,
            "serial_number": self.serial_number,
            "last_online_time": f"{seen:%Y-%m-%dT%H:%M:%S}",
            "last_hour_online": self.last_hour_online,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxTerminal:
        seen = data.get("last_online_time")
        return cls(
            id=int(data["id"]),
            comment=str(data.get("comment", "")),
            serial_number=str(data.get("serial_number", "")),
            last_online_time=parse_time(seen) if seen else moscow_now(),
            last_hour_online=int(data.get("last_hour_online", 60)),
        )


@dataclass(slots=True)
class SandboxTransaction:
    """One `/transactions` item. `time` is the canonical naive Moscow key used for ordering.

    `machine_item=None` omits the field (the API may leave it out); `time_text` serves a time
    string in another shape than the canonical one (e.g. with a space, or without a fraction).
    Whoever changes a field after the item was served calls `invalidate()`.
    """

    id: int
    term_id: int
    time: str
    sum: int
    result: int = 1
    reverse_id: int = 0
    machine_item: list[dict[str, Any]] | None = field(default_factory=list)
    terminal_comment: str = ""
    status: int = 0
    card_number: str = ""
    bonus: int = 0
    left_sum: int = 0
    left_bonus: int = 0
    time_text: str | None = None
    _json: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def is_sale(self) -> bool:
        """What the product counts as a sale: paid and not reversed."""
        return self.result == 1 and self.reverse_id == 0

    @property
    def machine_item_id(self) -> int | None:
        if not self.machine_item:
            return None
        value = self.machine_item[0].get("machine_item_id")
        return int(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "term_id": self.term_id,
            "sum": self.sum,
            "time": self.time_text or self.time,
            "result": self.result,
            "reverse_id": self.reverse_id,
            "status": self.status,
            "terminal_comment": self.terminal_comment,
            "card_number": self.card_number,
            "bonus": self.bonus,
            "left_sum": self.left_sum,
            "left_bonus": self.left_bonus,
        }
        if self.machine_item is not None:
            data["machine_item"] = self.machine_item
        return data

    def to_json(self) -> bytes:
        """The serialized item, cached: a 1000-item page is then one join."""
        if self._json is None:
            self._json = json.dumps(self.to_dict(), ensure_ascii=False).encode()
        return self._json

    def invalidate(self) -> None:
        self._json = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxTransaction:
        """An item from the API's field names; `time` may be in any ISO shape."""
        raw_time = str(data["time"])
        canonical = format_time(parse_time(raw_time))
        machine_item = data.get("machine_item", [])
        if "machine_item" not in data and data.get("machine_item_id") is not None:
            machine_item = [{"machine_item_id": int(data["machine_item_id"])}]
        return cls(
            id=int(data["id"]),
            term_id=int(data.get("term_id", 0)),
            time=canonical,
            sum=int(data.get("sum", 0)),
            result=int(data.get("result", 1)),
            reverse_id=int(data.get("reverse_id", 0)),
            machine_item=list(machine_item) if machine_item is not None else None,
            terminal_comment=str(data.get("terminal_comment", "")),
            status=int(data.get("status", 0)),
            card_number=str(data.get("card_number", "")),
            bonus=int(data.get("bonus", 0)),
            left_sum=int(data.get("left_sum", 0)),
            left_bonus=int(data.get("left_bonus", 0)),
            time_text=None if raw_time == canonical else raw_time,
        )


def _sort_key(item: SandboxTransaction) -> tuple[str, int]:
    return (item.time, item.id)


@dataclass
class SandboxAccount:
    """One Vendista account: credentials, payment state, terminals and transactions.

    `transactions` is kept sorted by (time, id); after changing the list directly call
    `reindex()`. `live=True` hides transactions later than the current Moscow time, so a demo
    account generated up to the end of today shows new sales as the clock moves on.
    """

    login: str
    password: str
    terminals: list[SandboxTerminal] = field(default_factory=list)
    transactions: list[SandboxTransaction] = field(default_factory=list)
    unpaid: bool = False
    live: bool = False
    tokens_issued: int = 0
    _keys: list[str] = field(default_factory=list, init=False, repr=False)
    _by_id: dict[int, SandboxTransaction] = field(default_factory=dict, init=False, repr=False)
    _last_id: int = field(default=FIRST_TRANSACTION_ID, init=False, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Re-sort the transactions and rebuild the lookups (after direct list changes)."""
        self.transactions.sort(key=_sort_key)
        self._keys = [item.time for item in self.transactions]
        self._by_id = {item.id: item for item in self.transactions}
        highest = max(
            (max(item.id, item.reverse_id) for item in self.transactions),
            default=FIRST_TRANSACTION_ID,
        )
        self._last_id = max(self._last_id, highest)

    def upsert_transactions(self, items: Iterable[SandboxTransaction]) -> int:
        """Add transactions, replacing any with the same id; returns how many were given."""
        fresh = {item.id: item for item in items}
        if not fresh:
            return 0
        kept = [item for item in self.transactions if item.id not in fresh]
        self.transactions = kept + list(fresh.values())
        self.reindex()
        return len(fresh)

    def replace_transactions(self, items: Iterable[SandboxTransaction]) -> int:
        self.transactions = list(items)
        self.reindex()
        return len(self.transactions)

    def transaction(self, tx_id: int) -> SandboxTransaction | None:
        return self._by_id.get(tx_id)

    def terminal(self, terminal_id: int) -> SandboxTerminal | None:
        return next((t for t in self.terminals if t.id == terminal_id), None)

    def next_id(self) -> int:
        """A fresh transaction id above every id the account holds or references."""
        self._last_id += 13
        return self._last_id

    def window(self, lower: str | None, upper: str | None) -> tuple[int, int]:
        """Index range [lo, hi) of transactions with lower <= time <= upper (keys inclusive)."""
        lo = bisect.bisect_left(self._keys, lower) if lower else 0
        hi = bisect.bisect_right(self._keys, upper) if upper else len(self._keys)
        if self.live:
            hi = min(hi, bisect.bisect_right(self._keys, format_time(moscow_now())))
        return lo, max(lo, hi)

    def summary(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "unpaid": self.unpaid,
            "live": self.live,
            "terminals": [t.id for t in self.terminals],
            "transactions": len(self.transactions),
            "first_time": self._keys[0] if self._keys else None,
            "last_time": self._keys[-1] if self._keys else None,
            "tokens_issued": self.tokens_issued,
        }


def _card_pool(rng: random.Random, size: int) -> list[str]:
    return [f"{rng.choice(_CARD_PREFIXES)}******{rng.randrange(10_000):04d}" for _ in range(size)]


def _make_terminals(rng: random.Random, count: int, end: date) -> list[SandboxTerminal]:
    places = list(_PLACES)
    rng.shuffle(places)
    ids = sorted(rng.sample(range(100_000, 1_000_000), count))
    terminals = []
    for index, terminal_id in enumerate(ids):
        place = places[index % len(places)]
        offline = count > 1 and index == count - 1
        if offline:
            # Went silent one or two days before the end of the generated window.
            seen = datetime.combine(end, datetime.min.time()) - timedelta(
                days=rng.randint(1, 2), minutes=rng.randrange(8 * 60, 20 * 60)
            )
        else:
            seen = datetime.combine(end, datetime.min.time()) + timedelta(
                hours=23, minutes=rng.randrange(50), seconds=rng.randrange(60)
            )
        terminals.append(
            SandboxTerminal(
                id=terminal_id,
                comment=f"{place} #{index + 1}",
                serial_number=f"VD{rng.randrange(10**8):08d}",
                last_online_time=seen,
                last_hour_online=0 if offline else rng.randint(40, 60),
            )
        )
    return terminals


def _window(days: int, start: date | None, end: date | None) -> tuple[date, date]:
    if start is not None and end is not None:
        if end < start:
            raise ValueError("end is before start")
        return start, end
    if start is not None:
        return start, start + timedelta(days=days - 1)
    last = end if end is not None else moscow_today()
    return last - timedelta(days=days - 1), last


def generate_account(
    login: str,
    password: str,
    *,
    seed: int | str,
    terminals: int = 3,
    days: int = 30,
    per_day: int = 60,
    machine_items: int = 8,
    start: date | None = None,
    end: date | None = None,
    unpaid: bool = False,
    live: bool = False,
    first_id: int = FIRST_TRANSACTION_ID,
    seasonal: bool = False,
) -> SandboxAccount:
    """A realistic account from `random.Random(seed)`: same arguments, same data.
    (Vendista's transaction ids are global: give accounts served together distinct `first_id`s.)

    `per_day` is the average number of transactions per day over the whole account (fewer at
    weekends). Among them: a few failed payments (`result` 0), free drinks (`sum` 0), payments not
    tied to a drink (`machine_item` []), and reversals in both shapes: a sale whose own
    `reverse_id` is set, and a separate refund row whose `reverse_id` names the sale.
    The last terminal (of two or more) is offline and has no sales after it went silent.
    `end` defaults to today (Moscow); the window is `days` long unless both ends are given.
    `seasonal` follows the weekday, seasonal and holiday patterns of `seasons` (and its whole-day
    outages) instead of the plain "fewer at weekends".
    """
    if terminals < 1 or machine_items < 1 or days < 1 or per_day < 0:
        raise ValueError("terminals, machine_items and days must be positive")
    rng = random.Random(f"vendista-sandbox:{seed}")  # noqa: S311 - fake data, not secrets
    first_day, last_day = _window(days, start, end)
    terms = _make_terminals(rng, terminals, last_day)
    term_weights = [rng.uniform(0.5, 1.5) for _ in terms]
    prices = {k: rng.randrange(8_000, 25_001, 500) for k in range(1, machine_items + 1)}
    item_weights = [rng.uniform(0.3, 3.0) for _ in prices]
    cards = _card_pool(rng, 120)
    outages = outage_days(seed, [t.id for t in terms], first_day, last_day) if seasonal else {}

    # (time, order, kind, payload): sales, refund rows and the hidden reversing operations of
    # flag-shaped reversals all take ids in time order, as Vendista's global ids do.
    events: list[tuple[datetime, int, str, Any]] = []
    sales: list[SandboxTransaction] = []
    day = first_day
    while day <= last_day:
        factor = demand_factor(day) if seasonal else (0.6 if day.weekday() >= 5 else 1.0)
        count = max(0, round(per_day * factor * rng.uniform(0.8, 1.2)))
        midnight = datetime.combine(day, datetime.min.time())
        hours = rng.choices(range(len(_HOUR_WEIGHTS)), weights=_HOUR_WEIGHTS, k=count)
        for hour in hours:
            moment = midnight + timedelta(
                hours=_FIRST_HOUR + hour,
                minutes=rng.randrange(60),
                seconds=rng.randrange(60),
                milliseconds=rng.randrange(1000),
            )
            terminal = rng.choices(terms, weights=term_weights)[0]
            if not terminal.online and moment > terminal.last_online_time:
                terminal = next((t for t in terms if t.online), terminal)
            if day in outages.get(terminal.id, ()):
                continue  # the terminal is offline all day: its customers go elsewhere
            item = _random_sale(rng, terminal, moment, prices, item_weights, cards)
            sales.append(item)
            events.append((moment, len(events), "row", item))
        day += timedelta(days=1)

    reversible = [s for s in sales if s.result == 1 and s.sum > 0]
    reversal_count = max(2, len(reversible) // 150) if len(reversible) >= 10 else 0
    for number, sale in enumerate(rng.sample(reversible, reversal_count)):
        when = parse_time(sale.time) + timedelta(minutes=rng.randint(1, 20))
        if number % 2 == 0:
            events.append((when, len(events), "flag", sale))
        else:
            refund = SandboxTransaction(
                id=0,
                term_id=sale.term_id,
                time=format_time(when),
                sum=sale.sum,
                machine_item=[dict(entry) for entry in sale.machine_item or []],
                terminal_comment=sale.terminal_comment,
                status=0,
                card_number=sale.card_number,
            )
            events.append((when, len(events), "refund", (refund, sale)))

    events.sort(key=lambda event: (event[0], event[1]))
    next_id = first_id + rng.randrange(10_000)
    rows: list[SandboxTransaction] = []
    pending: list[tuple[str, Any, int]] = []
    for _moment, _order, kind, payload in events:
        next_id += rng.randint(3, 90)
        if kind == "row":
            payload.id = next_id
            rows.append(payload)
        else:
            pending.append((kind, payload, next_id))
    for kind, payload, op_id in pending:
        if kind == "flag":
            payload.reverse_id = op_id
        else:
            refund, sale = payload
            refund.id = op_id
            refund.reverse_id = sale.id
            rows.append(refund)
    return SandboxAccount(
        login=login,
        password=password,
        terminals=terms,
        transactions=rows,
        unpaid=unpaid,
        live=live,
    )


def _random_sale(
    rng: random.Random,
    terminal: SandboxTerminal,
    moment: datetime,
    prices: dict[int, int],
    item_weights: list[float],
    cards: list[str],
) -> SandboxTransaction:
    roll = rng.random()
    if roll < 0.02:
        # A payment not tied to a drink button (e.g. an amount typed on the terminal).
        machine_item: list[dict[str, Any]] = []
        amount = rng.randrange(5_000, 30_001, 1_000)
    else:
        k = rng.choices(list(prices), weights=item_weights)[0]
        machine_item = [{"machine_item_id": k}]
        amount = 0 if roll > 0.99 else prices[k]
    failed = rng.random() < 0.03
    with_bonus = not failed and amount > 0 and rng.random() < 0.05
    return SandboxTransaction(
        id=0,
        term_id=terminal.id,
        time=format_time(moment),
        sum=amount,
        result=0 if failed else 1,
        machine_item=machine_item,
        terminal_comment=terminal.comment,
        status=2 if failed else 0,
        card_number=rng.choice(cards),
        bonus=amount // 20 if with_bonus else 0,
        left_bonus=rng.randrange(0, 50_000, 100) if with_bonus else 0,
    )


def generate_bulk_transactions(
    account: SandboxAccount,
    count: int = 50_000,
    day: date | None = None,
    *,
    seed: int | str | None = None,
) -> list[SandboxTransaction]:
    """Append `count` plain sales on one day (07:00-23:00) to `account` and return them.

    Built for benchmarks: 50,000 rows take a fraction of a second. Ids continue above every id
    the account holds; `day` defaults to the day of the account's last transaction (or today).
    """
    if not account.terminals:
        raise ValueError(f"account {account.login!r} has no terminals")
    if day is None:
        day = parse_time(account.transactions[-1].time).date() if account.transactions else None
        day = day or moscow_today()
    salt = seed if seed is not None else account.login
    rng = random.Random(f"vendista-sandbox-bulk:{salt}")  # noqa: S311 - fake data, not secrets
    prefix = f"{day:%Y-%m-%d}T"
    first_ms, last_ms = 7 * 3_600_000, 23 * 3_600_000
    stamps = sorted(rng.randrange(first_ms, last_ms) for _ in range(count))
    terminals = account.terminals
    menu = [[{"machine_item_id": k}] for k in range(1, 9)]
    prices = [9_000, 12_000, 13_500, 15_000, 16_000, 18_000, 19_500, 22_000]
    cards = _card_pool(rng, 200)
    randrange = rng.randrange
    next_id = account.next_id()
    rows = []
    for stamp in stamps:
        seconds, millis = divmod(stamp, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        terminal = terminals[randrange(len(terminals))]
        k = randrange(8)
        next_id += 1 + randrange(40)
        rows.append(
            SandboxTransaction(
                id=next_id,
                term_id=terminal.id,
                time=f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}",
                sum=prices[k],
                machine_item=menu[k],
                terminal_comment=terminal.comment,
                card_number=cards[randrange(200)],
            )
        )
    account.transactions.extend(rows)
    account.reindex()
    return rows


def demo_accounts(*, today: date | None = None) -> list[SandboxAccount]:
    """The demo accounts: a live paying one and an unpaid one (402)."""
    end = today or moscow_today()
    return [
        generate_account(
            DEMO_LOGIN,
            DEMO_PASSWORD,
            seed=DEMO_SEED,
            terminals=DEMO_TERMINALS,
            days=DEMO_DAYS,
            per_day=DEMO_PER_DAY,
            end=end,
            live=today is None,
        ),
        generate_account(
            UNPAID_LOGIN,
            UNPAID_PASSWORD,
            seed=UNPAID_SEED,
            terminals=2,
            days=7,
            per_day=30,
            end=end,
            unpaid=True,
        ),
    ]
