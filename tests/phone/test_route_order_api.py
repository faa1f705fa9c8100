"""The service round's order: owners set each terminal's place in the route through the task
settings, and "my tasks" (what the Mini App lists) follow it."""

from __future__ import annotations

import pytest

from tasks_app.models import Task
from tenancy.models import Role
from tests.helpers.telegram import make_terminal
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def test_my_tasks_follow_the_route_set_in_the_task_settings() -> None:
    owner = make_tenant(Role.OWNER)
    worker = make_tenant(Role.SERVICE, owner=owner.owner)
    names = ["Альфа", "Бета", "Гамма"]
    terminals = [make_terminal(owner.owner, name) for name in names]
    for terminal in terminals:
        Task.objects.create(owner=owner.owner, terminal=terminal, assignee=worker.user)

    def order() -> list[str]:
        body = worker.client.get("/api/tasks/my/").json()
        return [task["terminal_name"] for task in body["results"]]

    assert order() == names  # no route yet: by name
    for terminal, place in zip(terminals, (3, None, 1), strict=True):
        answer = owner.client.patch(
            f"/api/task-settings/{terminal.pk}/", {"route_position": place}, format="json"
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["route_position"] == place
    assert order() == ["Гамма", "Альфа", "Бета"]  # numbered first, then the rest by name
    refused = worker.client.patch(
        f"/api/task-settings/{terminals[1].pk}/", {"route_position": 1}, format="json"
    )
    assert refused.status_code == 403
    bad = owner.client.patch(
        f"/api/task-settings/{terminals[1].pk}/", {"route_position": 0}, format="json"
    )
    assert bad.status_code == 400
