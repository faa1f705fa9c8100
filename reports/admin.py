"""Admin: reports with their deliveries; failures are listed and can be resent."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from audit.models import ActorKind
from audit.services import Actor
from reports import services
from reports.models import Report
from tenancy.cabinet.options import CabinetModelAdmin


@admin.register(Report)
class ReportAdmin(CabinetModelAdmin):
    owner_field = "session__kiosk__owner"
    list_display = ["id", "kind", "status", "failed_stage", "session", "created_at"]
    list_filter = ["status", "failed_stage", "kind"]
    search_fields = ["id", "session__id"]
    readonly_fields = [*(field.name for field in Report._meta.fields), "deliveries"]
    actions = ["resend"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("deliveries"))
    def deliveries(self, report: Report) -> SafeString:
        rows = services.report_deliveries(report.pk).order_by("channel")
        return format_html_join(
            "\n",
            "<div>{}: {} ({}) {}</div>",
            ((d.channel, d.get_status_display(), d.attempts, d.last_error[:200]) for d in rows),
        )

    @admin.action(description=_("Resend (generate if needed, send every unsent delivery now)"))
    def resend(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        user = request.user
        actor = Actor(kind=ActorKind.USER, label=user.get_username(), user=user, request=request)
        for report in queryset.select_related("session__kiosk"):
            services.resend(report, actor=actor)
        messages.success(request, _("Queued again: %(count)d") % {"count": queryset.count()})
