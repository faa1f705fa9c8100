"""The chaos run's workload: what it seeds, the units it drives, what it reads back.

The outcome must not depend on timing, so the workload is fixed by the seed: each coffee owner's
Vendista sandbox account holds a fixed set of past transactions (days long before today, so no
beat window reaches them), imported window by window in a fixed order (the next window is queued
once the previous run has finished); a fixed set of kiosk sessions is paid (report and its
e-mail/SMS), paid after being cancelled (refunded) or abandoned; the stock digest is asked for once
the imports are done. Everything is read back from PostgreSQL and the sandboxes' logs.

Every step of a unit is safe to retry: before creating anything it looks for what an earlier,
interrupted attempt may have committed (a session carries its key in its metadata, an import run
its trigger), so a fault that breaks the harness's own request never changes the workload.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import requests

OWNER_PASSWORD = "chaos-vendista-pw"
KIOSK_OWNER = "Chaos: автосервис"
ADMIN_CHAT = "-100999"
RETRY_PAUSE_S = 5.0
WINDOW_WAIT_S = 150.0  # an owner's next window is queued anyway once its run is stuck this long
DIGEST_HEADER = "📊 <b>Изменения остатков"
PSP_EVENTS = {
    "succeeded": "payment.succeeded",
    "waiting_for_capture": "payment.waiting_for_capture",
}
DIAGNOSTICS = {
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "vin": "JTNB11HK103456789",
    "dtc_codes": [{"code": "P0420", "description": "Катализатор", "severity": "medium"}],
    "scan_duration_ms": 42000,
}
THICKNESS = {
    "vehicle_make": "Lada",
    "vehicle_model": "Vesta",
    "readings": [{"panel": "hood", "thickness_um": 118}, {"panel": "roof", "thickness_um": 520}],
}


@dataclass
class Plan:
    """What the seed fixes: owners, their days and windows, the sessions, and when each starts."""

    seed: int
    owners: int
    days: int
    per_day: int
    sessions: int
    span_s: float
    first_day: date = field(init=False)
    windows: list[list[tuple[date, date]]] = field(default_factory=list)
    import_offsets: list[float] = field(default_factory=list)
    session_kinds: list[tuple[str, str]] = field(default_factory=list)
    session_offsets: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(f"chaos-workload:{self.seed}")
        self.first_day = date.today() - timedelta(days=10 + self.days)
        for _ in range(self.owners):
            days = [self.first_day + timedelta(days=n) for n in range(self.days)]
            windows = [(day, day) for day in days]
            # One re-import over already imported days: must change nothing.
            start = rng.randrange(0, max(1, self.days - 1))
            windows.append((days[start], days[min(start + 1, self.days - 1)]))
            self.windows.append(windows)
            self.import_offsets.append(rng.uniform(0, self.span_s * 0.15))
        for n in range(self.sessions):
            # One of each kind first, so even a short run has a refund and an abandoned session.
            kinds = ["paid", "refund", "abandoned"]
            kind = kinds[n] if n < len(kinds) else rng.choices(kinds, weights=[7, 2, 1])[0]
            self.session_kinds.append((kind, rng.choice(["diagnostics", "thickness"])))
            self.session_offsets.append(rng.uniform(0, self.span_s * 0.8))
        self.window_gap = self.span_s * 0.8 / max(1, self.days + 1)

    def login(self, n: int) -> str:
        return f"chaos-{self.seed}-{n}"

    def owner_name(self, n: int) -> str:
        return f"Chaos: кофе {n}"


# --- Seeding -------------------------------------------------------------------------------------


def seed_sandbox(plan: Plan, vendista_url: str) -> None:
    """Give the Vendista sandbox one fixed account per coffee owner."""
    last = plan.first_day + timedelta(days=plan.days - 1)
    for n in range(plan.owners):
        body = {
            "login": plan.login(n),
            "password": OWNER_PASSWORD,
            "seed": f"chaos-{plan.seed}-{n}",
            "terminals": 3,
            "per_day": plan.per_day,
            "machine_items": 8,
            "start": plan.first_day.isoformat(),
            "end": last.isoformat(),
            # Vendista's ids are global: each account its own range, so no sale is two owners'.
            "first_id": 2_175_700_000 + n * 1_000_000,
        }
        response = requests.post(f"{vendista_url}/_sandbox/accounts", json=body, timeout=10)
        response.raise_for_status()


def seed_database(plan: Plan, vendista_url: str) -> dict[str, Any]:
    """Owners, people with Telegram chats, Vendista connections, terminals, recipes, stock;
    the kiosk owner and its kiosks. Returns the kiosks' tokens."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from inventory.models import Inventory, Location
    from inventory.reference import recipe_presets
    from kiosk.models import Kiosk
    from notifications.models import NotificationSettings, TelegramChat
    from phone.models import AlertSettings
    from tasks_app.models import TerminalAssignment
    from tenancy.models import Membership, Owner, Role
    from vendista.client import VendistaTerminal
    from vendista.models import Terminal, VendistaAccount
    from vendista.services import accounts, sync

    users = get_user_model()
    presets = recipe_presets()
    with transaction.atomic():
        for n in range(plan.owners):
            owner = Owner.objects.create(name=plan.owner_name(n))
            NotificationSettings.objects.create(owner=owner, digest_include_sales=True)
            # The bot's offline / no-sales alerts depend on the wall clock (a 5-minute check in
            # business hours), not on the workload: they are off, so both runs can compare.
            AlertSettings.objects.create(owner=owner, enabled=False)
            for role, chat in ((Role.OWNER, 7000 + 10 * n), (Role.SERVICE, 7001 + 10 * n)):
                user = users.objects.create_user(
                    username=f"chaos-{n}-{role}", first_name=f"{role} {n}", password=None
                )
                Membership.objects.create(owner=owner, user=user, role=role)
                TelegramChat.objects.create(user=user, chat_id=chat)
                if role == Role.SERVICE:
                    service_user = user
            account = VendistaAccount.objects.create(owner=owner)
            account.setup_date = plan.first_day
            account.imports_enabled = True
            account.payment_status = "active"
            accounts.set_credentials(account, plan.login(n), OWNER_PASSWORD)
            account.save()
            terminals = _terminals(vendista_url, plan.login(n))
            sync.store_terminals(
                owner.pk,
                [
                    VendistaTerminal(
                        id=int(t["id"]),
                        comment=str(t["comment"]),
                        serial_number=str(t.get("serial_number", "")),
                        last_online_time=timezone.make_aware(
                            datetime.fromisoformat(t["last_online_time"])
                        )
                        if t.get("last_online_time")
                        else None,
                        last_hour_online=int(t.get("last_hour_online") or 0),
                    )
                    for t in terminals
                ],
            )
            for terminal in Terminal.objects.filter(owner=owner).order_by("vendista_id"):
                seed_recipes(terminal, presets, 7)  # item 8 stays without one: "needs a recipe"
                TerminalAssignment.objects.create(terminal=terminal, restock_assignee=service_user)
                for row in Inventory.objects.filter(terminal=terminal, location=Location.MACHINE):
                    row.current_stock = (row.max_stock or Decimal(0)) * Decimal("0.7")
                    row.save(update_fields=["current_stock"])
        kiosk_owner = Owner.objects.create(name=KIOSK_OWNER)
        tokens = []
        for k in range(2):
            kiosk = Kiosk(owner=kiosk_owner, name=f"Chaos киоск {k}", brand_name="АвтоПроверка")
            tokens.append(kiosk.set_token())
            kiosk.save()
    return {"kiosk_tokens": tokens}


