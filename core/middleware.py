"""Request checks before any view: query parameters with NUL characters (PostgreSQL refuses
them in text, which made a 500 of any filter) are a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.parsers import query_text_problem


class QueryTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = query_text_problem(request.GET)
        if problem is not None:
            name, message = problem
            return JsonResponse({name: [message]}, status=400)
        return self.get_response(request)
