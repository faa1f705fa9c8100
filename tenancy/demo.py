"""Demo data for this app: one owner and a person for each role (DEV only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from tenancy.models import Membership, Owner, Role

DEMO_OWNER_NAME = "Демо: Кофе и Автосервис"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    is_staff: bool = False


DEMO_LOGINS = (
    DemoLogin("staff", "staff-demo-2026", "platform staff (Django admin)", is_staff=True),
    DemoLogin("demo-owner", "owner-demo-2026", Role.OWNER),
    DemoLogin("demo-admin", "admin-demo-2026", Role.ADMIN),
    DemoLogin("demo-service", "service-demo-2026", Role.SERVICE),
)


@transaction.atomic
def seed(log: list[str]) -> Owner:
    """Create or reset the demo owner and logins. Safe to re-run: passwords reset, rows reused."""
    User = get_user_model()
    owner, _ = Owner.objects.get_or_create(name=DEMO_OWNER_NAME)
    log.append(f"Owner #{owner.pk}: {owner.name}")
    for login in DEMO_LOGINS:
        user, _ = User.objects.get_or_create(
            username=login.username, defaults={"email": f"{login.username}@example.com"}
        )
        user.is_staff = login.is_staff
        user.is_superuser = login.is_staff
        user.is_active = True
        user.set_password(login.password)
        user.save()
        if not login.is_staff:
            Membership.objects.update_or_create(
                owner=owner, user=user, defaults={"role": login.role}
            )
        token, _ = Token.objects.get_or_create(user=user)
        log.append(
            f"  {login.role:<30} login {login.username:<13} password {login.password:<18} "
            f"API token {token.key}"
        )
    return owner
