# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FastAPI dependencies of the BR API: authentication and strict query strings.

Dependencies and handlers are ``async def`` although the ORM is synchronous:
``odoo.addons.fastapi`` runs each request in an event loop of its own (a2wsgi,
one loop per Odoo request thread), so blocking it blocks no other request,
and it saves a hop to a worker thread per dependency.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from .context import API_REQUEST, ApiRequest
from .error_handlers import ApiError

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerKey",
    description="API key of a BR API client: `Authorization: Bearer brk_...`",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="The same API key, in the `X-API-Key` header.",
)


@dataclass(frozen=True)
class ApiClient:
    """The authenticated API client (plain ids: no record of another env)."""

    id: int
    user_id: int
    company_ids: tuple = ()


def _unauthorized(code, message):
    return ApiError(
        401, code, message, headers={"WWW-Authenticate": 'Bearer realm="br-api"'}
    )


async def authenticated_client(
    request: Request,
    env: Annotated[Environment, Depends(odoo_env)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> ApiClient:
    """Authenticate the caller by its key (``Bearer`` or ``X-API-Key``).

    The lookup is done by ``g2p.br.api.client._authenticate_key``, which reads
    the key hashes with superuser rights (as ``fastapi_auth_api_key`` does);
    everything after this runs as the client's user.
    """
    key = bearer.credentials if bearer else api_key
    if not key:
        raise _unauthorized("missing_api_key", "Missing API key")
    found = env["g2p.br.api.client"]._authenticate_key(key.strip())
    if not found:
        raise _unauthorized("invalid_api_key", "Invalid, expired or revoked API key")
    client = ApiClient(*found)
    request.state.br_api_client = client
    return client


async def authenticated_env(
    request: Request,
    env: Annotated[Environment, Depends(odoo_env)],
    client: Annotated[ApiClient, Depends(authenticated_client)],
) -> Environment:
    """The environment of the client's user: its groups and record rules apply.
    Built from the cached key entry: no query (the user's groups and rules
    are in Odoo's own caches).

    Also marks the request as an API request of this client (``API_REQUEST``,
    for the read audit trail)."""
    route = request.scope.get("route")
    API_REQUEST.set(
        ApiRequest(
            client.id, client.user_id, getattr(route, "path", None) or request.url.path
        )
    )
    context = dict(env.context, br_api_client_id=client.id)
    context["allowed_company_ids"] = list(client.company_ids)
    return env(user=client.user_id, context=context)


def _declared_query_params(dependant, names):
    for param in dependant.query_params:
        names.add(param.alias or param.name)
    for sub in dependant.dependencies:
        _declared_query_params(sub, names)
    return names


async def forbid_unknown_query_params(request: Request) -> None:
    """Reject query parameters an operation does not declare (422).

    FastAPI ignores them by default, which hides typos such as ``?stat=``
    behind an unfiltered answer.
    """
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = getattr(route, "_br_api_query_params", None)
    if allowed is None:
        allowed = frozenset(_declared_query_params(dependant, set()))
        route._br_api_query_params = allowed
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                }
                for name in unknown
            ]
        )
