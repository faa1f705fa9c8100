"""Serializer fields that accept only ids of the acting owner's own objects."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers


class OwnedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key of an object that belongs to the owner the request acts for.

    Another owner's id reads exactly like an id that does not exist, so a request body can
    never reach (or probe) another tenant's rows.
    """

    def __init__(self, *, owner_field: str = "owner", **kwargs: Any) -> None:
        self.owner_field = owner_field
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert queryset is not None, "give the field a queryset"
        request = self.context.get("request")
        membership = getattr(request, "membership", None)
        if membership is None:
            return queryset.none()
        return queryset.filter(**{self.owner_field: membership.owner_id})


class MemberField(OwnedPrimaryKeyRelatedField):
    """The user id of a person with a membership in the acting owner."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(owner_field="memberships__owner", **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().distinct()