def seed_recipes(terminal: Any, presets: list[dict[str, Any]], items: int) -> None:
    """Recipes for the terminal's machine items 1..`items`, from the presets in turn."""
    from inventory.models import Recipe, RecipeItem

    for item in range(1, items + 1):
        preset = presets[(item - 1) % len(presets)]
        recipe = Recipe.objects.create(terminal=terminal, machine_item_id=item, name=preset["name"])
        RecipeItem.objects.bulk_create(
            RecipeItem(
                recipe=recipe,
                item_name=row["item_name"],
                quantity=Decimal(str(row["quantity"])),
            )
            for row in preset["items"]
            if row["quantity"] > 0
        )


def _terminals(vendista_url: str, login: str) -> list[dict[str, Any]]:
    token = requests.get(
        f"{vendista_url}/token", params={"login": login, "password": OWNER_PASSWORD}, timeout=10
    ).json()["token"]
    body = requests.get(f"{vendista_url}/terminals", params={"token": token}, timeout=10).json()
    return list(body.get("items", []))


# --- Units ---------------------------------------------------------------------------------------


class Unit:
    name = "unit"
    done = False
    start_at = 0.0

    def advance(self, ctx: Context) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class Context:
    web: str
    control: str
    tokens: list[str]
    t0: float
    scale: float
    notes: list[str] = field(default_factory=list)

    def now(self) -> float:
        return (time.monotonic() - self.t0) / self.scale


