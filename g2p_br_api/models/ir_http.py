# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from werkzeug.routing import PathConverter

from odoo import models


class AnyPathConverter(PathConverter):
    """Like ``path``, but also matches control characters such as newlines
    (werkzeug's ``path`` uses ``.``): so that any path under the API root
    reaches the API and gets its JSON answers (422/404), not Odoo's HTML 404."""

    regex = "(?s:[^/].*?)"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_converters(cls):
        return dict(super()._get_converters(), br_api_path=AnyPathConverter)
