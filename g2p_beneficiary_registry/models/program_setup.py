"""Program set-up that cannot dead-end: four-eyes on by default, and a rule
that matches everyone must be confirmed before anybody is enrolled."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.safe_eval import safe_eval


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

    # New programs: four-eyes on (the core sets the same default).
    four_eyes = fields.Boolean(default=True)
    rule_is_empty = fields.Boolean(
        string="Rule Matches Everyone", compute="_compute_rule_is_empty"
    )
    rule_matches_all_confirmed = fields.Boolean(
        string="Everyone of the Target Is Eligible",
        tracking=True,
        help="The eligibility rule has no criterion: every active beneficiary of "
        "the target is eligible. Tick to confirm this is intended; until then "
        "nobody is enrolled.",
    )

    @api.depends("eligibility_domain")
    def _compute_rule_is_empty(self):
        for program in self:
            try:
                rule = safe_eval(program.eligibility_domain or "[]")
            except Exception:
                rule = [None]
            program.rule_is_empty = not rule

    def _check_rule_confirmed(self):
        for program in self:
            if program.rule_is_empty and not program.rule_matches_all_confirmed:
                raise UserError(
                    _(
                        "The eligibility rule of %s has no criterion: it matches "
                        "every active beneficiary of the target. Set a rule, or "
                        "confirm 'Everyone of the Target Is Eligible' on the "
                        "Eligibility tab.",
                        program.name,
                    )
                )

    def action_enroll_eligible(self):
        self._check_rule_confirmed()
        return super().action_enroll_eligible()

    def _enroll_eligible(self):
        self._check_rule_confirmed()
        return super()._enroll_eligible()
