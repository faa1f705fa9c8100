"""The private stack of a chaos run: PostgreSQL and Redis on free ports (started from the OS
binaries through `deploy/local/services.py`), the web (gunicorn), one Celery worker, beat, the
Vendista sandbox and the other sandboxes — each a process the harness can kill and restart.

The harness also plays the process supervisor (systemd `Restart=always` in production): a
process that exits on its own is restarted and the exit is recorded as a crash.
Nothing here touches the machine's shared PostgreSQL or Redis.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DATABASE = "vk_chaos_run"
TEMPLATE = "vk_chaos_template"
QUEUES = ("imports", "notifications", "reports", "default")
# The caller's settings that would point the stack's processes (or the harness) elsewhere.
FOREIGN_ENV = ("DATABASE_URL", "REDIS_", "PROMETHEUS_MULTIPROC")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_services(var_dir: Path) -> ModuleType:
    """deploy/local/services.py with its state under `var_dir` (it reads VK_VAR_DIR at import)."""
    os.environ["VK_VAR_DIR"] = str(var_dir)
    spec = importlib.util.spec_from_file_location(
        "chaos_services", ROOT / "deploy" / "local" / "services.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    crashes: list[tuple[float, int]] = field(default_factory=list)
    ready_line: str | None = None


class Stack:
    def __init__(self, var_dir: Path, *, lock_ttl: int, log: Any) -> None:
        self.var = var_dir
        self.var.mkdir(parents=True, exist_ok=True)
        (self.var / "logs").mkdir(exist_ok=True)
        self.say = log
        self.services = load_services(self.var)
        self.pg_port, self.redis_port = free_port(), free_port()
        self.web_port, self.vendista_port = free_port(), free_port()
        self.database_url = f"postgres://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.pg = self.services.PgTarget.parse(self.database_url)
        self.lock_ttl = lock_ttl
        self.procs: dict[str, Proc] = {}
        self.urls: dict[str, str] = {}
        self.supervising = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.run_tag = "run"

    # --- PostgreSQL and Redis ------------------------------------------------------------------

    def start_infra(self) -> None:
        self.services.start_private_postgres(self.pg)
        self.services.start_private_redis(self.redis_port)

    def pg_datadir(self) -> Path:
        return Path((self.var / f"postgres-{self.pg_port}.started").read_text().strip())

    def kill_postgres(self) -> None:
        """`pg_ctl -m immediate stop`: every backend dies at once, no checkpoint (a crash)."""
        pg_ctl = str(self.services.pg_bindir() / "pg_ctl")
        self.services.as_postgres([pg_ctl, "-D", str(self.pg_datadir()), "-m", "immediate", "stop"])

    def start_postgres(self) -> None:
        self.services.start_private_postgres(self.pg)

    def redis_pid(self) -> int | None:
        pidfile = self.var / f"redis-{self.redis_port}" / "redis.pid"
        try:
            return int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def kill_redis(self) -> None:
        pid = self.redis_pid()
        if pid is not None:
            _signal(pid, signal.SIGKILL)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)
        (self.var / f"redis-{self.redis_port}" / "redis.pid").unlink(missing_ok=True)

    def start_redis(self) -> None:
        self.services.start_private_redis(self.redis_port)

    def reset_databases(self, migrate: bool) -> None:
        """A fresh run database, cloned from a migrated template (migrated once per stack)."""
        with self.pg.connect("postgres") as conn:
            if migrate:
                conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {TEMPLATE}")
        if migrate:
            env = {
                **self.env(),
                "DATABASE_URL": self.database_url.rsplit("/", 1)[0] + f"/{TEMPLATE}",
            }
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
        with self.pg.connect("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}")
        import redis

        redis.Redis.from_url(self.redis_url).flushall()

    # --- Environment ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_ENV)}
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
            PYTHONPATH=str(ROOT),
            DJANGO_SETTINGS_MODULE="config.settings",
            AGENT_ENV="DEV",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            MEDIA_ROOT=str(self.var / "media"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.web_port}",
            LOG_LEVEL="WARNING",
            WEB_CONCURRENCY="1",
            WEB_THREADS="4",
            VENDISTA_API_URL=f"http://127.0.0.1:{self.vendista_port}",
            VENDISTA_LOCK_TTL=str(self.lock_ttl),
            # The leases and re-queue delays scaled down with the lock TTL (production: 120-180 s),
            # so that every recovery path is exercised many times within one run.
            VENDISTA_RUN_STALE_AFTER=str(self.lock_ttl * 3),
            BEAT_LEADER_TTL="6",
            TELEGRAM_SENDING_LEASE_SECONDS="20",
            TELEGRAM_REQUEUE_AFTER_SECONDS="20",
            REPORTS_GENERATION_LEASE_SECONDS="40",
            PAYMENTS_WEBHOOK_REQUEUE_AFTER_S="20",
            # Interruptions before a run or a report is given up (production: 8 and 4): here a
            # fault lands every few seconds, not once in a long while.
            VENDISTA_RUN_MAX_ATTEMPTS="30",
            REPORTS_MAX_GENERATION_ATTEMPTS="20",
            # A killed worker's unacknowledged messages are delivered again within the run.
            CELERY_VISIBILITY_TIMEOUT="60",
            VENDISTA_PAGE_SIZE="40",
            # Longer than a freeze: a call caught by one waits it out (the lease's heartbeat keeps
            # the lock meanwhile) instead of failing the run.
            VENDISTA_TIMEOUT=str(self.lock_ttl + 4),
            VENDISTA_BACKOFF_BASE="1.0",
            VENDISTA_BUSY_RETRY_SECONDS="3",
            VENDISTA_RATE_PER_TOKEN="20",
            VENDISTA_RATE_GLOBAL="50",
            TELEGRAM_PROVIDER="telegram",
            TELEGRAM_BOT_TOKEN="chaos-bot-token",
            TELEGRAM_RETRY_BASE_SECONDS="2",
            TELEGRAM_RETRY_MAX_SECONDS="20",
            ADMIN_TELEGRAM_CHAT_ID="-100999",
            EMAIL_PROVIDER="sendgrid",
            SENDGRID_API_KEY="chaos-sendgrid-key",
            SMS_PROVIDER="smsc",
            SMSC_LOGIN="chaos",
            SMSC_PASSWORD="chaos-sms-pw",
            SMS_FROM="vendkiosk",
            REPORTS_RETRY_BASE_SECONDS="2",
            PAYMENTS_PROVIDER="yookassa",
            YOOKASSA_SHOP_ID="chaos-shop",
            YOOKASSA_SECRET_KEY="chaos-yookassa-key",
            YOOKASSA_WEBHOOK_IPS="127.0.0.1/32",
            YOOKASSA_WEBHOOK_URL=f"http://127.0.0.1:{self.web_port}/api/payments/webhook",
            HEALTHZ_CELERY_TIMEOUT="1.0",
            KIOSK_THROTTLE_RATE="100000/min",
            KIOSK_IP_THROTTLE_RATE="100000/min",
        )
        if self.urls:
            env.update(
                TELEGRAM_API_URL=self.urls["telegram"],
                SENDGRID_API_URL=self.urls["sendgrid"],
                SMSC_API_URL=self.urls["smsc"],
                YOOKASSA_API_URL=self.urls["yookassa"],
            )
        return env

    def adopt_env(self) -> None:
        """Make this (the harness's) process see the stack as its children do: what it queues
        must reach the stack's Redis. An inherited `REDIS_DB` (pytest sets 15) would otherwise
        send the harness's tasks to a database no worker of the stack reads."""
        for key in [key for key in os.environ if key.startswith(FOREIGN_ENV)]:
            del os.environ[key]
        os.environ.update(self.env())

    # --- Processes -----------------------------------------------------------------------------

    def define_processes(self) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "celery_app"]
        self.procs = {
            "vendista": Proc(
                "vendista", [python, "-m", "sandboxes.vendista", "--port", str(self.vendista_port)]
            ),
            "web": Proc(
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--config",
                    "deploy/gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{self.web_port}",
                ],
            ),
            "worker": Proc(
                "worker",
                [
                    *celery,
                    "worker",
                    "--loglevel=WARNING",
                    "--concurrency=2",
                    f"--queues={','.join(QUEUES)}",
                    "--hostname=chaos@%h",
                ],
            ),
            "beat": Proc(
                "beat",
                [
                    *celery,
                    "beat",
                    "--loglevel=WARNING",
                    f"--pidfile={self.var / 'beat.pid'}",
                    f"--schedule={self.var / 'beat-schedule'}",
                ],
            ),
        }

    def start_sandboxes(self) -> None:
        host = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos.sandbox_host", "--port", "0"],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=(self.var / "logs" / "sandbox_host.log").open("ab"),
            start_new_session=True,
        )
        assert host.stdout is not None
        self.urls = json.loads(host.stdout.readline())
        self.procs["sandbox_host"] = Proc("sandbox_host", [], popen=host)
        self.start("vendista")
        wait_until(lambda: _answers(f"http://127.0.0.1:{self.vendista_port}/_sandbox/faults"), 30)

    def start(self, name: str) -> None:
        proc = self.procs[name]
        out = (self.var / "logs" / f"{self.run_tag}-{name}.log").open("ab")
        proc.popen = subprocess.Popen(
            proc.argv, cwd=ROOT, env=self.env(), stdout=out, stderr=out, start_new_session=True
        )

    def start_app(self) -> None:
        for name in ("web", "worker", "beat"):
            self.start(name)
        wait_until(self.healthy, 120)

    def kill(self, name: str, *, group: bool = True) -> None:
        """SIGKILL the process (and by default its whole process group: the pool too)."""
        popen = self.procs[name].popen
        if popen is None:
            return
        try:
            if group:
                os.killpg(popen.pid, signal.SIGKILL)
            else:
                popen.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        popen.wait()

    def children(self, name: str) -> list[int]:
        popen = self.procs[name].popen
        if popen is None:
            return []
        try:
            text = Path(f"/proc/{popen.pid}/task/{popen.pid}/children").read_text()
        except OSError:
            return []
        return sorted(int(pid) for pid in text.split())

    def pid(self, name: str) -> int | None:
        popen = self.procs[name].popen
        return None if popen is None else popen.pid

    def vendista_answers(self) -> bool:
        return _answers(f"http://127.0.0.1:{self.vendista_port}/_sandbox/faults")

    def healthy(self) -> bool:
        try:
            response = requests.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=3)
        except requests.RequestException:
            return False
        return response.status_code == 200

    # --- Supervision ---------------------------------------------------------------------------

    def supervise(self) -> None:
        self.supervising.set()

        def loop() -> None:
            while self.supervising.is_set():
                for name in ("web", "worker", "beat"):
                    proc = self.procs.get(name)
                    if proc is None or not proc.lock.acquire(blocking=False):
                        continue
                    try:
                        if proc.popen is not None and proc.popen.poll() is not None:
                            code = proc.popen.returncode
                            proc.crashes.append((time.monotonic(), code))
                            self.say(f"{name} exited by itself (code {code}): restarting it")
                            self.start(name)
                    finally:
                        proc.lock.release()
                time.sleep(0.5)

        self._supervisor = threading.Thread(target=loop, daemon=True)
        self._supervisor.start()

    def stop_supervising(self) -> None:
        self.supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)

    def stop_app(self) -> None:
        self.stop_supervising()
        for name in ("beat", "worker", "web"):
            popen = self.procs[name].popen
            if popen is not None and popen.poll() is None:
                _killpg(popen.pid, signal.SIGTERM)
        for name in ("beat", "worker", "web"):
            popen = self.procs[name].popen
            if popen is None:
                continue
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _killpg(popen.pid, signal.SIGKILL)
                popen.wait()

    def teardown(self) -> None:
        self.stop_supervising()
        for proc in self.procs.values():
            popen = proc.popen
            if popen is not None and popen.poll() is None:
                _killpg(popen.pid, signal.SIGCONT)
                _killpg(popen.pid, signal.SIGTERM)
        for proc in self.procs.values():
            popen = proc.popen
            if popen is None:
                continue
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        with contextlib.suppress(OSError):  # kept for a post-mortem, beside the stack's own logs
            shutil.copyfile(self.pg_datadir() / "server.log", self.var / "logs" / "postgres.log")
        self.services.down(None, purge=True)  # the stack's own cluster: its files go too


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _killpg(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_until(check: Any, timeout: float, interval: float = 0.25) -> float:
    """Seconds until `check()` was true; raises TimeoutError after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{getattr(check, '__name__', check)} not true within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start
