"""Reusable proof that an endpoint never shows one owner's rows to another.

    assert_owner_isolation(list_url="/api/members/", make_row=lambda owner: ...)

It builds two tenants, gives each a row, and as tenant B checks the list (every page), the detail
of A's row, and an attempt to act for A through the `X-Owner-Id` header. It also checks that A sees
its own row, so an endpoint that shows nothing at all cannot pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tenancy.models import Membership, Owner, Role

_counter = itertools.count(1)


@dataclass
class Tenant:
    owner: Owner
    user: Any
    membership: Membership
    client: APIClient


def make_tenant(role: str = Role.OWNER, owner: Owner | None = None) -> Tenant:
    """An owner (new unless given), a user with `role` in it, and an API client with its token."""
    n = next(_counter)
    owner = owner or Owner.objects.create(name=f"Tenant {n}")
    user = get_user_model().objects.create_user(
        username=f"user{n}-{owner.pk}", email=f"user{n}@example.com"
    )
    membership = Membership.objects.create(owner=owner, user=user, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return Tenant(owner=owner, user=user, membership=membership, client=client)


def _all_ids(client: APIClient, first_url: str) -> set[Any]:
    ids: set[Any] = set()
    url: str | None = first_url
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        ids.update(row["id"] for row in rows)
        url = body.get("next") if isinstance(body, dict) else None
    return ids


def assert_owner_isolation(
    *,
    list_url: str,
    make_row: Callable[[Owner], Model],
    detail_url: Callable[[Any], str] | None = None,
    role: str = Role.OWNER,
) -> None:
    """Fail unless tenant B, with `role`, can neither list, read nor claim tenant A's rows."""
    detail_url = detail_url or (lambda pk: f"{list_url.rstrip('/')}/{pk}/")
    a, b = make_tenant(role), make_tenant(role)
    row_a, row_b = make_row(a.owner), make_row(b.owner)

    seen_by_a = _all_ids(a.client, list_url)
    assert row_a.pk in seen_by_a, "tenant A does not see its own row: the check would be vacuous"
    seen_by_b = _all_ids(b.client, list_url)
    assert row_b.pk in seen_by_b, "tenant B does not see its own row: the check would be vacuous"
    assert row_a.pk not in seen_by_b, f"{list_url} shows tenant A's row to tenant B"

    response = b.client.get(detail_url(row_a.pk))
    assert response.status_code == 404, (
        f"{detail_url(row_a.pk)} answered {response.status_code} to another tenant"
    )

    response = b.client.get(list_url, HTTP_X_OWNER_ID=str(a.owner.pk))
    assert response.status_code == 403, (
        f"{list_url} with X-Owner-Id of another tenant answered {response.status_code}"
    )
