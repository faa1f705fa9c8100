"""Reports API: post the service's results (202, the PDF is made and sent in the background),
read report metadata with a signed download link; the link itself (`/reports/download/<token>`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import Actor
from kiosk.auth import IsKiosk, KioskAPIView, request_kiosk, scope_to_caller
from kiosk.models import Session
from notifications.models import Delivery
from reports import services
from reports.models import DeliveryChannel, DeliveryStatus, Report, ReportKind


class DeliverySerializer(serializers.Serializer):
    """One report delivery (a row of the delivery log) as the kiosk sees it."""

    channel = serializers.ChoiceField(choices=DeliveryChannel.choices, read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)


def _delivery_doc(delivery: Delivery) -> dict[str, Any]:
    return {
        "channel": delivery.channel,
        "status": services.api_status(delivery),
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "sent_at": delivery.sent_at,
    }


class ReportSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(read_only=True)
    deliveries = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "session_id",
            "kind",
            "status",
            "failed_stage",
            "error",
            "deliveries",
            "download_url",
            "created_at",
            "generated_at",
            "delivered_at",
        ]
        read_only_fields = fields

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, report: Report) -> list[dict[str, Any]]:
        rows = services.report_deliveries(report.pk).order_by("channel")
        return list(DeliverySerializer([_delivery_doc(d) for d in rows], many=True).data)

    def get_download_url(self, report: Report) -> str | None:
        return services.download_url(report) if report.file else None


class DtcSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[PBCU][0-9A-F]{4}$", max_length=5)
    description = serializers.CharField(max_length=300)
    severity = serializers.ChoiceField(choices=["low", "medium", "high"])


class _ReportInput(serializers.Serializer):
    session_id = serializers.UUIDField()
    vehicle_make = serializers.CharField(required=False, allow_blank=True, max_length=100)
    vehicle_model = serializers.CharField(required=False, allow_blank=True, max_length=100)
    vin = serializers.CharField(required=False, allow_blank=True, max_length=17)
    timestamp = serializers.DateTimeField(required=False)


class DiagnosticsInput(_ReportInput):
    dtc_codes = serializers.ListField(child=DtcSerializer(), max_length=200)
    scan_duration_ms = serializers.IntegerField(required=False, min_value=0)


class ReadingSerializer(serializers.Serializer):
    panel = serializers.CharField(max_length=50)
    thickness_um = serializers.FloatField(min_value=0, max_value=10_000)


class ThicknessInput(_ReportInput):
    readings = serializers.ListField(child=ReadingSerializer(), min_length=1, max_length=50)


class _CreateReportView(KioskAPIView):
    permission_classes = (IsKiosk,)
    kind: str
    input_serializer: type[_ReportInput]

    def post(self, request: Request) -> Response:
        kiosk = request_kiosk(request)
        assert kiosk is not None
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Plain JSON (UUIDs, datetimes as text), as stored on the report.
        data = json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder))
        try:
            report = services.create_report(
                kiosk=kiosk,
                kind=self.kind,
                session_id=data["session_id"],
                data=data,
                actor=Actor.for_kiosk(kiosk, request),
            )
        except Session.DoesNotExist:
            raise exceptions.NotFound("No such session.") from None
        except services.ReportConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class DiagnosticsReportView(_CreateReportView):
    """`POST /api/reports/diagnostics`: DTC codes of a paid diagnostics session → 202."""

    kind = ReportKind.DIAGNOSTICS
    input_serializer = DiagnosticsInput

    @extend_schema(request=DiagnosticsInput, responses={202: ReportSerializer})
    def post(self, request: Request) -> Response:
        return super().post(request)


class ThicknessReportView(_CreateReportView):
    """`POST /api/reports/thickness`: panel readings of a paid thickness session → 202."""

    kind = ReportKind.THICKNESS
    input_serializer = ThicknessInput

    @extend_schema(request=ThicknessInput, responses={202: ReportSerializer})
    def post(self, request: Request) -> Response:
        return super().post(request)


def _reports(request: Request) -> QuerySet[Report]:
    return scope_to_caller(Report.objects.all(), request, "session__kiosk")


class ReportListQuery(serializers.Serializer):
    session = serializers.UUIDField(required=False, help_text="Only this session's reports")


@extend_schema_view(get=extend_schema(parameters=[ReportListQuery]))
class ReportListView(KioskAPIView, generics.ListAPIView):
    """`GET /api/reports`: the caller's reports, newest first (`?session=<id>`). A kiosk lists
    only its own reports of the last `KIOSK_SESSION_LIST_HOURS`."""

    serializer_class = ReportSerializer
    query_serializer_class = ReportListQuery

    def get_queryset(self) -> QuerySet[Report]:
        queryset = _reports(self.request)
        if request_kiosk(self.request) is not None:
            since = timezone.now() - timedelta(hours=settings.KIOSK_SESSION_LIST_HOURS)
            queryset = queryset.filter(created_at__gte=since)
        if self.query.get("session"):
            queryset = queryset.filter(session_id=self.query["session"])
        return queryset.order_by("-created_at")


class ReportDetailView(KioskAPIView):
    """`GET /api/reports/{id}`: metadata, delivery state and a signed download link."""

    @extend_schema(responses=ReportSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return Response(ReportSerializer(get_object_or_404(_reports(request), pk=pk)).data)


class SessionReportsView(KioskAPIView):
    """`GET /api/reports/session/{id}`: the reports of one session."""

    @extend_schema(responses=ReportSerializer(many=True))
    def get(self, request: Request, pk: Any) -> Response:
        session = get_object_or_404(scope_to_caller(Session.objects.all(), request, "kiosk"), pk=pk)
        reports = _reports(request).filter(session=session).order_by("created_at")
        return Response(ReportSerializer(reports, many=True).data)


def download(request: HttpRequest, token: str) -> FileResponse:
    """The PDF behind a signed link (from the SMS or the PDF's QR code); 404 once expired."""
    report = services.report_for_token(token)
    if report is None:
        raise Http404("link expired or invalid")
    response = FileResponse(
        report.file.open("rb"),
        content_type="application/pdf",
        filename=f"otchet-{report.kind}-{str(report.pk)[:8]}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
