"""A sandbox request and the parsing of its parameters, shared by the API and control routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from checkout.testing.sandbox.config import KeySpec
from checkout.testing.sandbox.records import ApiError

API = "/api/v1"

# (status, data, pagination): what every route handler returns.
Result = tuple[int, Any, dict[str, int] | None]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    params: dict[str, str]
    key: KeySpec | None
    client_ip: str

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
        return data

    @property
    def api_key(self) -> KeySpec:
        assert self.key is not None
        return self.key


@dataclass
class RawBody:
    content: bytes
    content_type: str


class HangUp(Exception):
    """Close the connection without an answer."""


def int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(
            422,
            "validation_error",
            f"{name} must be a positive integer.",
            fields={name: ["Must be a positive integer."]},
        )
    return value


def path_int(req: Request, name: str) -> int:
    try:
        return int(req.params[name])
    except ValueError as exc:
        raise ApiError(404, "not_found", "No resource at this path.") from exc


def body_int(body: dict[str, Any], name: str, minimum: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(
            422,
            "validation_error",
            f"{name} must be an integer >= {minimum}.",
            fields={name: [f"Must be an integer >= {minimum}."]},
        )
    return value


def body_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(
            422, "validation_error", f"{name} is required.", fields={name: ["Required."]}
        )
    return value.strip()
