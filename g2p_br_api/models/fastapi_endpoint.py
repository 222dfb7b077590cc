# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from typing import Any

from fastapi import APIRouter, Depends
from starlette.middleware import Middleware

from odoo import api, fields, models

from odoo.addons.fastapi.fastapi_dispatcher import FastApiDispatcher
from odoo.addons.fastapi.pools import fastapi_app_pool

from ..dependencies import forbid_unknown_query_params
from ..error_handlers import STATUS_CODES, ClientErrorMiddleware, error_body

# root paths of the endpoints serving this app (filled when their app is built)
BR_API_ROOT_PATHS = set()
_super_handle_error = FastApiDispatcher.handle_error


def _handle_error(self, exc):
    """The errors ``odoo.addons.fastapi``'s dispatcher answers itself (500,
    and Odoo's ``AccessError``/``MissingError``/``UserError`` raised inside a
    request), in the API's error shape for the BR API's paths."""
    response = _super_handle_error(self, exc)
    path = self.request.httprequest.path
    if not any(path.startswith(root + "/") for root in BR_API_ROOT_PATHS):
        return response
    status = response.status_code
    message = "Internal Server Error" if status >= 500 else "Request refused"
    args = getattr(exc, "args", None)
    if status == 400 and args and isinstance(args[0], str):
        # a UserError: its message is meant for the user
        message = args[0]
    return self.request.make_json_response(
        error_body(STATUS_CODES.get(status, "error"), message),
        status=status,
        headers=getattr(exc, "headers", None),
    )


FastApiDispatcher.handle_error = _handle_error

_super_pool_get_app = type(fastapi_app_pool).get_app


def _pool_get_app(self, env, root_path):
    """``odoo.addons.fastapi``'s dispatcher asks its app pool for the app of
    the *request path* (``/api/br/v1/beneficiaries/NID/123/enrollments``), so
    the pool built and kept a new FastAPI app (about 100 ms, and memory kept
    forever) for every distinct URL, i.e. for nearly every lookup. Key the pool
    by the endpoint's root path instead: one app per endpoint and worker."""
    endpoints = env["fastapi.endpoint"].sudo()
    root = endpoints._find_first_matching_url_path(
        endpoints._get_id_by_root_path_map().keys(), root_path
    )
    return _super_pool_get_app(self, env, root or root_path)


type(fastapi_app_pool).get_app = _pool_get_app

API_DESCRIPTION = """
Read access to the Beneficiary Registry (enrollments, entitlements,
disbursements) and disbursement status reporting for payment providers.

Authenticate with the key of an API client, as `Authorization: Bearer <key>`
or `X-API-Key: <key>`. Each client runs as its own Odoo user: it only sees the
programs it is assigned to; anything else answers 404.
"""


class FastapiEndpoint(models.Model):
    _inherit = "fastapi.endpoint"

    app = fields.Selection(
        selection_add=[("g2p_br_api", "Beneficiary Registry API")],
        ondelete={"g2p_br_api": "cascade"},
    )

    @api.model
    def _get_id_for_path(self, path):
        """Not cached per request path (upstream caches it per path: one entry
        per URL looked up, evicting Odoo's other cached values): the map of
        root paths is cached, matching a path against it is cheap."""
        id_by_path = self._get_id_by_root_path_map()
        root_path = self._find_first_matching_url_path(id_by_path.keys(), path)
        return id_by_path.get(root_path)

    @api.model
    def get_app(self, path):
        """Also answer JSON, without an error log, for the paths the mount of
        the app does not match (e.g. with a newline): the wrapper app
        ``odoo.addons.fastapi`` mounts ours in would raise its 404 to Odoo."""
        asgi = super().get_app(path)
        record = self._get_endpoint(path)
        if asgi is not None and record and record.app == "g2p_br_api":
            asgi.app.add_middleware(ClientErrorMiddleware)
        return asgi

    def _get_app(self):
        app = super()._get_app()
        if self.app == "g2p_br_api":
            BR_API_ROOT_PATHS.add(self.root_path)
            # as when served (odoo.addons.fastapi clears them): client errors
            # reach ClientErrorMiddleware, in test clients too
            app.exception_handlers = {}
        return app

    def _get_app_dependencies_overrides(self):
        """None for this app. ``odoo.addons.fastapi`` overrides two
        dependencies of its own, and with any override set FastAPI builds
        every dependency of a route again on every request (its parameters
        analysed, a pydantic adapter made for each): about a twentieth of a
        worker's time on a batch of 1,000 status reports.

        - ``fastapi_endpoint_id``: no route of this app uses it (a test
          checks);
        - ``company_id``, which ``odoo_env`` restricts its environment to:
          the endpoint's company is its user's (``_compute_company_id``),
          the default of that environment anyway, and ``authenticated_env``
          sets the client's own companies."""
        if self.app == "g2p_br_api":
            return {}
        return super()._get_app_dependencies_overrides()

    def _get_fastapi_routers(self) -> list[APIRouter]:
        if self.app == "g2p_br_api":
            from ..routers import ALL_ROUTERS

            return list(ALL_ROUTERS)
        return super()._get_fastapi_routers()

    def _get_fastapi_app_middlewares(self) -> list[Middleware]:
        middlewares = super()._get_fastapi_app_middlewares()
        if self.app == "g2p_br_api":
            middlewares = [*middlewares, Middleware(ClientErrorMiddleware)]
        return middlewares

    def _get_fastapi_app_dependencies(self) -> list[Depends]:
        dependencies = super()._get_fastapi_app_dependencies()
        if self.app == "g2p_br_api":
            dependencies = [*dependencies, Depends(forbid_unknown_query_params)]
        return dependencies

    def _get_routing_info(self):
        routing = super()._get_routing_info()
        if self.app == "g2p_br_api":
            routing["routes"] = [
                f"{self.root_path}/",
                f"{self.root_path}/<br_api_path:application_path>",
            ]
        return routing

    def _prepare_fastapi_app_params(self) -> dict[str, Any]:
        params = super()._prepare_fastapi_app_params()
        if self.app == "g2p_br_api":
            params.update(
                version="1.0.0",
                description=self.description or API_DESCRIPTION,
            )
        return params
