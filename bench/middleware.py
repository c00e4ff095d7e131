"""Query counting for the benchmark's cost-growth checks (bench stack only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


class QueryCountMiddleware:
    """Answer ``X-Bench-Queries: <n>`` when the request carries ``X-Bench-Count-Queries``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_BENCH_COUNT_QUERIES" not in request.META:
            return self.get_response(request)
        count = 0

        def counter(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any
        ) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, ctx)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(count)
        return response
