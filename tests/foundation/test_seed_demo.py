"""`manage.py seed_demo` gives a newcomer working logins, and is safe to run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest

from tenancy.demo import DEMO_LOGINS
from tenancy.models import Membership, Owner, Role


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_an_owner_and_a_login_per_role_and_prints_them() -> None:
    printed = _seed()

    owner = Owner.objects.get()
    roles = set(Membership.objects.filter(owner=owner).values_list("role", flat=True))
    assert roles == {Role.OWNER, Role.ADMIN, Role.SERVICE}
    for login in DEMO_LOGINS:
        assert login.username in printed and login.password in printed
        assert (
            authenticate(HttpRequest(), username=login.username, password=login.password)
            is not None
        )


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing_but_restores_passwords() -> None:
    _seed()
    user = get_user_model().objects.get(username="demo-admin")
    user.set_password("changed-by-someone")
    user.save()
    counts = (Owner.objects.count(), Membership.objects.count(), get_user_model().objects.count())

    _seed()

    assert (
        Owner.objects.count(),
        Membership.objects.count(),
        get_user_model().objects.count(),
    ) == counts
    assert (
        authenticate(HttpRequest(), username="demo-admin", password="admin-demo-2026") is not None
    )


@pytest.mark.django_db
def test_seed_demo_refuses_prod(settings) -> None:
    settings.IS_PROD = True
    with pytest.raises(CommandError, match="PROD"):
        _seed()
    assert not Owner.objects.exists()
