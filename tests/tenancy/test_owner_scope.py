"""A request acts for one owner; nobody sees another owner's rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tenancy.models import Membership, Owner, Role
from tests.helpers.tenancy import assert_owner_isolation, make_tenant


def _member_of(owner: Owner) -> Membership:
    user = get_user_model().objects.create_user(username=f"colleague-of-{owner.pk}")
    return Membership.objects.create(owner=owner, user=user, role=Role.SERVICE)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_members_endpoint_never_shows_another_owners_people(role: str) -> None:
    assert_owner_isolation(list_url="/api/members/", make_row=_member_of, role=role)


@pytest.mark.django_db
def test_isolation_helper_catches_a_leaking_endpoint(settings) -> None:
    """The helper itself must fail on an endpoint that forgets the owner filter."""
    settings.ROOT_URLCONF = "tests.tenancy.leaky_urls"
    with pytest.raises(AssertionError, match="shows tenant A's row to tenant B"):
        assert_owner_isolation(list_url="/leaky/members/", make_row=_member_of)


@pytest.mark.django_db
def test_service_staff_may_not_list_members() -> None:
    tenant = make_tenant(Role.SERVICE)
    response = tenant.client.get("/api/members/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_person_in_two_owners_must_choose_one() -> None:
    first = make_tenant(Role.OWNER)
    second_owner = Owner.objects.create(name="Second business")
    Membership.objects.create(owner=second_owner, user=first.user, role=Role.ADMIN)
    _member_of(first.owner)
    _member_of(second_owner)

    unchosen = first.client.get("/api/members/")
    assert unchosen.status_code == 400
    assert "X-Owner-Id" in unchosen.json()

    chosen = first.client.get("/api/members/", HTTP_X_OWNER_ID=str(second_owner.pk))
    assert chosen.status_code == 200
    owners = set(
        Membership.objects.filter(
            pk__in=[row["id"] for row in chosen.json()["results"]]
        ).values_list("owner", flat=True)
    )
    assert owners == {second_owner.pk}

    garbage = first.client.get("/api/members/", HTTP_X_OWNER_ID="second")
    assert garbage.status_code == 400


@pytest.mark.django_db
def test_person_without_membership_is_refused() -> None:
    user = get_user_model().objects.create_user(username="drifter", password="pw-123456789")
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/members/").status_code == 403


@pytest.mark.django_db
def test_me_lists_the_owners_one_may_act_for() -> None:
    tenant = make_tenant(Role.ADMIN)
    response = tenant.client.get("/api/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == tenant.user.username
    assert body["memberships"] == [
        {"owner_id": tenant.owner.pk, "owner_name": tenant.owner.name, "role": "admin"}
    ]


@pytest.mark.django_db
def test_people_without_an_e_mail_address_are_listed_and_described_by_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    boss = make_tenant(Role.OWNER)
    nameless = get_user_model().objects.create_user(username="no-mail", email="")
    Membership.objects.create(owner=boss.owner, user=nameless, role=Role.SERVICE)
    rows = boss.client.get("/api/members/").json()["results"]
    assert {row["username"]: row["email"] for row in rows}["no-mail"] == ""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    email = schema["components"]["schemas"]["Membership"]["properties"]["email"]
    assert "format" not in email  # an empty string is a valid value
