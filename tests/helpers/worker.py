"""A real `celery worker` in its own process, on the test database and the test Redis, for the
tests that kill workers (SIGKILL) and watch what survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def worker_environment(**overrides: str) -> dict[str, str]:
    """This process's environment pointed at the test database and the test Redis database."""
    # prometheus_client turns multiprocess mode on when the variable merely exists.
    dropped = {"REDIS_DB", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
    )
    env.update(overrides)
    return env


class WorkerProcess:
    """`celery -A celery_app worker` on some queues; `kill()` SIGKILLs its whole process group."""

    def __init__(
        self, env: dict[str, str], *, queues: str, pool: str = "prefork", concurrency: int = 1
    ) -> None:
        self.env = env
        self.queues = queues
        self.pool = pool
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_app",
                "worker",
                "-Q",
                self.queues,
                "-P",
                self.pool,
                "-c",
                str(self.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def pool_children(self) -> list[int]:
        """The pool processes (prefork) that execute the tasks."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
