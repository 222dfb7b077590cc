# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class G2pBrSelectionWizardMixin(models.AbstractModel):
    """A wizard on the records selected in a list (or the one open in a
    form): its ``_selection_field``, a Many2many to ``_selection_model``, is
    filled with the context's active ids."""

    _name = "g2p.br.selection.wizard.mixin"
    _description = "Wizard on Selected Records"
    _selection_model = None
    _selection_field = None

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        field = self._selection_field
        if (
            context.get("active_model") == self._selection_model
            and field in fields_list
            and not values.get(field)
        ):
            ids = context.get("active_ids") or [context.get("active_id")]
            values[field] = [fields.Command.set([i for i in ids if i])]
        return values
