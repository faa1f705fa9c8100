"""Several worker hosts on one machine: Linux network namespaces made by the test itself.

    root namespace                         namespace vkh<pid>-<n> ("host n")
    ┌──────────────────────────────┐        ┌──────────────────────────────┐
    │ PostgreSQL, Redis, Vendista  │ bridge │ eth0 10.77.<k>.<10+n>        │
    │ sandbox on 10.77.<k>.1       ├──veth──┤ celery worker (+ beat)       │
    │ (and 127.0.0.1); the test    │        └──────────────────────────────┘
    └──────────────────────────────┘        ... one per host

Each host reaches the shared services only over its veth link to a bridge in the root
namespace, so `cut(n)` (`ip link set <veth> down`, the switch port dark) partitions exactly that
host: its TCP connections stall as in a real network failure. Names carry the test process's pid
(`vkh<pid>...`), so parallel runs never clash; what a killed run left behind (its pid gone) is
removed by the next one. `Fleet.close()` ends every process, namespace, link and service.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

from bench.chaos.stack import FOREIGN_ENV, ROOT, free_port, load_services, wait_until

PREFIX = "vkh"
DATABASE = "vk_fleet"
TEMPLATE = "vk_fleet_template"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def remove_leftovers() -> None:
    """Namespaces and bridges of earlier runs whose test process is gone (killed mid-run)."""
    for line in ip("netns", "list").stdout.splitlines():
        found = re.match(rf"{PREFIX}(\d+)-\d+\b", line)
        if found and not _pid_alive(int(found.group(1))):
            name = line.split()[0]
            _kill_namespace(name)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show", "type", "bridge").stdout.splitlines():
        found = re.search(rf"\b({PREFIX}(\d+)b):", line)
        if found and not _pid_alive(int(found.group(2))):
            ip("link", "del", found.group(1), check=False)


def _kill_namespace(name: str) -> None:
    for pid in ip("netns", "pids", name, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


class Network:
    """A bridge in the root namespace and `count` namespaces, each linked to it by a veth."""

    def __init__(self, count: int) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}b"
        self.count = count
        self.subnet = self._free_subnet()
        self.gateway = f"10.77.{self.subnet}.1"
        self.cidr = f"10.77.{self.subnet}.0/24"
        self.namespaces = [f"{self.tag}-{n}" for n in range(count)]

    def _free_subnet(self) -> int:
        used = set(re.findall(r"inet 10\.77\.(\d+)\.", ip("-4", "-o", "addr").stdout))
        start = os.getpid() % 250
        for offset in range(250):
            candidate = (start + offset) % 250 + 1
            if str(candidate) not in used:
                return candidate
        raise RuntimeError("no free 10.77.x.0/24 subnet for the test hosts")

    def address(self, n: int) -> str:
        return f"10.77.{self.subnet}.{10 + n}"

    def veth(self, n: int) -> str:
        """The root namespace's end of host n's link (its switch port)."""
        return f"{self.tag}r{n}"

    def up(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for n, namespace in enumerate(self.namespaces):
            ip("netns", "add", namespace)
            ip("link", "add", self.veth(n), "type", "veth", "peer", "name", f"{self.tag}p{n}")
            ip("link", "set", f"{self.tag}p{n}", "netns", namespace)
            ip("-n", namespace, "link", "set", f"{self.tag}p{n}", "name", "eth0")
            ip("-n", namespace, "addr", "add", f"{self.address(n)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("link", "set", self.veth(n), "master", self.bridge)
            ip("link", "set", self.veth(n), "up")

    def cut(self, n: int) -> None:
        ip("link", "set", self.veth(n), "down")

    def restore(self, n: int) -> None:
        ip("link", "set", self.veth(n), "up")

    def down(self) -> None:
        for n, namespace in enumerate(self.namespaces):
            _kill_namespace(namespace)
            ip("netns", "del", namespace, check=False)
            ip("link", "del", self.veth(n), check=False)
        ip("link", "del", self.bridge, check=False)


@dataclass
class HostProc:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None


@dataclass
class Host:
    n: int
    namespace: str
    address: str
    procs: dict[str, HostProc] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"host{self.n}"


# The settings every host runs with: the owner lock and the run leases scaled down so a takeover
# happens within seconds, Vendista's limits low enough that the sandbox sees them bind.
FLEET_SETTINGS = {
    "VENDISTA_LOCK_TTL": "6",
    "VENDISTA_RUN_STALE_AFTER": "6",
    "VENDISTA_BUSY_RETRY_SECONDS": "1",
    "VENDISTA_RATE_PER_TOKEN": "3",
    "VENDISTA_RATE_GLOBAL": "8",
    "VENDISTA_PAGE_SIZE": "10",
    "VENDISTA_TIMEOUT": "20",
    "VENDISTA_BACKOFF_BASE": "0.5",
    "VENDISTA_RUN_MAX_ATTEMPTS": "30",
    "BEAT_LEADER_TTL": "3",
    "CELERY_VISIBILITY_TIMEOUT": "60",
    "DB_KEEPALIVE_S": "3",
}
# Seconds between runs of the stalled-run sweep (an interval the admin may set; the code's
# default is a crontab every minute).
SWEEP_EVERY_S = 2


class Fleet:
    """One PostgreSQL, one Redis and the Vendista sandbox in the root namespace, reachable over
    the bridge; `hosts` worker hosts, each a namespace whose processes the test starts."""

    def __init__(self, var: Path, hosts: int = 3) -> None:
        self.var = var
        (var / "logs").mkdir(parents=True, exist_ok=True)
        self.net = Network(hosts)
        self.services = load_services(var)
        self.pg_port, self.redis_port, self.vendista_port = free_port(), free_port(), free_port()
        gateway = self.net.gateway
        self.database_url = f"postgres://postgres@{gateway}:{self.pg_port}/{DATABASE}"
        self.redis_url = f"redis://{gateway}:{self.redis_port}/0"
        self.vendista_url = f"http://{gateway}:{self.vendista_port}"
        self.hosts = [Host(n, self.net.namespaces[n], self.net.address(n)) for n in range(hosts)]
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = {}

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise RuntimeError(
                "the multi-host tests make network namespaces: they run as root with iproute2 "
                "(deploy/local/system-libs.sh --tests installs it); VK_MULTIHOST=0 leaves them out"
            )
        remove_leftovers()
        self.net.up()
        target = self.services.PgTarget.parse(self.database_url)
        # A partitioned host may leave a transaction open (its row locks held) or a reply
        # unsent: the server drops such a session instead of letting it block the host that
        # takes over (docs/operations.md, "Several worker hosts"). Idle sessions are kept: a
        # host whose link comes back finds its connection and its lease gone, not its database.
        self.services.start_private_postgres(
            target,
            also_listen=self.net.gateway,
            clients=self.net.cidr,
            options="-c idle_in_transaction_session_timeout=5000 -c tcp_user_timeout=5000",
        )
        self.services.start_private_redis(self.redis_port, also_bind=self.net.gateway)
        self._start_sandbox()
        self._migrate_template()

    def _start_sandbox(self) -> None:
        """The Vendista sandbox on the bridge's address (a port taken meanwhile by another
        program: another one)."""
        for _attempt in range(3):
            self.sandbox = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sandboxes.vendista",
                    "--host",
                    self.net.gateway,
                    "--port",
                    str(self.vendista_port),
                ],
                cwd=ROOT,
                env=self.env(),
                stdout=(self.var / "logs" / "vendista.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            sandbox = self.sandbox
            wait_until(lambda s=sandbox: self._sandbox_answers() or s.poll() is not None, 30)
            if self._sandbox_answers():
                return
            self.vendista_port = free_port()
            self.vendista_url = f"http://{self.net.gateway}:{self.vendista_port}"
        raise RuntimeError("the Vendista sandbox did not start; see its log")

    def close(self) -> None:
        for host in self.hosts:
            self.stop_host(host)
        if self.sandbox is not None and self.sandbox.poll() is None:
            _killpg(self.sandbox.pid, signal.SIGKILL)
            self.sandbox.wait()
        with contextlib.suppress(Exception):
            self.net.down()
        with contextlib.suppress(Exception):
            # The cluster is this fleet's alone (a fresh port each time): its files go too.
            self.services.down(None, purge=True)

    def _sandbox_answers(self) -> bool:
        try:
            return requests.get(f"{self.vendista_url}/_sandbox/faults", timeout=2).ok
        except requests.RequestException:
            return False

    def _migrate_template(self) -> None:
        with self.pg("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        env = {**self.env(), "DATABASE_URL": self.database_url.rsplit("/", 1)[0] + f"/{TEMPLATE}"}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )

    def reset(self) -> None:
        """A fresh database (from the migrated template), an empty Redis, an empty sandbox log;
        every host's processes stopped and its link up."""
        for host in self.hosts:
            self.stop_host(host)
            self.net.restore(host.n)
        with self.pg("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}")
        self.redis().flushall()
        requests.post(f"{self.vendista_url}/_sandbox/requests/reset", timeout=10).raise_for_status()
        self.extra_env = {}

    # --- access from the test (root namespace) ----------------------------------------------------

    @contextlib.contextmanager
    def pg(self, database: str = DATABASE) -> Iterator[psycopg.Connection[Any]]:
        conn = psycopg.connect(
            host=self.net.gateway,
            port=self.pg_port,
            user="postgres",
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )
        try:
            yield conn
        finally:
            conn.close()

    def redis(self) -> redis.Redis:
        return redis.Redis(host=self.net.gateway, port=self.redis_port, socket_timeout=5)

    def sandbox_log(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.vendista_url}/_sandbox/requests", timeout=30)
        response.raise_for_status()
        return list(response.json())

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_ENV)}
        env.update(
            PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            PYTHONPATH=str(ROOT),
            DJANGO_SETTINGS_MODULE="config.settings",
            AGENT_ENV="DEV",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            VENDISTA_API_URL=self.vendista_url,
            MEDIA_ROOT=str(self.var / "media"),
            LOG_LEVEL="WARNING",
            **FLEET_SETTINGS,
        )
        env.update(self.extra_env)
        return env

    def driver(self, *args: str) -> Any:
        """`python -m tests.scaleout.driver ...` against the fleet's database (root namespace);
        its JSON answer."""
        result = subprocess.run(
            [sys.executable, "-m", "tests.scaleout.driver", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    # --- host processes ---------------------------------------------------------------------------

    def start_worker(self, host: Host, *, entry: list[str] | None = None) -> None:
        """A Celery worker in the host's namespace (`entry` replaces `-m celery`, e.g. the
        sabotage wrapper)."""
        module = entry or ["-m", "celery"]
        argv = [
            sys.executable,
            *module,
            "-A",
            "celery_app",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--queues=imports,default",
            f"--hostname={host.name}@fleet",
            "--without-mingle",
            "--without-gossip",
        ]
        self._start(host, "worker", argv)

    def start_beat(self, host: Host) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_app",
            "beat",
            "--loglevel=INFO",
            f"--pidfile={self.var / f'beat-{host.n}.pid'}",
            f"--schedule={self.var / f'beat-schedule-{host.n}'}",
        ]
        self._start(host, "beat", argv)

    def _start(self, host: Host, name: str, argv: list[str]) -> None:
        log = self.var / "logs" / f"{host.name}-{name}.log"
        log.write_bytes(b"")
        out = log.open("ab")
        popen = subprocess.Popen(
            ["ip", "netns", "exec", host.namespace, *argv],
            cwd=ROOT,
            env=self.env(),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        host.procs[name] = HostProc(name, argv, log, popen)

    def wait_workers_ready(self, hosts: list[Host], timeout: float = 90) -> None:
        def ready() -> bool:
            for host in hosts:
                proc = host.procs["worker"]
                assert proc.popen is not None and proc.popen.poll() is None, proc.log.read_text()
                if " ready." not in proc.log.read_text(errors="replace"):
                    return False
            return True

        wait_until(ready, timeout)

    def kill_host(self, host: Host) -> None:
        """SIGKILL every process of the host (its whole process groups: pool children too)."""
        for proc in host.procs.values():
            if proc.popen is not None and proc.popen.poll() is None:
                _killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()

    def stop_host(self, host: Host) -> None:
        """End the host's processes (SIGKILL: what they leave behind is reset with the
        database and Redis) and anything else still running in its namespace."""
        self.kill_host(host)
        _kill_namespace(host.namespace)
        host.procs.clear()


def _killpg(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
