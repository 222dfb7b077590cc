# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain wording of the access errors of the registry's records: say that the
user is not assigned to the program, and what to do about it."""

from odoo import _, models
from odoo.exceptions import AccessError

PROGRAM_MODELS = {
    "g2p.br.program",
    "g2p.br.program.membership",
    "g2p.br.cycle",
    "g2p.br.entitlement",
    "g2p.br.disbursement",
}


class IrRule(models.Model):
    _inherit = "ir.rule"

    def _make_access_error(self, operation, records):
        if records._name not in PROGRAM_MODELS:
            return super()._make_access_error(operation, records)
        description = self.env["ir.model"]._get(records._name).name or records._name
        ids = ", ".join(str(i) for i in records.ids[:6])
        if records._name == "g2p.br.program":
            what = _("program %(ids)s", ids=ids)
        else:
            what = _(
                "the program of %(what)s %(ids)s", what=description.lower(), ids=ids
            )
        records.invalidate_recordset()
        return AccessError(
            _(
                "You (%(user)s) are not assigned to %(what)s, or it belongs to "
                "another company. Ask a Beneficiary Registry administrator to add "
                "you to the program's Assigned Users.",
                user=self.env.user.name,
                what=what,
            )
        )