class ImportUnit(Unit):
    """One owner's windows, in order: queue a run, wait for it to finish, queue the next."""

    def __init__(self, plan: Plan, n: int) -> None:
        self.plan, self.n = plan, n
        self.name = f"imports:{plan.owner_name(n)}"
        self.start_at = plan.import_offsets[n]
        self.index = 0
        self.next_at = self.start_at
        self.waiting_since = 0.0

    def advance(self, ctx: Context) -> None:
        from core.clock import MOSCOW
        from tenancy.models import Owner
        from vendista.models import ACTIVE_RUN_STATUSES, ImportMode, ImportRun
        from vendista.services import runs

        if ctx.now() < self.next_at:
            return
        owner = Owner.objects.get(name=self.plan.owner_name(self.n))
        trigger = f"chaos-{self.n}-{self.index}"
        run = ImportRun.objects.filter(owner=owner, trigger=trigger).order_by("id").first()
        if run is None:
            first, last = self.plan.windows[self.n][self.index]
            start = datetime.combine(first, dtime.min).replace(tzinfo=MOSCOW)
            end = datetime.combine(last, dtime(23, 59, 59)).replace(tzinfo=MOSCOW)
            runs.enqueue(
                owner.pk,
                window=(start, end),
                mode=ImportMode.REGULAR,
                trigger=trigger,
                skip_if_active=False,
            )
            return
        if run.status in ACTIVE_RUN_STATUSES:
            self.waiting_since = self.waiting_since or time.monotonic()
            if time.monotonic() - self.waiting_since < WINDOW_WAIT_S:
                return
            # Stuck: say so and go on, so the later windows are still measured on their own.
            ctx.notes.append(
                f"{self.name}: run {trigger} still {run.status} after {WINDOW_WAIT_S:.0f}s"
            )
        self.waiting_since = 0.0
        self.index += 1
        self.next_at = ctx.now() + self.plan.window_gap * random.Random(trigger).uniform(0.5, 1.0)
        if self.index >= len(self.plan.windows[self.n]):
            self.done = True


class SessionUnit(Unit):
    """One kiosk client: session, intent, then paid (report), refunded, or abandoned."""

    def __init__(self, plan: Plan, n: int) -> None:
        self.key = f"s{plan.seed}-{n}"
        self.kind, self.session_type = plan.session_kinds[n]
        self.name = f"session:{self.key}:{self.kind}"
        self.start_at = plan.session_offsets[n]
        self.kiosk = n % 2
        self.email = f"client{n}@chaos.example.com"
        self.phone = f"+7916{n:07d}"
        self.step = "session"
        self.session_id = ""
        self.intent_id = ""
        self.retry_at = 0.0

    def _api(self, ctx: Context, method: str, path: str, body: Any = None) -> requests.Response:
        """One kiosk call. After a failure the unit waits before it looks again, so a request
        still being served is committed (and found) before the kiosk asks a second time."""
        headers = {"Authorization": f"Kiosk {ctx.tokens[self.kiosk]}"}
        self.retry_at = time.monotonic() + RETRY_PAUSE_S
        response = requests.request(method, ctx.web + path, json=body, headers=headers, timeout=20)
        if response.status_code < 300:
            self.retry_at = 0.0
        return response

    def advance(self, ctx: Context) -> None:
        from kiosk.models import Session
        from payments.models import PaymentIntent
        from reports.models import Report

        if ctx.now() < self.start_at or time.monotonic() < self.retry_at:
            return
        if self.step == "session":
            found = Session.objects.filter(metadata__chaos_key=self.key).first()
            if found is None:
                body = {
                    "type": self.session_type,
                    "contact": {"email": self.email, "phone": self.phone},
                    "metadata": {"chaos_key": self.key},
                }
                self._api(ctx, "POST", "/api/sessions", body)
                return
            self.session_id, self.step = str(found.pk), "intent"
        if self.step == "intent":
            intent = (
                PaymentIntent.objects.filter(session_id=self.session_id)
                .order_by("created_at")
                .first()
            )
            if intent is None:
                self._api(ctx, "POST", "/api/payments/intent", {"session_id": self.session_id})
                return
            if not intent.provider_payment_id:
                return  # the PSP did not answer: the product registers it later
            self.intent_id = str(intent.pk)
            self.step = "cancel" if self.kind in ("refund", "abandoned") else "pay"
        if self.step == "cancel":
            intent = PaymentIntent.objects.get(pk=self.intent_id)
            if intent.status == "pending":
                self._api(ctx, "POST", f"/api/payments/cancel/{self.intent_id}")
                return
            self.step = "pay" if self.kind == "refund" else "finished"
        if self.step == "pay":
            intent = PaymentIntent.objects.get(pk=self.intent_id)
            paid = requests.post(
                ctx.control + "/yookassa/succeed",
                json={"payment_id": intent.provider_payment_id},
                timeout=5,
            ).json()
            # A payment made with a hold (capture later) is `waiting_for_capture` at the PSP.
            event = PSP_EVENTS.get(str(paid.get("status")), "payment.succeeded")
            notice = {"type": "notification", "event": event, "object": paid}
            response = requests.post(ctx.web + "/api/payments/webhook", json=notice, timeout=8)
            if response.status_code != 200:
                return  # YooKassa repeats a notification that was not answered 200
            self.step = "paid" if self.kind == "paid" else "finished"
        if self.step == "paid":
            if PaymentIntent.objects.get(pk=self.intent_id).status != "succeeded":
                return
            self.step = "report"
        if self.step == "report":
            if not Report.objects.filter(session_id=self.session_id).exists():
                payload = DIAGNOSTICS if self.session_type == "diagnostics" else THICKNESS
                self._api(
                    ctx,
                    "POST",
                    f"/api/reports/{self.session_type}",
                    {"session_id": self.session_id, **payload},
                )
                return
            self.step = "finished"
        if self.step == "finished":
            self.done = True


