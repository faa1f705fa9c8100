"""Settings come from the environment; bad or missing values stop the start naming the variable."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import (
    EnvError,
    env_bool,
    env_database_url,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    redis_url_with_db,
)

ROOT = Path(__file__).resolve().parents[2]


def test_required_value_missing_names_the_variable() -> None:
    with pytest.raises(EnvError, match=r"^SECRET_KEY: is required"):
        env_str("SECRET_KEY", environ={})


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (env_int, "ten", "WORKERS: expected an integer"),
        (env_bool, "maybe", "WORKERS: expected a boolean"),
        (env_database_url, "mysql://x/db", "WORKERS: expected a postgres:// URL"),
        (env_database_url, "postgres://127.0.0.1:5432/", "WORKERS: names no database"),
        (env_database_url, "postgres://127.0.0.1:port/db", "WORKERS: has a malformed port"),
        (env_redis_url, "http://127.0.0.1:6379/0", "WORKERS: expected a redis:// URL"),
        (env_redis_url, "redis://127.0.0.1:6379/x", "WORKERS: database index must be a number"),
    ],
)
def test_malformed_value_names_the_variable(reader, value: str, message: str) -> None:
    with pytest.raises(EnvError, match=f"^{message}"):
        reader("WORKERS", environ={"WORKERS": value})


def test_typed_values_are_parsed() -> None:
    environ = {
        "N": " 7 ",
        "FLAG": "yes",
        "HOSTS": "a.example, b.example,,",
        "DB": "postgres://u:p%40ss@db.local:6543/vk?sslmode=require",
    }
    assert env_int("N", environ=environ) == 7
    assert env_bool("FLAG", environ=environ) is True
    assert env_bool("UNSET", False, environ=environ) is False
    assert env_list("HOSTS", environ=environ) == ["a.example", "b.example"]
    db = env_database_url("DB", environ=environ)
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u",
        "p@ss",
        "db.local",
        "6543",
        "vk",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert redis_url_with_db("redis://h:6379/0", 15) == "redis://h:6379/15"
    with pytest.raises(EnvError, match="N: must be at least 10"):
        env_int("N", minimum=10, environ=environ)


def _start(env_overrides: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "AGENT_ENV", "DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prod_start_without_secret_key_exits_naming_it() -> None:
    result = _start({"AGENT_ENV": "PROD"}, "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_prod_web_and_worker_refuse_to_import_without_secret_key() -> None:
    for module in ("config.wsgi", "celery_app"):
        code = f"import {module}; from django.conf import settings; settings.SECRET_KEY"
        result = _start({"AGENT_ENV": "PROD"}, "-c", code)
        assert result.returncode != 0, module
        assert "SECRET_KEY" in result.stderr, module


# Everything PROD requires with the default providers; each capability adds its secrets here.
PROD_SECRETS = {
    "AGENT_ENV": "PROD",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "vk.example",
    "METRICS_TOKEN": "scrape-token",
    "VENDISTA_ENCRYPTION_KEYS": "1oE3JpCIgUq9Al6yFQw4Fq2QzrRCrPj8BiSkqCWr8UM=",
    # PROD takes payments through YooKassa.
    "YOOKASSA_SHOP_ID": "123456",
    "YOOKASSA_SECRET_KEY": "live_secret",
    "YOOKASSA_WEBHOOK_URL": "https://vk.example/api/payments/webhook",
}


def test_prod_start_with_its_secrets_passes_checks() -> None:
    result = _start(PROD_SECRETS, "manage.py", "check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(set(PROD_SECRETS) - {"AGENT_ENV"}))
def test_prod_start_without_one_secret_exits_naming_it(missing: str) -> None:
    env = {name: value for name, value in PROD_SECRETS.items() if name != missing}
    result = _start({**env, missing: ""}, "manage.py", "check")
    assert result.returncode == 2
    assert missing in result.stderr


def test_malformed_value_in_dev_exits_naming_it() -> None:
    result = _start({"DB_CONN_MAX_AGE": "forever"}, "manage.py", "check")
    assert result.returncode == 2
    assert "DB_CONN_MAX_AGE: expected an integer" in result.stderr


def test_env_example_lists_every_variable_the_settings_read() -> None:
    source = (ROOT / "config" / "settings.py").read_text()
    import re

    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no env reads found: the pattern is stale"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"


def test_prod_refuses_the_payment_emulator() -> None:
    result = _start({**PROD_SECRETS, "PAYMENTS_PROVIDER": "dev"}, "manage.py", "check")
    assert result.returncode == 2
    assert "PAYMENTS_PROVIDER: the dev emulator cannot take payments" in result.stderr


def test_prod_deploy_check_is_clean_with_https_on_by_default() -> None:
    env = {**PROD_SECRETS, "SECRET_KEY": secrets.token_urlsafe(50)}
    result = _start(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)"
    )
    shown = _start({**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, "-c", code)
    assert shown.stdout.split() == ["True", "31536000", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    # Each is configurable (TLS may end at a load balancer that redirects itself).
    off = {**env, "SECURE_SSL_REDIRECT": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    assert _start(off, "-c", code).stdout.split()[0] == "False"
