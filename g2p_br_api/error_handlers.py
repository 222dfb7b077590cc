# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Error responses of the BR API: one shape for every error.

Every 4xx (and the 500s the API itself answers) has the body
``{"errors": [{"code": ..., "message": ..., "location": [...]}]}`` (schema
``ErrorResponse``), which is also the DCI ``HttpErrorResponse``. ``code`` is
machine-readable; ``location`` is only given for request validation errors.

``odoo.addons.fastapi`` removes FastAPI's exception handlers and lets every
exception bubble up to Odoo's dispatcher, which rolls the transaction back and
answers JSON; but Odoo logs each of those as an error with a traceback,
including every 401, 404 and 422. Client errors are not bugs: the middleware
below turns them into JSON answers inside the app (they never follow a write,
so there is nothing to roll back). Everything else (Odoo's
``UserError``/``AccessError``/``MissingError`` and real bugs) still bubbles up
so that the dispatcher rolls back, retries concurrency failures and logs real
bugs with their traceback; ``g2p_br_api.models.fastapi_endpoint`` gives that
answer the same shape.
"""

import json
import logging

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from odoo.addons.fastapi.context import odoo_env_ctx

_logger = logging.getLogger(__name__)

MAX_ERRORS = 50

# default code of an HTTP status when the exception does not name one
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
}


class ApiError(StarletteHTTPException):
    """An HTTP error with a machine-readable code."""

    def __init__(self, status_code, code, message, headers=None):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


def error_body(code, message, location=None):
    item = {"code": code, "message": message}
    if location is not None:
        item["location"] = location
    return {"errors": [item]}


def _json_safe(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def validation_errors(exc):
    """The errors of a validation exception, in the API's shape, JSON-safe and
    without echoing the (possibly large or binary) input back."""
    errors = []
    for error in exc.errors()[:MAX_ERRORS]:
        errors.append(
            {
                # pydantic's error type: missing, extra_forbidden, json_invalid,
                # literal_error, datetime_format, status_time_in_future, ...
                "code": str(error.get("type") or "invalid"),
                "message": str(error.get("msg", "")),
                "location": [_json_safe(part) for part in error.get("loc", ())],
            }
        )
    return errors or [{"code": "invalid_request", "message": "Invalid request"}]


def http_exception_response(exc):
    code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        error_body(code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def body_error_response(exc):
    """FastAPI answers 400 "There was an error parsing the body" for a body
    ``json.loads`` fails on with something else than a ``JSONDecodeError``:
    not UTF-8, nested too deep (RecursionError). A 422 like any other
    unreadable JSON body."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeError):
        code, message = "body_not_utf8", "The body is not UTF-8 encoded JSON"
    elif isinstance(cause, RecursionError):
        code, message = "json_too_deep", "The JSON body is nested too deep"
    else:
        code, message = "json_invalid", "The body is not valid JSON"
    return JSONResponse(error_body(code, message, ["body"]), status_code=422)


def validation_exception_response(exc):
    return JSONResponse({"errors": validation_errors(exc)}, status_code=422)


def _is_body_parse_error(exc):
    return (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == 400
        and exc.__cause__ is not None
        and exc.detail == "There was an error parsing the body"
    )


def record_rejected_write(scope, errors):
    """Log a write call of an authenticated client rejected as malformed (422).

    Calls without a valid key are not recorded (they are not a client's
    calls, and would let anyone fill the log)."""
    client = (scope.get("state") or {}).get("br_api_client")
    if client is None:
        return
    env = odoo_env_ctx.get(None)
    if env is None:
        return
    route = scope.get("route")
    env["g2p.br.api.call.log"]._record_call(
        {
            "client_id": client.id,
            "user_id": client.user_id,
            "method": "POST",
            "endpoint": getattr(route, "path", None) or scope.get("path"),
            "status_code": 422,
            "outcome": "rejected",
            "detail": "; ".join(
                f"{'.'.join(map(str, e.get('location', ())))}: {e['message']}"
                for e in errors[:10]
            )[:2000],
        }
    )


class ClientErrorMiddleware:
    """Pure ASGI middleware answering client errors (4xx) as JSON."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # shared with the request's copies of the scope: the authentication
        # dependency leaves the client there (record_rejected_write)
        scope.setdefault("state", {})

        async def send_wrapper(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except (StarletteHTTPException, RequestValidationError) as exc:
            if started or (
                isinstance(exc, StarletteHTTPException) and exc.status_code >= 500
            ):
                raise
            if isinstance(exc, RequestValidationError):
                response = validation_exception_response(exc)
            elif _is_body_parse_error(exc):
                response = body_error_response(exc)
            else:
                response = http_exception_response(exc)
            # the route's template, never the path: a path may hold a
            # person's identifier
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            _logger.info(
                "BR API %s %s -> %s",
                scope.get("method"),
                route,
                response.status_code,
            )
            if scope.get("method") == "POST" and response.status_code == 422:
                record_rejected_write(scope, json.loads(response.body)["errors"])
            await response(scope, receive, send)
