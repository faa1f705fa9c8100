"""Staff tasks: the working list, my tasks with ingredient levels, manual creation, completion
with stock entry, cancelling, and who gets each terminal's restock tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.models import Inventory
from inventory.reference import units
from inventory.services import containers_unconfigured, machine_rows
from notifications.services import person_name
from tasks_app import services
from tasks_app.models import Task, TaskStatus, TaskType
from tenancy.fields import MemberField, OwnedPrimaryKeyRelatedField
from tenancy.models import Role
from tenancy.permissions import STAFF_ROLES, ActsForOwner
from tenancy.views import OwnerScopedMixin
from vendista.models import Terminal


class IngredientLevelSerializer(serializers.Serializer):
    name = serializers.CharField()
    current_stock = serializers.DecimalField(max_digits=12, decimal_places=3)
    max_stock = serializers.DecimalField(max_digits=12, decimal_places=3)
    critical_stock = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    percentage = serializers.IntegerField()
    critical = serializers.BooleanField()
    unit = serializers.ChoiceField(
        choices=["g", "ml", "pcs", ""], help_text="base unit of the ingredient (empty: unknown)"
    )


def ingredient_levels(rows: list[Inventory]) -> list[dict[str, Any]]:
    """The machine containers that have a capacity, with fill level and the critical flag."""
    known_units = units()
    return [
        {
            "name": row.item_name,
            "current_stock": row.current_stock,
            "max_stock": row.max_stock,
            "critical_stock": row.critical_stock,
            "percentage": row.fill_percentage(),
            "critical": row.is_critical(),
            "unit": known_units.get(row.item_name, ""),
        }
        for row in rows
        if row.is_configured()
    ]


class TaskSerializer(serializers.ModelSerializer):
    terminal = OwnedPrimaryKeyRelatedField(queryset=Terminal.objects.filter(is_active=True))
    terminal_name = serializers.CharField(source="terminal.name", read_only=True)
    assignee = MemberField(required=False, allow_null=True)
    assignee_name = serializers.SerializerMethodField()
    task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.RESTOCK)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "terminal",
            "terminal_name",
            "task_type",
            "status",
            "is_auto",
            "assignee",
            "assignee_name",
            "details",
            "comment",
            "created_at",
            "completed_at",
            "cancelled_at",
            "completion_photo",
            "pick_list",
        ]
        # The one-open-restock-task rule is the service's (a 409 naming the open task).
        validators: list[Any] = []
        read_only_fields = [
            "id",
            "status",
            "is_auto",
            "details",
            "created_at",
            "completed_at",
            "cancelled_at",
            "completion_photo",
            "pick_list",
        ]

    def get_assignee_name(self, task: Task) -> str | None:
        if task.assignee_id is None:
            return None
        return person_name(task.assignee_id, task.owner_id)


class BringSerializer(serializers.Serializer):
    item_name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit = serializers.CharField()


class MyTaskSerializer(TaskSerializer):
    ingredients = serializers.SerializerMethodField()
    bring = serializers.SerializerMethodField()

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "ingredients", "bring"]

    @extend_schema_field(BringSerializer(many=True))
    def get_bring(self, task: Task) -> list[dict[str, Any]]:
        """What the task's pick list brings to this terminal (empty without one)."""
        if task.pick_list_id is None or task.pick_list is None:
            return []
        known_units = units()
        return [
            {
                "item_name": line.item_name,
                "quantity": f"{line.quantity:f}",
                "unit": known_units.get(line.item_name, ""),
            }
            for line in task.pick_list.lines.all()
            if line.terminal_id == task.terminal_id
        ]

    @extend_schema_field(IngredientLevelSerializer(many=True))
    def get_ingredients(self, task: Task) -> list[dict[str, Any]]:
        rows = getattr(task.terminal, "machine_rows", [])
        return IngredientLevelSerializer(ingredient_levels(rows), many=True).data  # type: ignore[return-value]


class StockEntrySerializer(serializers.Serializer):
    item_name = serializers.CharField(max_length=100, trim_whitespace=True)
    current_stock = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal(0))


MAX_PHOTO_BYTES = 10 * 1024 * 1024