class DigestUnit(Unit):
    """The stock digest, asked for once the imports are done; asked again (as the next beat tick
    would) while change rows stay unnotified and no digest is open."""

    name = "digest"

    def __init__(self, imports: list[ImportUnit]) -> None:
        self.imports = imports
        self.asked_at: float | None = None

    def advance(self, ctx: Context) -> None:
        from core.jobs import enqueue
        from inventory.models import InventoryChange
        from notifications.models import Digest

        if not all(unit.done for unit in self.imports):
            return
        if (
            not InventoryChange.objects.filter(is_notified=False).exists()
            and self.asked_at is not None
        ):
            self.done = True
            return
        if self.asked_at is None or (
            ctx.now() - self.asked_at > 60
            and not Digest.objects.filter(completed_at__isnull=True).exists()
        ):
            enqueue("inventory.tasks.send_inventory_digest")
            self.asked_at = ctx.now()


def build_units(plan: Plan) -> list[Unit]:
    imports = [ImportUnit(plan, n) for n in range(plan.owners)]
    sessions = [SessionUnit(plan, n) for n in range(plan.sessions)]
    return [*imports, *sessions, DigestUnit(imports)]


# --- Reading the state back ----------------------------------------------------------------------


def snapshot(control_url: str) -> dict[str, Any]:
    """The final state in timing-free keys (owner names, Vendista ids, session keys)."""
    from inventory.models import Inventory
    from kiosk.models import Session
    from payments.models import PaymentIntent
    from reports.models import Report
    from tasks_app.models import Task
    from vendista.models import Transaction

    state: dict[str, Any] = {}
    state["transactions"] = {
        f"{t.owner.name}:{t.id}": t.deduction_state
        for t in Transaction.objects.select_related("owner")
    }
    state["stock"] = {
        f"{i.owner.name}:{_vid(i.terminal)}:{i.location}:{i.item_name}": str(
            i.current_stock.normalize()
        )
        for i in Inventory.objects.select_related("owner", "terminal")
    }
    state["tasks"] = Counter(
        f"{t.owner.name}:{_vid(t.terminal)}:{t.task_type}:{t.status}:"
        f"{sorted(details.get('critical_items', []))}:{sorted(details.get('missing_items', []))}"
        for t in Task.objects.select_related("owner", "terminal")
        for details in [t.details or {}]
    )
    keys = {str(s.pk): s.metadata.get("chaos_key", "?") for s in Session.objects.all()}
    state["sessions"] = Counter(keys.values())
    payment_keys: dict[str, str] = {}
    state["payments"] = {}
    for intent in PaymentIntent.objects.order_by("created_at"):
        key = keys.get(str(intent.session_id), "?")
        state["payments"].setdefault(key, f"{intent.status}/{intent.refund_status or '-'}")
        payment_keys[intent.provider_payment_id or ""] = key
    from notifications.models import Delivery

    sent: dict[str, list[str]] = {}
    for d in Delivery.objects.filter(source__startswith="report:"):
        sent.setdefault(d.source.removeprefix("report:"), []).append(f"{d.channel}={d.status}")
    state["reports"] = {
        keys.get(str(r.session_id), "?"): f"{r.kind}:{r.status}:"
        + ",".join(sorted(sent.get(str(r.pk), [])))
        for r in Report.objects.all()
    }
    # Sends attempted more than once (a worker died mid-send, or the result was not recorded):
    # each may have reached the provider once more (compare.AT_MOST_ONCE_MORE).
    retried: Counter[str] = Counter()
    for d in Delivery.objects.filter(status="sent", attempts__gt=1):
        key = {
            "email": d.recipient,
            "sms": d.recipient.removeprefix("+"),
            "telegram": f"{d.recipient}: {d.text}",
        }.get(d.channel)
        if key is not None:
            retried[f"{d.channel}|{key}"] += d.attempts - 1
    state["_retried_sends"] = dict(retried)
    log = requests.get(control_url + "/log", timeout=10).json()
    state["psp_refunds"] = Counter(payment_keys.get(r["payment_id"], "?") for r in log["refunds"])
    state["email"] = Counter(m["to"] for m in log["email"])
    state["sms"] = Counter(m["phones"] for m in log["sms"])
    state["telegram"] = Counter(
        f"{m['chat_id']}: {m['text']}"
        for m in log["telegram"]
        if m["chat_id"] != ADMIN_CHAT and not m["text"].startswith(DIGEST_HEADER)
    )
    state["admin_alerts"] = sum(1 for m in log["telegram"] if m["chat_id"] == ADMIN_CHAT)
    state["digest_messages"] = Counter(
        f"{m['chat_id']}: {m['text']}"
        for m in log["telegram"]
        if m["text"].startswith(DIGEST_HEADER)
    )
    state["digest_coverage"] = digest_coverage()
    from payments.models import WebhookEvent

    # What happened to each session's payment, to explain a difference (not compared).
    trail: dict[str, list[str]] = {}
    for event in WebhookEvent.objects.order_by("received_at"):
        key = payment_keys.get(event.object_id, "?")
        trail.setdefault(key, []).append(
            f"webhook {event.event}/{event.object_status} -> {event.outcome or 'unprocessed'}"
        )
    state["_payment_trail"] = trail
    from vendista.models import ImportRun

    state["_runs"] = [
        f"{r.owner.name} {r.trigger} {r.kind} {r.status} pages={r.pages_done}/{r.pages_total} "
        f"attempts={r.attempts} error={r.error[:120]!r}"
        for r in ImportRun.objects.select_related("owner").order_by("id")
        if r.trigger.startswith("chaos-") or r.status in ("queued", "running", "failed")
    ]
    return state


