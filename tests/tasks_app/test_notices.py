"""Who hears about task events and what they read (Russian, HTML-escaped, from template files)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from notifications.models import Delivery
from tasks_app import notices
from tasks_app.models import Task
from tenancy.models import Owner, Role
from tests.foundation.test_settings import PROD_SECRETS
from tests.helpers.telegram import chat_of, make_person, make_terminal

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def team():
    owner = Owner.objects.create(name="Альфа")
    return {
        "owner": owner,
        "boss": make_person(owner, Role.OWNER, name="Анна"),
        "admin": make_person(owner, Role.ADMIN, name="Борис"),
        "service": make_person(owner, Role.SERVICE, name="Виктор <мастер>"),
        "terminal": make_terminal(owner, "ТЦ <Плаза>"),
    }


def texts_for(user) -> list[str]:
    return list(Delivery.objects.filter(recipient=chat_of(user)).values_list("text", flat=True))


def test_automatic_task_goes_to_assignee_and_summary_to_owner_and_admins(team) -> None:
    task = Task.objects.create(
        owner=team["owner"],
        terminal=team["terminal"],
        assignee=team["service"],
        is_auto=True,
        details={"critical_items": ["Размешиватели", "Трубочки"], "missing_items": ["Какао"]},
    )
    notices.restock_task_created(task_id=task.pk)

    (assignee_text,) = texts_for(team["service"])
    assert assignee_text == (
        "<b>🔔 Новые задачи назначены вам:</b>\n\n"
        "📦 <b>Пополнение</b> - ТЦ &lt;Плаза&gt;\n"
        "   Требуют пополнения: Размеши., Трубочки, Какао (не настроено)\n\n"
        "Откройте приложение для выполнения задач 👇"
    )
    for person in (team["boss"], team["admin"]):
        (summary,) = texts_for(person)
        assert summary.startswith("<b>📋 Созданы новые сервисные задачи:</b>")
        assert "Назначено: Виктор &lt;мастер&gt;" in summary


def test_unassigned_task_tells_owner_and_admins_it_is_unassigned(team) -> None:
    task = Task.objects.create(
        owner=team["owner"],
        terminal=team["terminal"],
        is_auto=True,
        details={"critical_items": ["Кофе"]},
    )
    notices.restock_task_created(task_id=task.pk)
    for person in (team["boss"], team["admin"]):
        (text,) = texts_for(person)
        assert "Исполнитель не назначен" in text and "Кофе" in text
    assert texts_for(team["service"]) == []


def test_items_added_reports_only_the_additions(team) -> None:
    task = Task.objects.create(
        owner=team["owner"],
        terminal=team["terminal"],
        assignee=team["service"],
        details={"critical_items": ["Кофе", "Вода"]},
    )
    notices.restock_task_items_added(task_id=task.pk, added_items=["Вода"])
    (text,) = texts_for(team["service"])
    assert "Добавлены: Вода" in text and "Кофе" not in text


def test_completion_goes_to_owner_and_admins_except_the_completer(team) -> None:
    task = Task.objects.create(owner=team["owner"], terminal=team["terminal"], status="completed")
    notices.task_completed(task_id=task.pk, completed_by_user_id=team["admin"].pk)
    assert texts_for(team["admin"]) == []
    assert texts_for(team["service"]) == []
    (text,) = texts_for(team["boss"])
    assert text == (
        "✅ Задача выполнена: <b>Пополнение</b>\n\n"
        "📍 Стойка: <b>ТЦ &lt;Плаза&gt;</b>\n"
        "👤 Исполнитель: <b>Борис</b>"
    )


def test_cancellation_goes_to_the_assignee(team) -> None:
    task = Task.objects.create(
        owner=team["owner"], terminal=team["terminal"], assignee=team["service"], status="cancelled"
    )
    notices.task_cancelled(task_id=task.pk, cancelled_by_user_id=team["boss"].pk)
    (text,) = texts_for(team["service"])
    assert text.endswith("Задача была отменена администратором.")
    assert texts_for(team["boss"]) == []


def test_prod_with_telegram_provider_and_no_token_fails_naming_the_variable() -> None:
    env = {
        **PROD_SECRETS,
        "PATH": "/usr/bin:/bin",
        "DEBUG": "0",
        "TELEGRAM_PROVIDER": "telegram",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN: is required" in result.stderr
