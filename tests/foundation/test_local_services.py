"""`make run`/`make test` start their own PostgreSQL and Redis where none answers.

These run deploy/local/services.py as a user would, against ports where nothing listens, with
its state in a private temporary folder (as in a fresh clone under /tmp).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

pytestmark = pytest.mark.services

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "services.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _services(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "VK_VAR_DIR": str(var_dir), **env}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_private_postgres_and_redis_start_where_nothing_answers(tmp_path: Path) -> None:
    pg_port, redis_port = _free_port(), _free_port()
    database_url = f"postgres://postgres@127.0.0.1:{pg_port}/vk_private"
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env_file = tmp_path / "services.env"
    var_dir = tmp_path / "var"
    try:
        up = ("up", "--env-file", str(env_file))
        urls = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
        started = _services(var_dir, *up, **urls)
        assert started.returncode == 0, started.stderr

        assert f"DATABASE_URL={database_url}" in env_file.read_text()
        assert 'VK_STARTED_SERVICES="postgres redis"' in env_file.read_text()
        with psycopg.connect(
            database_url.replace("postgres://", "postgresql://"), connect_timeout=5
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("vk_private",)
        client = redis.Redis.from_url(redis_url)
        assert client.ping() is True
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
        client.close()

        again = _services(var_dir, *up, **urls)
        assert again.returncode == 0, again.stderr
        assert 'VK_STARTED_SERVICES=""' in env_file.read_text(), "a second up must reuse them"
        datadir = (var_dir / f"postgres-{pg_port}").resolve()  # under /var/tmp when run as root
        assert (datadir / "PG_VERSION").exists()
    finally:
        stopped = _services(var_dir, "down", "--purge")  # as `make test` stops what it started
    assert stopped.returncode == 0, stopped.stderr
    assert not datadir.exists(), "a cluster created for the run is deleted with --purge"
    assert not (var_dir / f"postgres-{pg_port}").exists()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(database_url.replace("postgres://", "postgresql://"), connect_timeout=2)


def test_purge_keeps_a_cluster_that_this_start_did_not_create(tmp_path: Path) -> None:
    """`make run` created it and stopped; `make test` starts it again: its stop keeps the data."""
    pg_port, redis_port = _free_port(), _free_port()
    urls = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/vk_kept",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    var_dir = tmp_path / "var"
    up = ("up", "--env-file", str(tmp_path / "services.env"))
    datadir = None
    try:
        assert _services(var_dir, *up, **urls).returncode == 0
        datadir = (var_dir / f"postgres-{pg_port}").resolve()
        assert _services(var_dir, "down").returncode == 0  # `make run` ends: the data stays
        restarted = _services(var_dir, *up, **urls)
        assert restarted.returncode == 0, restarted.stderr
        assert "initialising" not in restarted.stderr, restarted.stderr
        stopped = _services(var_dir, "down", "--purge")
        assert stopped.returncode == 0, stopped.stderr
        assert "stopping private PostgreSQL" in stopped.stderr
        assert (datadir / "PG_VERSION").exists(), "a purge deleted a cluster it did not create"
    finally:
        _services(var_dir, "down")
        if datadir is not None:  # this test's own cluster (and its /var/tmp folder, if empty)
            shutil.rmtree(datadir, ignore_errors=True)
            with contextlib.suppress(OSError):
                datadir.parent.rmdir()


def test_remote_address_that_does_not_answer_is_reported_not_replaced(tmp_path: Path) -> None:
    result = _services(
        tmp_path / "var",
        "up",
        "--env-file",
        str(tmp_path / "env"),
        DATABASE_URL="postgres://postgres@db.invalid:5432/vk",
    )
    assert result.returncode == 1
    assert "nothing answers at DATABASE_URL (db.invalid:5432)" in result.stderr
