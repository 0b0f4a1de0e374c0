"""The API's errors: one JSON shape for every 4xx and 5xx, and the handlers that make it.

Every error body is `{"detail": "...", "code": "...", "errors": [...]}`: `detail` is a
sentence for a person, `code` a stable word for programs, `errors` the fields at fault
(`{"field": "body.api_secret", "message": "..."}`) when the request did not validate.
Validation errors never echo the value that was sent: it may be a secret.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.runtime.logging import get_logger

_log = get_logger("tradewind.gateway")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    423: "locked",
    429: "rate_limited",
    502: "venue_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer the caller can act on: HTTP `status`, a stable `code`, a `detail`
    sentence, optionally the `field` at fault and headers (`Retry-After` …)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.code = code or _STATUS_CODES.get(status, "error")
        self.field = field
        self.headers = headers or {}
        super().__init__(detail)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the error statuses a route can answer with."""
    from tradewind.gateway.schemas import ErrorBody

    return {status: {"model": ErrorBody} for status in (*statuses, 422)}


def not_found(what: str) -> ApiError:
    """404 for an object that does not exist *for this caller*: another tenant's id
    gets exactly the same answer as an id that was never issued."""
    return ApiError(404, f"no such {what}")


def error_body(detail: str, code: str, errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {"detail": detail, "code": code, "errors": list(errors)}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(body), status, headers=headers, media_type="application/json"
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
    return json_response(exc.status, error_body(exc.detail, exc.code, errors), exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return json_response(422, error_body(detail, "invalid_request", errors))


def _field_error(error: Any) -> dict[str, str]:
    """`{"field": "body.api_key", "message": ...}` without `input` (may be a secret)."""
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "")
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        message = "the body is not valid JSON"
    return {"field": location or "request", "message": message}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return json_response(exc.status_code, error_body(detail, code), dict(exc.headers or {}))


def _log_unexpected(scope: Any, exc: Exception) -> None:
    # The exception's text may hold anything (SQL parameters, values a user sent): log
    # its type and the code path only.
    _log.error(
        "request failed",
        method=scope.get("method", "WEBSOCKET"),
        path=scope.get("path", ""),
        error=type(exc).__name__,
        where="".join(traceback.format_tb(exc.__traceback__)[-3:]),
    )


class ContainErrors:
    """Answer an unexpected exception with a bare 500 and log it without its message.

    Starlette's own last resort re-raises to the server, which logs the exception
    with its text (which may hold values a user sent); this middleware, inside it,
    keeps it from ever getting there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            _log_unexpected(scope, exc)
            if scope["type"] == "http" and not started:
                body = msgspec.json.encode(error_body("internal error", "internal_error"))
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(ContainErrors)
