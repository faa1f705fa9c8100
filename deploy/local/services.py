"""Find PostgreSQL and Redis for a local run, or start private instances under var/.

    python deploy/local/services.py up --env-file var/services.env
    python deploy/local/services.py down [--only "postgres redis"] [--purge]

`up` probes DATABASE_URL and REDIS_URL (defaults: the standard local ports). When nothing answers
at a local address it starts a private instance on that port from the OS binaries — installing
`postgresql` / `redis-server` with apt when they are missing and we run as root — creates the
database when it does not exist, and writes the URLs to use into the env file, with
VK_STARTED_SERVICES naming what it started. `down` stops the private instances; with `--purge`
(`make test`) it also deletes a PostgreSQL cluster's files when its start created it. Standard
library and psycopg only: this runs before Django is configured. VK_VAR_DIR moves its state
(tests).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("VK_VAR_DIR") or ROOT / "var")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vendkiosk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}


class ServiceError(RuntimeError):
    """Something the person running the command must fix; the message says what."""


def say(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


# --- Packages ----------------------------------------------------------------------------------

_apt_updated = False


def apt_install(package: str, why: str) -> None:
    global _apt_updated
    if not (is_root() and shutil.which("apt-get")):
        raise ServiceError(
            f"{why} is not installed. Install the Debian/Ubuntu package '{package}' "
            f"(sudo apt-get install {package}), or point the URL at a running server."
        )
    say(f"{why} is missing: installing the '{package}' package with apt-get ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        _apt_updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass
class PgTarget:
    url: str
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> PgTarget:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise ServiceError(f"DATABASE_URL must be a postgres:// URL, got {url!r}")
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ServiceError("DATABASE_URL names no database (postgres://user@host:port/NAME)")
        return cls(
            url,
            parts.hostname or "127.0.0.1",
            parts.port or 5432,
            unquote(parts.username or "postgres"),
            unquote(parts.password or ""),
            database,
        )

    def connect(self, database: str, timeout: int = 3):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database,
            connect_timeout=timeout,
            autocommit=True,
        )


_REFUSALS = ("authentication failed", "password", "pg_hba.conf", "role", "permission denied")


def pg_answers(target: PgTarget) -> bool:
    """True when a PostgreSQL server accepts our user (on any database) at the address."""
    import psycopg

    for database in ("postgres", target.database, "template1"):
        try:
            with target.connect(database):
                return True
        except psycopg.OperationalError as exc:
            text = str(exc)
            if "does not exist" in text and "database" in text:
                continue
            if any(sign in text for sign in _REFUSALS):
                # The server answered but refused us: not ours to paper over with another one.
                raise ServiceError(
                    f"PostgreSQL at {target.host}:{target.port} refused the "
                    f"connection: {text.strip()}"
                ) from None
            return False
    return False


def ensure_database(target: PgTarget) -> None:
    with target.connect("postgres") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if not exists:
            from psycopg import sql

            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
            say(f"created database {target.database!r}")


def pg_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    apt_install("postgresql", "PostgreSQL (initdb, pg_ctl)")
    return pg_bindir()


def as_postgres(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run a PostgreSQL tool as the postgres user when we are root, from a folder it can enter."""
    return subprocess.run(
        [*runs_as_postgres(), *command], check=False, cwd="/", stdout=subprocess.DEVNULL
    )


def runs_as_postgres() -> list[str]:
    """Prefix for PostgreSQL commands: the server refuses to run as root."""
    if not is_root():
        return []
    return ["runuser", "-u", "postgres", "--"]


def can_postgres_use(path: Path) -> bool:
    if not is_root():
        return True
    return as_postgres(["test", "-x", str(path)]).returncode == 0


