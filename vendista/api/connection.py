"""The owner's Vendista connection: its status and finance settings, the credentials (checked
against Vendista, stored encrypted, never returned) and "import now".

    GET/PATCH /api/vendista/connection/              owners and admins
    POST      /api/vendista/connection/credentials/  owners only
    POST      /api/vendista/connection/import-now/   owners and admins
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FIELD_ERRORS, FIRST_DATE
from core.clock import moscow_today
from tenancy.models import Role
from tenancy.views import OwnerAPIView
from vendista import connection
from vendista.api.import_runs import IMPORT_RUN_EXAMPLE, ImportRunSerializer
from vendista.client import (
    VendistaInvalidCredentials,
    VendistaPaymentRequired,
    VendistaRejected,
    VendistaUnavailable,
)
from vendista.models import ImportRun, RunKind, TaxSystem, VendistaAccount

RETRY_AFTER_S = 60


def _check_setup_date(value: date | None) -> None:
    if value is None:
        return
    if value > moscow_today():
        raise serializers.ValidationError(_("The setup date cannot be in the future."))
    if value < FIRST_DATE:
        raise serializers.ValidationError(
            _("The setup date cannot be before %(first)s.") % {"first": FIRST_DATE.isoformat()}
        )


class ConnectionSerializer(serializers.ModelSerializer[VendistaAccount]):
    """Status (read-only) and finance settings (writable). Secrets are never part of it."""

    has_credentials = serializers.SerializerMethodField()
    setup_date = serializers.DateField(
        allow_null=True,
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_setup_date],
        help_text="the day the first machine was installed: start of the full history; "
        "required once credentials are stored; not in the future",
    )
    tax_system = serializers.ChoiceField(
        choices=TaxSystem.choices, required=False, help_text="empty: no tax in the summary"
    )
    acquiring_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )
    latest_import = serializers.SerializerMethodField()
    latest_sync = serializers.SerializerMethodField()

    class Meta:
        model = VendistaAccount
        fields = [
            "has_credentials",
            "token_status",
            "payment_status",
            "payment_required_at",
            "imports_enabled",
            "last_successful_import_at",
            "last_terminal_sync_at",
            "setup_date",
            "tax_system",
            "acquiring_percent",
            "latest_import",
            "latest_sync",
        ]
        read_only_fields = [
            "token_status",
            "payment_status",
            "payment_required_at",
            "imports_enabled",
            "last_successful_import_at",
            "last_terminal_sync_at",
        ]

    def get_has_credentials(self, account: VendistaAccount) -> bool:
        return connection.has_credentials(account)

    def _latest(self, account: VendistaAccount, kind: str) -> dict[str, Any] | None:
        run = ImportRun.objects.filter(owner_id=account.owner_id, kind=kind).first()
        return ImportRunSerializer(run).data if run else None

    @extend_schema_field(ImportRunSerializer(allow_null=True))
    def get_latest_import(self, account: VendistaAccount) -> dict[str, Any] | None:
        return self._latest(account, RunKind.IMPORT)

    @extend_schema_field(ImportRunSerializer(allow_null=True))
    def get_latest_sync(self, account: VendistaAccount) -> dict[str, Any] | None:
        return self._latest(account, RunKind.SYNC)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        account = self.instance
        if (
            "setup_date" in attrs
            and attrs["setup_date"] is None
            and isinstance(account, VendistaAccount)
            and connection.has_credentials(account)
        ):
            raise serializers.ValidationError(
                {"setup_date": [_("Required once Vendista credentials are stored.")]}
            )
        return attrs


CONNECTION_EXAMPLE = {
    "has_credentials": True,
    "token_status": "valid",
    "payment_status": "active",
    "payment_required_at": None,
    "imports_enabled": True,
    "last_successful_import_at": "2026-11-20T10:15:04+03:00",
    "last_terminal_sync_at": "2026-11-20T10:15:02+03:00",
    "setup_date": "2025-03-01",
    "tax_system": "income_6",
    "acquiring_percent": "1.60",
    "latest_import": IMPORT_RUN_EXAMPLE,
    "latest_sync": None,
}


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField()


class ConnectionView(OwnerAPIView):
    """Status and finance settings of the owner's Vendista connection."""

    @extend_schema(
        summary="Vendista connection status",
        description="Token and payment status, last successful import and terminal sync, the "
        "latest runs, and the finance settings. Login, password and token are never returned. "
        "Owners and admins.",
        responses={200: ConnectionSerializer},
        examples=[OpenApiExample("connected", value=CONNECTION_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        account = VendistaAccount.objects.filter(owner=self.owner).first()
        return Response(ConnectionSerializer(account or VendistaAccount(owner=self.owner)).data)

    @extend_schema(
        summary="Change the finance settings",
        description="`setup_date` (not in the future; cannot be cleared once credentials are "
        "stored), `tax_system` (`income_6`, `income_expense_15` or empty) and "
        "`acquiring_percent` (0–100). Audited. Owners and admins.",
        request=ConnectionSerializer,
        responses={
            200: ConnectionSerializer,
            400: FIELD_ERRORS,
        },
        examples=[
            OpenApiExample(
                "settings",
                value={"tax_system": "income_expense_15", "acquiring_percent": "1.60"},
                request_only=True,
            ),
            OpenApiExample("saved", value=CONNECTION_EXAMPLE, response_only=True),
            OpenApiExample(
                "invalid",
                value={"acquiring_percent": ["Ensure this value is less than or equal to 100."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def patch(self, request: Request) -> Response:
        account, _created = VendistaAccount.objects.get_or_create(owner=self.owner)
        serializer = ConnectionSerializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        connection.update_settings(
            account, dict(serializer.validated_data), actor=request.user, request=request._request
        )
        return Response(ConnectionSerializer(account).data)


class CredentialsSerializer(serializers.Serializer[Any]):
    login = serializers.CharField(max_length=255)
    password = serializers.CharField(
        max_length=255, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )
    setup_date = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_setup_date],
        help_text="required when the connection has none yet",
    )


class CredentialsView(OwnerAPIView):
    """Register or re-enter the owner's Vendista login and password."""

    allowed_roles = (Role.OWNER,)

    @extend_schema(
        summary="Store Vendista credentials",
        description="Checks the login and password against Vendista (`/token`), stores them and "
        "the token encrypted, marks the token valid, audits it, and queues a terminal sync and "
        "a historical import (no stock deduction) from the setup date. Owners only. "
        "400: Vendista refused the credentials (or a field is invalid); 409: the Vendista "
        "account is unpaid; 503: Vendista did not answer (try again later).",
        request=CredentialsSerializer,
        responses={
            200: ConnectionSerializer,
            400: FIELD_ERRORS,
            409: DetailSerializer,
            502: DetailSerializer,
            503: DetailSerializer,
        },
        examples=[
            OpenApiExample(
                "credentials",
                value={
                    "login": "coffee@example.com",
                    "password": "••••••",
                    "setup_date": "2025-03-01",
                },
                request_only=True,
            ),
            OpenApiExample("connected", value=CONNECTION_EXAMPLE, response_only=True),
            OpenApiExample(
                "refused",
                value={
                    "login": ["Vendista refused this login and password."],
                    "password": ["Vendista refused this login and password."],
                },
                response_only=True,
                status_codes=["400"],
            ),
            OpenApiExample(
                "unpaid",
                value={
                    "detail": "Vendista requires payment for this account; pay for it in "
                    "Vendista, then enter the credentials again.",
                    "code": "payment_required",
                },
                response_only=True,
                status_codes=["409"],
            ),
            OpenApiExample(
                "unavailable",
                value={
                    "detail": "Vendista is not answering; nothing was saved. Try again in a "
                    "minute.",
                    "code": "vendista_unavailable",
                },
                response_only=True,
                status_codes=["503"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owner = self.owner
        current_setup = (
            VendistaAccount.objects.filter(owner=owner).values_list("setup_date", flat=True).first()
        )
        if data.get("setup_date") is None and current_setup is None:
            raise serializers.ValidationError(
                {"setup_date": [_("Required: the connection has no setup date yet.")]}
            )
        try:
            token = connection.check_credentials(owner.pk, data["login"], data["password"])
        except VendistaInvalidCredentials:
            refused = _("Vendista refused this login and password.")
            raise serializers.ValidationError({"login": [refused], "password": [refused]}) from None
        except VendistaPaymentRequired:
            return _detail(
                status.HTTP_409_CONFLICT,
                "payment_required",
                _(
                    "Vendista requires payment for this account; pay for it in Vendista, then "
                    "enter the credentials again."
                ),
            )
        except VendistaUnavailable:
            response = _detail(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "vendista_unavailable",
                _("Vendista is not answering; nothing was saved. Try again in a minute."),
            )
            response["Retry-After"] = str(RETRY_AFTER_S)
            return response
        except VendistaRejected:
            return _detail(
                status.HTTP_502_BAD_GATEWAY,
                "vendista_rejected",
                _("Vendista gave an unexpected answer; nothing was saved. Try again later."),
            )
        connection.connect(
            owner.pk,
            login=data["login"],
            password=data["password"],
            token=token,
            setup_date=data.get("setup_date"),
            actor=request.user,
            request=request._request,
        )
        account = VendistaAccount.objects.get(owner=owner)
        return Response(ConnectionSerializer(account).data)


class ImportRequestSerializer(serializers.Serializer[Any]):
    queued = serializers.BooleanField(
        help_text="false: an import of the owner was already queued or running; that run is "
        "returned"
    )
    run = ImportRunSerializer()


NOT_IMPORTABLE = {
    "no_credentials": _("Enter the Vendista credentials first."),
    "invalid_credentials": _("Vendista refused the stored credentials: enter them again."),
    "payment_required": _(
        "Vendista requires payment for this account; imports resume once it is paid."
    ),
    "busy": _("An import is starting right now; try again in a moment."),
}


class ImportNowView(OwnerAPIView):
    """Queue a regular import of the last 24 hours for the owner."""

    @extend_schema(
        summary="Import now",
        description="Queues a regular import (deducts stock for new sales) of the last 24 hours. "
        "When an import of the owner is already queued or running, nothing new is queued and "
        "that run is returned. 409 when the owner has no (working) credentials or the Vendista "
        "account is unpaid. Owners and admins.",
        request=None,
        responses={202: ImportRequestSerializer, 409: DetailSerializer},
        examples=[
            OpenApiExample(
                "queued",
                value={
                    "queued": True,
                    "run": {
                        **IMPORT_RUN_EXAMPLE,
                        "trigger": "api",
                        "status": "queued",
                        "pages_done": 0,
                        "pages_total": None,
                        "fetched": 0,
                        "inserted": 0,
                        "updated": 0,
                        "deducted": 0,
                        "needs_recipe": 0,
                        "tasks_created": 0,
                        "attempts": 0,
                        "started_at": None,
                        "finished_at": None,
                        "duration_s": None,
                    },
                },
                response_only=True,
                status_codes=["202"],
            ),
            OpenApiExample(
                "unpaid",
                value={
                    "detail": "Vendista requires payment for this account; imports resume once "
                    "it is paid.",
                    "code": "payment_required",
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        try:
            result = connection.import_now(self.owner.pk, actor=request.user)
        except connection.NotImportable as exc:
            return _detail(status.HTTP_409_CONFLICT, exc.code, NOT_IMPORTABLE[exc.code])
        return Response(
            {"queued": result.queued, "run": ImportRunSerializer(result.run).data},
            status=status.HTTP_202_ACCEPTED,
        )


def _detail(code_status: int, code: str, message: Any) -> Response:
    return Response({"detail": str(message), "code": code}, status=code_status)