class CompleteSerializer(serializers.Serializer):
    updated_stock = StockEntrySerializer(
        many=True,
        required=False,
        help_text="The machine's stock after the visit (absolute, base units). Required for "
        "restock tasks.",
    )

    photo = serializers.ImageField(
        required=False,
        help_text="Optional photo of the machine after the visit (multipart/form-data, where "
        "updated_stock is then a JSON string). At most 10 MB.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # A multipart form carries the list as one JSON text field.
        raw = data.get("updated_stock") if hasattr(data, "get") else None
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise ValidationError({"updated_stock": [_("Must be a JSON list.")]}) from None
            data = {
                "updated_stock": parsed,
                **({"photo": data["photo"]} if "photo" in data else {}),
            }
        return super().to_internal_value(data)

    def validate_photo(self, value: Any) -> Any:
        if value is not None and value.size > MAX_PHOTO_BYTES:
            raise ValidationError(_("The photo is larger than 10 MB."))
        return value

    def validate_updated_stock(self, value: list[dict[str, Any]]) -> dict[str, Decimal]:
        names = [row["item_name"] for row in value]
        if len(names) != len(set(names)):
            raise ValidationError(_("Each ingredient only once."))
        return {row["item_name"]: row["current_stock"] for row in value}


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    task_type = django_filters.ChoiceFilter(choices=TaskType.choices)
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    is_auto = django_filters.BooleanFilter()
    include_finished = django_filters.BooleanFilter(
        method="filter_noop",
        label="Also list tasks finished before today (Europe/Moscow)",
    )

    class Meta:
        model = Task
        fields = ["status", "task_type", "terminal", "assignee", "is_auto", "include_finished"]

    def filter_noop(self, queryset: QuerySet[Task], name: str, value: Any) -> QuerySet[Task]:
        return queryset  # applied in TaskViewSet.get_queryset


@contextmanager
def task_errors_as_http() -> Iterator[None]:
    """A task operation that cannot be done: a 409 for a state clash, else a 400 naming the
    field at fault."""
    try:
        yield
    except services.TaskError as error:
        if error.conflict:
            conflict = exceptions.APIException({error.field: [error.message]})
            conflict.status_code = status.HTTP_409_CONFLICT
            raise conflict from None
        raise ValidationError({error.field: [error.message]}) from None


COMPLETE_EXAMPLE = OpenApiExample(
    "Machine refilled",
    request_only=True,
    value={
        "updated_stock": [
            {"item_name": "Кофе", "current_stock": "1400"},
            {"item_name": "Стаканы", "current_stock": "300"},
        ]
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="The working list: open tasks and those finished today (Europe/Moscow)",
        parameters=[
            OpenApiParameter("include_finished", bool, description="Include older finished tasks")
        ],
    ),
    retrieve=extend_schema(summary="One task"),
    create=extend_schema(
        summary="Create a task by hand",
        description="A terminal has at most one open restock task: a second one is a 409.",
        examples=[
            OpenApiExample(
                "Restock by hand",
                request_only=True,
                value={"terminal": 7, "assignee": 12, "comment": "Привезти стаканы"},
            )
        ],
    ),
)
class TaskViewSet(
    OwnerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Restock and service tasks. Everyone reads, completes and sees their own tasks; owners and
    admins create and cancel tasks."""

    queryset = Task.objects.select_related("terminal")
    serializer_class = TaskSerializer
    permission_classes = (IsAuthenticated, ActsForOwner)
    filterset_class = TaskFilter
    ordering_fields = ["created_at", "completed_at"]
    ordering = ["-created_at", "-id"]
    action_roles = {
        "create": STAFF_ROLES,
        "cancel": STAFF_ROLES,
        "complete": tuple(Role),
        "my": tuple(Role),
    }

    def get_queryset(self) -> QuerySet[Task]:
        queryset = super().get_queryset()
        if self.action == "list" and self.request.query_params.get("include_finished") not in (
            "true",
            "True",
            "1",
        ):
            queryset = services.working_list(queryset)
        return queryset

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        with task_errors_as_http():
            serializer.instance = services.create_manual_task(
                self.owner.pk,
                data["terminal"].pk,
                task_type=data["task_type"],
                assignee_id=data["assignee"].pk if data.get("assignee") else None,
                comment=data.get("comment", ""),
                created_by_id=self.request.user.pk,
            )

    @extend_schema(
        summary="My open tasks, with the machine's ingredient levels",
        responses=MyTaskSerializer(many=True),
    )
    @action(detail=False, methods=["get"], filterset_class=None)
    def my(self, request: Request) -> Response:
        tasks = (
            Task.objects.filter(
                owner=self.owner, assignee_id=request.user.pk, status=TaskStatus.PENDING
            )
            .select_related("terminal")
            .prefetch_related(machine_rows("terminal__inventories"), "pick_list__lines")
            # The round's order: the terminal's place in the route, then by name.
            .order_by(
                F("terminal__assignment__route_position").asc(nulls_last=True),
                "terminal__name",
                "created_at",
                "id",
            )
        )
        page = self.paginate_queryset(tasks)
        data = MyTaskSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Complete a task, entering the machine's stock after a restock",
        description="Manual restock: at least one ingredient must rise. Automatic restock: every "
        "submitted ingredient that was critical must end above its critical level. Only machine "
        "rows change. Service staff complete their own or unassigned tasks.",
        request=CompleteSerializer,
        responses={200: TaskSerializer},
        examples=[COMPLETE_EXAMPLE],
    )
    @action(detail=True, methods=["post"], parser_classes=(JSONParser, MultiPartParser))
    def complete(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        if self.membership.role == Role.SERVICE and task.assignee_id not in (
            None,
            request.user.pk,
        ):
            raise exceptions.PermissionDenied(_("This task is assigned to someone else."))
        serializer = CompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with task_errors_as_http():
            task = services.complete_task(
                task.pk,
                serializer.validated_data.get("updated_stock", {}),
                user_id=request.user.pk,
                photo=serializer.validated_data.get("photo"),
            )
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(summary="Cancel an open task (kept for history)", request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        with task_errors_as_http():
            task = services.cancel_task(task.pk, user_id=request.user.pk)
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)


class AssignmentSerializer(serializers.ModelSerializer):
    terminal_name = serializers.CharField(source="name", read_only=True)
    restock_assignee = MemberField(allow_null=True, source="assignment.restock_assignee")
    route_position = serializers.IntegerField(
        source="assignment.route_position",
        allow_null=True,
        required=False,
        min_value=1,
        max_value=100_000,
        help_text="The terminal's place in the service round (the Mini App lists tasks in this "
        "order); null: after the numbered ones, by name",
    )
    needs_containers_config = serializers.SerializerMethodField()

    class Meta:
        model = Terminal
        fields = [
            "id",
            "terminal_name",
            "sales_since_cleaning",
            "restock_assignee",
            "route_position",
            "needs_containers_config",
        ]
        read_only_fields = ["id", "terminal_name", "sales_since_cleaning"]

    def get_needs_containers_config(self, terminal: Terminal) -> bool:
        return containers_unconfigured(getattr(terminal, "machine_rows", []))


@extend_schema_view(
    list=extend_schema(summary="Who gets each terminal's automatic restock tasks"),
    retrieve=extend_schema(summary="The restock assignee of one terminal"),
    update=extend_schema(
        summary="Set the restock assignee of a terminal (a member of the owner, or null)",
        examples=[OpenApiExample("Assign", value={"restock_assignee": 12}, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Set the restock assignee of a terminal",
        examples=[OpenApiExample("Unassign", value={"restock_assignee": None}, request_only=True)],
    ),
)
class AssignmentViewSet(
    OwnerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Task settings per terminal (the id is the terminal's). Owners and admins change them."""

    queryset = Terminal.objects.filter(is_active=True).select_related("assignment")
    serializer_class = AssignmentSerializer
    permission_classes = (IsAuthenticated, ActsForOwner)
    ordering = ["name", "id"]
    write_roles = STAFF_ROLES

    def get_queryset(self) -> QuerySet[Terminal]:
        return super().get_queryset().prefetch_related(machine_rows())

    def perform_update(self, serializer: Any) -> None:
        change = serializer.validated_data.get("assignment", {})
        if "restock_assignee" in change:  # a PATCH without it changes nothing
            assignee = change["restock_assignee"]
            services.set_restock_assignee(serializer.instance.pk, assignee.pk if assignee else None)
        if "route_position" in change:
            services.set_route_position(serializer.instance.pk, change["route_position"])
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)
