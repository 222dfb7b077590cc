# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def write(self, vals):
        result = super().write(vals)
        if {"active", "company_ids", "company_id"}.intersection(vals):
            # an API key of an archived user must be refused at once
            self.env["g2p.br.api.client"]._clear_key_cache()
        return result
