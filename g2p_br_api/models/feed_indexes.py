# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Indexes of the API's change feeds (keyset on ``(write_date, id)``) on the
core's models: declared here, in the API addon, so that only a database that
serves the API pays for them."""

from odoo import models
from odoo.tools import create_index


def _create_feed_index(model):
    create_index(
        model.env.cr,
        f"{model._table}__br_api_feed_idx",
        model._table,
        ["write_date", "id"],
    )


class G2pBrDisbursement(models.Model):
    _inherit = "g2p.br.disbursement"

    def init(self):
        res = super().init()
        _create_feed_index(self)
        return res


class G2pBrProgramMembership(models.Model):
    _inherit = "g2p.br.program.membership"

    def init(self):
        res = super().init()
        _create_feed_index(self)
        return res


class G2pBrEntitlement(models.Model):
    _inherit = "g2p.br.entitlement"

    def init(self):
        res = super().init()
        _create_feed_index(self)
        return res