def pg_private_dir(port: int) -> Path:
    """Where the private cluster lives: var/ when the postgres user can reach it.

    When it cannot (a checkout under a private temporary folder, run as root), the cluster goes
    to /var/tmp under a name derived from this checkout, and var/ records where.
    """
    VAR.mkdir(exist_ok=True)
    preferred = VAR / f"postgres-{port}"
    if can_postgres_use(VAR):
        return preferred
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]  # noqa: S324 - a name, not security
    # A fixed, checkout-specific name (not a temp file): a later `up` must find the same cluster.
    fallback = Path("/var/tmp") / f"vendkiosk-{digest}" / f"postgres-{port}"  # noqa: S108
    fallback.parent.mkdir(parents=True, exist_ok=True)
    if not preferred.is_symlink() and not preferred.exists():
        preferred.symlink_to(fallback)
    return fallback


def start_private_postgres(
    target: PgTarget, *, also_listen: str = "", clients: str = "", options: str = ""
) -> None:
    """A private cluster on 127.0.0.1:`target.port`. `also_listen` adds an address to listen on
    and `clients` a network (CIDR) whose connections are trusted — for worker hosts that reach
    it over a link (tests/scaleout); `options` are extra `-c name=value` server settings."""
    bindir = pg_bindir()
    datadir = pg_private_dir(target.port)
    if is_root():
        datadir.mkdir(parents=True, exist_ok=True)
        shutil.chown(datadir, "postgres", "postgres")
        datadir.chmod(0o700)
        if datadir.parent != VAR:
            shutil.chown(datadir.parent, "postgres", "postgres")
    if not (datadir / "PG_VERSION").exists():
        say(f"initialising a private PostgreSQL cluster in {datadir}")
        initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", target.user, "--auth=trust"]
        as_postgres([*initdb, "-E", "UTF8", "--no-locale"]).check_returncode()
        # Created by this start: `down --purge` may delete it (kept through restarts until a stop).
        (VAR / f"postgres-{target.port}.created").write_text(str(datadir))
    if clients:
        hba = datadir / "pg_hba.conf"
        line = f"host all all {clients} trust"
        if line not in hba.read_text().splitlines():
            with hba.open("a") as conf:  # root, or the cluster's own user
                conf.write(line + "\n")
    listen = ",".join(["127.0.0.1", *([also_listen] if also_listen else [])])
    say(f"starting private PostgreSQL on {listen}:{target.port}")
    server_options = f"-p {target.port} -k {datadir} -c listen_addresses={listen} {options}"
    log = str(datadir / "server.log")
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", log, "-o", server_options]
    as_postgres([*pg_ctl, "-w", "-t", "60", "start"]).check_returncode()
    (VAR / f"postgres-{target.port}.started").write_text(str(datadir))


