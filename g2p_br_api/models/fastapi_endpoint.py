from typing import Any

from fastapi import APIRouter, Depends
from starlette.middleware import Middleware

from odoo import api, fields, models

from ..dependencies import forbid_unknown_query_params
from ..error_handlers import ClientErrorMiddleware

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
            # as when served (odoo.addons.fastapi clears them): client errors
            # reach ClientErrorMiddleware, in test clients too
            app.exception_handlers = {}
        return app

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
