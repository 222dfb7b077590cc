# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..utils import count_by, iso, open_related


class G2pBrBeneficiary(models.Model):
    """A registrant of the Social Registry known to the Beneficiary Registry.

    Only the minimal demographic fields that eligibility and entitlement rules
    need are stored: no names, phones or addresses.
    """

    _name = "g2p.br.beneficiary"
    _description = "Beneficiary"
    _order = "id desc"
    _rec_name = "sr_id"

    sr_id = fields.Char(
        string="Social Registry ID",
        required=True,
        copy=False,  # indexed by its unique constraint (init drops the copy)
        help="Identifier of the registrant in the Social Registry.",
    )
    kind = fields.Selection(
        [("individual", "Individual"), ("group", "Group")],
        required=True,
        default="individual",
        index=True,
    )
    active = fields.Boolean(
        default=True,
        help="Archived when the Social Registry reports the registrant inactive.",
    )
    sex = fields.Selection(
        [("male", "Male"), ("female", "Female"), ("other", "Other")],
    )
    birth_date = fields.Date()
    region_code = fields.Char(
        string="Region", index=True, help="Code of the administrative area."
    )
    group_size = fields.Integer(help="Number of members of a group (household).")
    poverty_score = fields.Float(digits=(16, 4))
    disability = fields.Boolean()
    group_id = fields.Many2one(
        "g2p.br.beneficiary",
        string="Group",
        index="btree_not_null",
        ondelete="set null",
        domain="[('kind', '=', 'group')]",
    )
    member_ids = fields.One2many("g2p.br.beneficiary", "group_id", string="Members")
    identifier_ids = fields.One2many(
        "g2p.br.beneficiary.identifier", "beneficiary_id", string="Identifiers"
    )
    membership_ids = fields.One2many(
        "g2p.br.program.membership", "beneficiary_id", string="Program Memberships"
    )
    entitlement_ids = fields.One2many(
        "g2p.br.entitlement", "beneficiary_id", string="Entitlements"
    )
    disbursement_ids = fields.One2many(
        "g2p.br.disbursement", "beneficiary_id", string="Disbursements"
    )
    sr_updated_at = fields.Datetime(
        string="Updated in SR",
        help="Last update of the registrant in the Social Registry.",
    )
    synced_at = fields.Datetime(
        string="Last Synced", help="When the Beneficiary Registry last synced it."
    )
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, index=True
    )
    eligibility_html = fields.Html(
        string="Eligibility",
        compute="_compute_eligibility_html",
        sanitize=False,
        help="For each program of this beneficiary, each criterion of its rule "
        "and whether it holds now.",
    )

    # UI figures (see _compute_ui_counts)
    membership_count = fields.Integer(string="Programs", compute="_compute_ui_counts")
    entitlement_count = fields.Integer(
        string="Entitlement Count", compute="_compute_ui_counts"
    )
    disbursement_count = fields.Integer(
        string="Disbursement Count", compute="_compute_ui_counts"
    )
    group_member_count = fields.Integer(
        string="Group Members", compute="_compute_ui_counts"
    )

    _sql_constraints = [
        (
            "sr_id_unique",
            "unique(sr_id)",
            "A beneficiary with this Social Registry ID exists already.",
        ),
    ]

    def init(self):
        # the unique constraint's index serves every lookup by sr_id; a second
        # one cost each SR upsert an index insert per row
        self.env.cr.execute(SQL("DROP INDEX IF EXISTS g2p_br_beneficiary__sr_id_index"))

    @api.depends("sr_id", "kind")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for rec in self:
            rec.display_name = f"{labels.get(rec.kind, '')} {rec.sr_id or ''}".strip()

    @api.constrains("group_id", "kind")
    def _check_group(self):
        for rec in self:
            if rec.group_id and rec.kind != "individual":
                raise ValidationError(_("Only an individual can belong to a group."))
            if rec.group_id and rec.group_id.kind != "group":
                raise ValidationError(
                    _("%(sr)s is not a group.", sr=rec.group_id.sr_id)
                )

    # ------------------------------------------------------------------
    # Queries (used by the UI and the REST API; plain data, access rights
    # of the current user apply)
    # ------------------------------------------------------------------
    @api.model
    def find_by_identifier(self, id_type, value):
        """Return the beneficiary known by ``value`` for identifier type code
        ``id_type`` (``sr`` for the Social Registry id), or an empty recordset."""
        if not id_type or not value:
            return self.browse()
        if id_type == "sr":
            return self.search([("sr_id", "=", value)], limit=1)
        identifier = self.env["g2p.br.beneficiary.identifier"].search(
            [("type_id.code", "=", id_type), ("value", "=", value)], limit=1
        )
        if not identifier:
            return self.browse()
        # The identifier may be visible while the beneficiary is not: search
        # again so that record rules on the beneficiary decide.
        return self.search([("id", "=", identifier.beneficiary_id.id)], limit=1)

    def get_summary(self):
        """Type, SR id, identifiers and minimal demographics of one beneficiary."""
        self.ensure_one()
        return {
            "kind": self.kind,
            "sr_id": self.sr_id,
            "active": self.active,
            "identifiers": [
                {"type": ident.type_id.code, "value": ident.value}
                for ident in self.identifier_ids
            ],
            "sex": self.sex or None,
            "birth_date": iso(self.birth_date),
            "region_code": self.region_code or None,
            "group_size": self.group_size if self.kind == "group" else None,
            "poverty_score": self.poverty_score if self.kind == "group" else None,
            "disability": self.disability,
            "group_sr_id": self._visible_group().sr_id or None,
            "sr_updated_at": iso(self.sr_updated_at),
            "synced_at": iso(self.synced_at),
        }

    def _visible_group(self):
        """The household, if the user may see it (a viewer may see a member
        of a program without seeing the household), else an empty recordset."""
        self.ensure_one()
        if not self.group_id:
            return self.group_id
        return self.search([("id", "=", self.group_id.id)])

    def get_enrollments(self, state=None):
        """Every program membership of this beneficiary the user may see."""
        self.ensure_one()
        domain = [("beneficiary_id", "=", self.id)]
        if state:
            domain.append(("state", "=", state))
        memberships = self.env["g2p.br.program.membership"].search(domain)
        return [membership._to_dict() for membership in memberships]

    def get_entitlements(
        self, program=None, cycle=None, state=None, limit=None, offset=0
    ):
        """Entitlements of this beneficiary with their disbursements.

        :param program: program code
        :param cycle: cycle id
        :param state: entitlement state
        :return: ``{"total": int, "items": [dict]}``
        """
        self.ensure_one()
        domain = [("beneficiary_id", "=", self.id)]
        if program:
            domain.append(("program_id.code", "=", program))
        if cycle:
            try:
                domain.append(("cycle_id", "=", int(cycle)))
            except (TypeError, ValueError) as err:
                raise UserError(
                    _("The cycle must be a cycle id, not %r.", cycle)
                ) from err
        if state:
            domain.append(("state", "=", state))
        Entitlement = self.env["g2p.br.entitlement"]
        total = Entitlement.search_count(domain)
        entitlements = Entitlement.search(
            domain, limit=limit, offset=offset or 0, order="valid_from desc, id desc"
        )
        return {"total": total, "items": entitlements._to_dicts()}

    # ------------------------------------------------------------------
    # UI figures: non-stored, for the form's smart buttons (one grouped
    # read per figure, never in list views)
    # ------------------------------------------------------------------
    def _compute_ui_counts(self):
        ids = self._origin.ids
        memberships = count_by(
            self.env, "g2p.br.program.membership", "beneficiary_id", ids
        )
        entitlements = count_by(self.env, "g2p.br.entitlement", "beneficiary_id", ids)
        disbursements = count_by(self.env, "g2p.br.disbursement", "beneficiary_id", ids)
        group_members = count_by(self.env, "g2p.br.beneficiary", "group_id", ids)
        for rec in self:
            rec.membership_count = memberships.get(rec._origin.id, 0)
            rec.entitlement_count = entitlements.get(rec._origin.id, 0)
            rec.disbursement_count = disbursements.get(rec._origin.id, 0)
            rec.group_member_count = group_members.get(rec._origin.id, 0)

    def _action_open_related(self, model, name, field="beneficiary_id"):
        return open_related(self, model, name, field)

    def action_open_memberships(self):
        return self._action_open_related("g2p.br.program.membership", _("Programs"))

    def action_open_entitlements(self):
        return self._action_open_related("g2p.br.entitlement", _("Entitlements"))

    def action_open_disbursements(self):
        return self._action_open_related("g2p.br.disbursement", _("Disbursements"))

    def action_open_group_members(self):
        return self._action_open_related(
            "g2p.br.beneficiary", _("Group Members"), "group_id"
        )

    # ------------------------------------------------------------------
    # Eligibility explained (the program's _explain_eligibility_html), and
    # the rule's domain widget counting as the program's banner does
    # ------------------------------------------------------------------
    @api.depends_context("uid")
    def _compute_eligibility_html(self):
        for rec in self:
            programs = rec.membership_ids.program_id[:10]
            rec.eligibility_html = (
                Markup("").join(
                    program._explain_eligibility_html(rec._origin)
                    for program in programs
                )
                if rec._origin
                else False
            )

    @api.model
    def _search(self, domain, *args, **kwargs):
        """The domain widget of a program's rule counts (and lists) with the
        program's target and company in the context: it then counts exactly
        the beneficiaries the banner counts (active beneficiaries of the
        target, of the program's company)."""
        target = self.env.context.get("br_target_type")
        if target:
            extra = [("kind", "=", target)]
            company = self.env.context.get("br_company_id")
            if company:
                extra += ["|", ("company_id", "=", False), ("company_id", "=", company)]
            domain = expression.AND([list(domain or []), extra])
        return super()._search(domain, *args, **kwargs)
