# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrApiClientKeyShow(models.AbstractModel):
    """Shows a freshly generated key once; never stored (abstract model, the
    key only travels in the action's context), like ``res.users.apikeys.show``."""

    _name = "g2p.br.api.client.key.show"
    _description = "Show a new BR API key"

    # the field 'id' is necessary for the onchange that returns the value of 'key'
    id = fields.Id()
    key = fields.Char(readonly=True)
