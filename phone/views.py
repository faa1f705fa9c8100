"""The Mini App page: the service staff's task round on a phone, in Telegram or a browser."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
def mini_app(request: HttpRequest) -> HttpResponse:
    """The page itself holds no data: its script signs in (initData or the session) and reads
    the DRF API."""
    # The staff login is for any member (the admin's own login admits platform staff only).
    login_url = f"{reverse('rest_framework:login')}?next={reverse('phone-app')}"
    texts = {
        "my_tasks": _("My tasks"),
        "task": _("Task"),
        "critical": _("Needs refilling"),
        "missing": _("Not configured"),
        "bring": _("Bring"),
        "no_tasks": _("No open tasks. Well done!"),
        "no_access": _("You have no access to any owner."),
        "completed": _("Task completed."),
        "failed": _("Something went wrong. Try again."),
        "take_photo": _("Take or choose a photo"),
        "units": {"g": _("g"), "ml": _("ml"), "pcs": _("pcs")},
    }
    return render(request, "phone/app.html", {"login_url": login_url, "texts": texts})
