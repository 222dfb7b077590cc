"""Eligibility explained: per leaf of a program's rule, whether it holds for a
beneficiary ("Poverty Score 0.30 — rule: >= 0.5 ✗")."""

import ast

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.osv import expression

OPERATOR_LABELS = {
    "=": "=",
    "!=": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "in": "in",
    "not in": "not in",
    "ilike": "contains",
    "not ilike": "does not contain",
    "like": "contains",
    "=like": "matches",
    "=ilike": "matches",
}


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

    def _rule_leaves(self):
        """The leaves ``(path, operator, value)`` of the program's own rule
        (the rule as typed; the target kind is checked separately)."""
        self.ensure_one()
        try:
            rule = ast.literal_eval((self.eligibility_domain or "[]").strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return []
        return [
            tuple(item)
            for item in rule
            if isinstance(item, list | tuple) and len(item) == 3
        ]

    def _explain_eligibility(self, beneficiary):
        """``[(text, holds)]``: each criterion of the program for
        ``beneficiary``, the target kind first. Evaluated in Python on the one
        record (no query per leaf beyond reading the record)."""
        self.ensure_one()
        beneficiary.ensure_one()
        Beneficiary = self.env["g2p.br.beneficiary"]
        kinds = dict(Beneficiary._fields["kind"]._description_selection(self.env))
        lines = [
            (
                _(
                    "Kind: %(kind)s — program targets %(target)s",
                    kind=kinds.get(beneficiary.kind, beneficiary.kind),
                    target=dict(
                        self._fields["target_type"]._description_selection(self.env)
                    )[self.target_type],
                ),
                beneficiary.kind == self.target_type,
            )
        ]
        if not beneficiary.active:
            lines.append((_("Archived in the registry"), False))
        for leaf in self._rule_leaves():
            lines.append(self._explain_leaf(beneficiary, leaf))
        return lines

    def _explain_leaf(self, beneficiary, leaf):
        path, operator, value = leaf
        label, actual = self._leaf_label_value(beneficiary, path)
        try:
            holds = bool(beneficiary.filtered_domain([leaf]))
        except (ValueError, TypeError, KeyError, AttributeError):
            holds = bool(
                self.env["g2p.br.beneficiary"]
                .with_context(active_test=False)
                .search_count([("id", "=", beneficiary.id), leaf], limit=1)
            )
        return (
            _(
                "%(label)s %(actual)s — rule: %(op)s %(value)s",
                label=label,
                actual=actual,
                op=OPERATOR_LABELS.get(operator, operator),
                value=self._format_value(value),
            ),
            holds,
        )

    def _leaf_label_value(self, beneficiary, path):
        model = self.env["g2p.br.beneficiary"]
        record = beneficiary
        labels = []
        value = None
        names = str(path).split(".")
        for index, name in enumerate(names):
            field = model._fields.get(name)
            if field is None:
                return str(path), "?"
            labels.append(field.string)
            value = record[name] if record else False
            if field.type in ("many2one", "one2many", "many2many"):
                model = self.env[field.comodel_name]
                record = value
                if index == len(names) - 1:
                    value = ", ".join(value.mapped("display_name")) or _("none")
            elif field.type == "selection":
                value = dict(field._description_selection(self.env)).get(value, value)
            elif field.type == "float" and value is not False:
                value = f"{value:.2f}"
            elif field.type == "boolean":
                value = _("yes") if value else _("no")
        if value is False or value is None or value == "":
            value = _("(empty)")
        return " › ".join(labels), value

    def _format_value(self, value):
        if isinstance(value, list | tuple):
            return "[" + ", ".join(str(v) for v in value) + "]"
        if value is True:
            return _("yes")
        if value is False:
            return _("no / empty")
        return str(value)

    def _explain_failing(self, beneficiary):
        """The criteria ``beneficiary`` fails, as one line of text."""
        return "; ".join(
            f"{text} ✗"
            for text, holds in self._explain_eligibility(beneficiary)
            if not holds
        )

    def _explain_eligibility_html(self, beneficiary, title=None):
        lines = self._explain_eligibility(beneficiary)
        eligible = bool(
            self.env["g2p.br.beneficiary"]
            .with_context(active_test=True)
            .search_count(
                self._get_eligibility_domain() + [("id", "=", beneficiary.id)],
                limit=1,
            )
        )
        rows = Markup("").join(
            Markup('<li class="%s"><span class="me-1">%s</span>%s</li>')
            % (
                "text-success" if holds else "text-danger",
                "✓" if holds else "✗",
                text,
            )
            for text, holds in lines
        )
        verdict = (
            Markup('<span class="badge text-bg-success">%s</span>') % _("eligible")
            if eligible
            else Markup('<span class="badge text-bg-danger">%s</span>')
            % _("not eligible")
        )
        if not self._rule_leaves():
            rows += Markup('<li class="text-warning">%s</li>') % _(
                "The rule has no criterion: it matches every active beneficiary "
                "of the target."
            )
        return Markup(
            '<div class="o_br_eligibility"><div class="fw-bold">%s %s</div>'
            '<ul class="list-unstyled mb-2">%s</ul></div>'
        ) % (escape(title or self.display_name), verdict, rows)


class G2pBrBeneficiary(models.Model):
    _inherit = "g2p.br.beneficiary"

    eligibility_html = fields.Html(
        string="Eligibility",
        compute="_compute_eligibility_html",
        sanitize=False,
        help="For each program of this beneficiary, each criterion of its rule "
        "and whether it holds now.",
    )

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