def stop_private_postgres(port: int, *, purge: bool = False) -> None:
    """Stop the cluster started on `port`; with `purge`, also delete its files when it was
    created since it was last stopped (a throwaway one: tests, not a checkout's `make run`)."""
    marker = VAR / f"postgres-{port}.started"
    created = VAR / f"postgres-{port}.created"
    if not marker.exists():
        return
    datadir = Path(marker.read_text().strip())
    say(f"stopping private PostgreSQL on port {port}")
    as_postgres([str(pg_bindir() / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"])
    marker.unlink(missing_ok=True)
    if purge and created.exists():
        say(f"deleting its files ({datadir})")
        shutil.rmtree(datadir, ignore_errors=True)
        link = VAR / f"postgres-{port}"
        if link.is_symlink():
            link.unlink()
        if datadir.parent != VAR:  # the /var/tmp folder of this checkout, when now empty
            with contextlib.suppress(OSError):
                datadir.parent.rmdir()
    created.unlink(missing_ok=True)


def ensure_postgres(url: str) -> tuple[str, bool]:
    target = PgTarget.parse(url)
    started = False
    if not pg_answers(target):
        if target.host not in LOCAL_HOSTS:
            raise ServiceError(
                f"nothing answers at DATABASE_URL ({target.host}:{target.port}); "
                "start that server, or unset DATABASE_URL for a local one"
            )
        say(f"no PostgreSQL answers on {target.host}:{target.port}")
        start_private_postgres(target)
        started = True
        if not pg_answers(target):
            raise ServiceError(
                "the private PostgreSQL did not come up; see var/postgres-*/server.log"
            )
    ensure_database(target)
    return url, started


# --- Redis -------------------------------------------------------------------------------------


def redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH", b"-ERR"))


REDIS_BROKER_ARGS = (
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--maxmemory-policy",
    "noeviction",
)


def start_private_redis(port: int, *, also_bind: str = "") -> None:
    """A private Redis on 127.0.0.1:`port` (and on `also_bind`, for hosts over a link)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        apt_install("redis-server", "Redis (redis-server)")
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    workdir = VAR / f"redis-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"starting private Redis on 127.0.0.1:{port}")
    subprocess.run(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            *([also_bind] if also_bind else []),
            # Reached over a private link without a password (protected mode would refuse it).
            *(["--protected-mode", "no"] if also_bind else []),
            "--daemonize",
            "yes",
            "--pidfile",
            str(workdir / "redis.pid"),
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
            # The broker settings of deploy/redis/vendkiosk.conf (docs/operations.md): an
            # append-only file flushed every second, and never evicting a queued message.
            *REDIS_BROKER_ARGS,
        ],
        check=True,
    )
    for _ in range(50):
        if redis_answers("127.0.0.1", port):
            break
        time.sleep(0.1)
    (VAR / f"redis-{port}.started").write_text(str(workdir / "redis.pid"))


def stop_private_redis(port: int) -> None:
    marker = VAR / f"redis-{port}.started"
    if not marker.exists():
        return
    say(f"stopping private Redis on port {port}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"SHUTDOWN NOSAVE\r\n")
            sock.recv(64)
    except OSError:
        pass
    marker.unlink(missing_ok=True)


def ensure_redis(url: str) -> tuple[str, bool]:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ServiceError(f"REDIS_URL must be a redis:// URL, got {url!r}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if redis_answers(host, port):
        return url, False
    if host not in LOCAL_HOSTS:
        raise ServiceError(
            f"nothing answers at REDIS_URL ({host}:{port}); start that server, "
            "or unset REDIS_URL for a local one"
        )
    say(f"no Redis answers on {host}:{port}")
    start_private_redis(port)
    if not redis_answers(host, port):
        raise ServiceError(f"the private Redis did not come up; see var/redis-{port}/redis.log")
    return url, True


# --- Commands ----------------------------------------------------------------------------------


def up(env_file: Path) -> None:
    database_url, pg_started = ensure_postgres(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    redis_url, redis_started = ensure_redis(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    started = [name for name, flag in (("postgres", pg_started), ("redis", redis_started)) if flag]
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(
        f"DATABASE_URL={database_url}\nREDIS_URL={redis_url}\n"
        f'VK_STARTED_SERVICES="{" ".join(started)}"\n'
    )
    pg = PgTarget.parse(database_url)
    pg_note = " (private)" if pg_started else ""
    redis_note = " (private)" if redis_started else ""
    say(
        f"PostgreSQL: {pg.host}:{pg.port}{pg_note}; Redis: {urlsplit(redis_url).netloc}{redis_note}"
    )


def down(only: set[str] | None, *, purge: bool = False) -> None:
    for marker in sorted(VAR.glob("*.started")) if VAR.exists() else []:
        name, _, port = marker.stem.rpartition("-")
        if only is not None and name not in only:
            continue
        if name == "postgres":
            stop_private_postgres(int(port), purge=purge)
        elif name == "redis":
            stop_private_redis(int(port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="find or start PostgreSQL and Redis")
    up_parser.add_argument("--env-file", type=Path, default=VAR / "services.env")
    down_parser = sub.add_parser("down", help="stop private instances started under var/")
    down_parser.add_argument(
        "--only", default=None, help="space-separated names (postgres, redis); default: all"
    )
    down_parser.add_argument(
        "--purge",
        action="store_true",
        help="also delete the files of a PostgreSQL cluster its start created (throwaway: tests)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.env_file)
        else:
            down(None if args.only is None else set(args.only.split()), purge=args.purge)
    except ServiceError as exc:
        say(f"error: {exc}")
        return 1
    except subprocess.CalledProcessError as exc:
        say(f"error: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