def _vid(terminal: Any) -> str:
    return str(terminal.vendista_id) if terminal is not None else "-"


def digest_coverage() -> dict[str, int]:
    """Per (chat, stock-change row): in how many sent digests it reached that chat (want 1)."""
    from inventory.models import InventoryChange
    from notifications.models import Delivery, DeliveryStatus, TelegramChat
    from notifications.services import owner_and_admin_user_ids

    coverage: Counter[str] = Counter()
    sent: dict[int, set[str]] = {}
    for delivery in Delivery.objects.filter(
        digest__isnull=False, chunk_index=0, status=DeliveryStatus.SENT
    ):
        sent.setdefault(delivery.digest_id or 0, set()).add(delivery.recipient)
    from notifications.models import Digest

    chats_of_owner: dict[int, list[str]] = {}
    for change in InventoryChange.objects.all():
        if change.owner_id not in chats_of_owner:
            users = owner_and_admin_user_ids(change.owner_id)
            ids = TelegramChat.objects.filter(user_id__in=users).values_list("chat_id", flat=True)
            chats_of_owner[change.owner_id] = [str(chat_id) for chat_id in ids]
        for chat in chats_of_owner[change.owner_id]:
            coverage.setdefault(f"{chat}:{change.pk}", 0)
    for digest in Digest.objects.filter(kind="stock_changes"):
        # A digest with nothing to say (net-zero changes) completes without a message.
        silent = not digest.chunks and digest.completed_at is not None
        reached = chats_of_owner.get(digest.owner_id, []) if silent else sent.get(digest.pk, set())
        for chat in reached:
            for item in digest.item_ids:
                coverage[f"{chat}:{item}"] += 1
    return dict(coverage)
