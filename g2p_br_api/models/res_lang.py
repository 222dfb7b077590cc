# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, models

_logger = logging.getLogger(__name__)


class ResLang(models.Model):
    _inherit = "res.lang"

    @api.model
    def _get_lang_from_accept_language(self, accept_language):
        """Ignore a malformed ``Accept-Language`` header instead of failing.

        ``odoo.addons.fastapi`` reads the header before the request reaches
        the app, with ``parse_accept_language`` that raises ``ValueError`` on
        a bad quality value (``fr;q=abc``): every fastapi endpoint then
        answered 500. Found by the API fuzz tests.
        """
        try:
            return super()._get_lang_from_accept_language(accept_language)
        except ValueError:
            _logger.info("Ignoring malformed Accept-Language: %r", accept_language)
            return None
