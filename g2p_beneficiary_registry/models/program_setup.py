"""Program set-up that cannot dead-end: four-eyes on by default, and a rule
that matches everyone must be confirmed before anybody is enrolled."""

import ast

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

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
                rule = ast.literal_eval((program.eligibility_domain or "[]").strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
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

    @api.model
    def create_with_setup(self, vals, first_cycle=False, enroll=False):
        """Create a program as the creation assistant sets it up: activate it,
        create its first cycle, enroll the eligible (a background job above
        the bulk threshold). Returns the program and what enrolling returned."""
        program = self.create(vals)
        program.action_activate()
        enrolled = None
        if enroll:
            enrolled = program.action_enroll_eligible()
        if first_cycle:
            program._create_next_cycle()
        return program, enrolled
