"""Error responses of the BR API.

``odoo.addons.fastapi`` removes FastAPI's exception handlers and lets every
exception bubble up to Odoo's dispatcher, which rolls the transaction back and
answers JSON (``{"detail": ...}``); but Odoo logs each of those as an error
with a traceback, including every 401, 404 and 422.  Client errors are not
bugs: the middleware below turns them into JSON answers inside the app (they
never follow a write, so there is nothing to roll back).  Everything else
(Odoo's ``UserError``/``AccessError``/``MissingError`` and real bugs) still
bubbles up so that the dispatcher rolls back, retries concurrency failures,
logs real bugs with their traceback and answers a JSON 500 without one.
"""

import json
import logging

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from odoo.addons.fastapi.context import odoo_env_ctx

_logger = logging.getLogger(__name__)

MAX_ERRORS = 50


def _json_safe(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def validation_errors(exc):
    """The errors of a validation exception, JSON-safe and without echoing the
    (possibly large or binary) input back."""
    errors = []
    for error in exc.errors()[:MAX_ERRORS]:
        item = {
            "type": error.get("type"),
            "loc": [_json_safe(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
        }
        errors.append(item)
    return errors


def http_exception_response(exc):
    return JSONResponse(
        {"detail": _json_safe(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def validation_exception_response(exc):
    return JSONResponse({"detail": validation_errors(exc)}, status_code=422)


def record_rejected_write(scope, exc):
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
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in validation_errors(exc)[:10]
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
            else:
                response = http_exception_response(exc)
            _logger.info(
                "BR API %s %s -> %s",
                scope.get("method"),
                scope.get("path"),
                response.status_code,
            )
            if scope.get("method") == "POST" and response.status_code == 422:
                record_rejected_write(scope, exc)
            await response(scope, receive, send)
