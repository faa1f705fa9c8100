"""Per-process caches of rows whose changes PostgreSQL announces with `pg_notify`.

A table's trigger sends the changed row's key on a channel (or `*`: everything, on TRUNCATE) when
its transaction commits. Each process that reads through a `NotifiedCache` keeps one LISTEN
connection on that channel in a daemon thread and drops an entry as soon as its notice arrives.

What keeps a cached value honest:
- **Nothing is cached while the listener is not known to hear the channel**: every `PROBE_S` it
  sends a notice to itself and counts as alive for `ALIVE_S` after that notice comes back (a
  lost connection, or a pooler in transaction mode that never delivers, turns the cache off);
  every read goes to the database meanwhile, and when it hears again the cache starts empty,
  since notices sent meanwhile were missed.
- **A generation guard**: a value read from the database is stored only if no notice arrived
  while it was being read, so a read that raced a commit never outlives the commit's notice.
- **Never inside a transaction**: a read there may see the transaction's own uncommitted writes
  or an old snapshot, so it neither uses nor fills the cache.
- **A time bound** (`ttl_s`): an entry lives at most that long whatever happens.
- The process's own writes call `forget()` on commit, so a client that changed a row reads the
  new value back at once, without waiting for the notice.

The listener is started lazily in each process (gunicorn forks workers after loading the app;
threads do not survive a fork). It needs a session of its own on PostgreSQL: `DB_LISTEN`
(`DB_LISTEN_URL`) points it past a pooler in transaction mode, which does not keep a LISTEN.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

ALL = "*"
PROBE = "probe:"  # the listener's own notices, sent to itself
PROBE_S = 5.0  # the listener proves it still hears the channel this often
ALIVE_S = 12.0  # ... and the cache is used only this long after the last proof
RECONNECT_S = 2.0
WAKE_S = 0.5  # the listener looks at its stop flag this often
MAX_ENTRIES = 50_000
# Django's OPTIONS that are not libpq connection parameters.
_NOT_CONNINFO = frozenset(
    {
        "cursor_factory",
        "context",
        "prepare_threshold",
        "server_side_binding",
        "pool",
        "isolation_level",
        "assume_role",
    }
)

_caches: list[NotifiedCache] = []


class NotifiedCache:
    def __init__(self, channel: str, *, ttl_s: Callable[[], float]) -> None:
        self.channel = channel
        self._ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._alive_until = 0.0
        self._pid = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _caches.append(self)

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, or `load()` (stored when that is safe). A `None` from
        `load()` is never stored: a row that does not exist yet sends no notice when it does."""
        ttl = self._ttl_s()
        if ttl <= 0 or connection.in_atomic_block:
            return load()
        now = time.monotonic()
        if not self._usable(now):
            return load()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        value = load()
        if value is not None:
            with self._lock:
                if generation == self._generation and self._usable(time.monotonic()):
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.clear()
                    self._entries[key] = (now + ttl, value)
        return value

    def forget(self, key: Hashable | None = None) -> None:
        """Drop `key` (everything when None); a read in flight is not stored either."""
        with self._lock:
            self._generation += 1
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def listening(self) -> bool:
        return self._pid == os.getpid() and time.monotonic() < self._alive_until

    def _usable(self, now: float) -> bool:
        if self._pid != os.getpid():
            self._start()
            return False
        return now < self._alive_until

    # -- the listener ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._entries.clear()
            self._alive_until = 0.0
            self._stop = threading.Event()
            db = getattr(settings, "DB_LISTEN", None) or connection.settings_dict
            params: dict[str, Any] = {
                key: value
                for key, value in (db.get("OPTIONS") or {}).items()
                if key not in _NOT_CONNINFO
            }
            params.update(
                dbname=db["NAME"],
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
            )
            self._thread = threading.Thread(
                target=self._listen,
                args=(params, self._stop),
                name=f"vk-listen:{self.channel}",
                daemon=True,
            )
            self._thread.start()

    def _listen(self, params: dict[str, Any], stop: threading.Event) -> None:
        params = {key: value for key, value in params.items() if value is not None}
        params.update(
            autocommit=True,
            application_name=f"vk-listen:{self.channel}",
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )
        while not stop.is_set():
            try:
                with psycopg.connect(**params) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    self._serve(conn, stop)
            except Exception as exc:
                if stop.is_set():
                    break
                log.warning("listener on %s lost (%s); reconnecting", self.channel, exc)
            finally:
                self._alive_until = 0.0
                self.forget()
            stop.wait(RECONNECT_S)

    def _serve(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Drop what the notices name. Alive means: the listener's own probe notice came back
        — a round trip through the very channel, so a connection that no longer receives
        notices (dead, or a transaction pooler that moved the session) turns the cache off."""
        expected: str | None = None
        probed = -PROBE_S
        while not stop.is_set():
            if time.monotonic() - probed >= PROBE_S:
                expected = f"{PROBE}{uuid.uuid4()}"
                conn.execute("SELECT pg_notify(%s, %s)", [self.channel, expected])
                probed = time.monotonic()
            for notice in conn.notifies(timeout=WAKE_S):
                if notice.payload.startswith(PROBE):
                    if notice.payload == expected:
                        if self._alive_until == 0.0:
                            self.forget()  # notices before this proof may have been missed
                        self._alive_until = time.monotonic() + ALIVE_S
                    continue
                self.forget(None if notice.payload == ALL else notice.payload)

    def stop(self) -> None:
        """Stop this process's listener and empty the cache (tests, before a database is
        dropped); the next read starts it again."""
        with self._lock:
            self._stop.set()
            self._alive_until = 0.0
            self._pid = 0
            thread = self._thread
            self._thread = None
        if thread is not None:
            thread.join(timeout=WAKE_S + 5)
        self.forget()


def stop_all() -> None:
    for cache in _caches:
        cache.stop()
