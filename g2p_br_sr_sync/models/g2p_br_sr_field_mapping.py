# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..services.record_mapping import (
    TRANSFORMS,
    MappingError,
    parse_path,
    parse_value_map,
)

# BR fields a mapping line may write: minimal demographics and SR metadata only
TARGET_FIELDS = [
    ("sr_id", "SR id"),
    ("identifier", "Identifier"),
    ("active", "Active"),
    ("sex", "Sex"),
    ("birth_date", "Birth date"),
    ("region_code", "Region code"),
    ("group_size", "Group size"),
    ("poverty_score", "Poverty score"),
    ("disability", "Disability"),
    ("sr_updated_at", "Last updated in SR"),
    ("sr_group_ref", "Group (SR id of the household)"),
]
TRANSFORM_LABELS = {
    "none": "None",
    "date": "Date",
    "datetime": "Date and time (UTC)",
    "int": "Integer",
    "float": "Decimal",
    "lower": "Lower case",
    "bool": "Boolean",
    "value_map": "Value map",
}


class G2pBrSrFieldMapping(models.Model):
    _name = "g2p.br.sr.field.mapping"
    _description = "Social Registry Field Mapping"
    _order = "connection_id, sequence, id"

    connection_id = fields.Many2one(
        "g2p.br.sr.connection", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    source_path = fields.Char(
        required=True,
        help="Dotted path in the SR record; [n] picks a list item, [key=value] the "
        "first list item whose key equals value, e.g. "
        "identifier[identifier_type=UIN].identifier_value",
    )
    target_field = fields.Selection(TARGET_FIELDS, string="BR Field", required=True)
    identifier_type_id = fields.Many2one(
        "g2p.br.identifier.type",
        string="Identifier Type",
        ondelete="restrict",
        help="Type of the identifier stored (target Identifier only).",
    )
    transform = fields.Selection(
        [(key, TRANSFORM_LABELS[key]) for key in TRANSFORMS],
        default="none",
        required=True,
    )
    value_map = fields.Text(
        help="One 'source = target' per line; '*' is the default, e.g.\n"
        "F = female\nM = male\n* = other",
    )
    required = fields.Boolean(
        help="Reject the record when the value is missing (the SR id always is)."
    )

    @api.constrains("source_path", "transform", "value_map")
    def _check_source(self):
        for rec in self:
            try:
                parse_path(rec.source_path)
                if rec.transform == "value_map" and not parse_value_map(rec.value_map):
                    raise MappingError("the value map is empty")
            except MappingError as exc:
                raise ValidationError(
                    _("Mapping %(path)s: %(error)s", path=rec.source_path, error=exc)
                ) from None

    @api.constrains("target_field", "identifier_type_id", "connection_id")
    def _check_target(self):
        for rec in self:
            if rec.target_field == "identifier" and not rec.identifier_type_id:
                raise ValidationError(
                    _(
                        "Mapping %s: an identifier needs an identifier type.",
                        rec.source_path,
                    )
                )
            if rec.target_field != "identifier" and rec.identifier_type_id:
                raise ValidationError(
                    _("Mapping %s: only identifiers have a type.", rec.source_path)
                )
            lines = rec.connection_id.mapping_ids
            if len(lines.filtered(lambda line: line.target_field == "sr_id")) > 1:
                raise ValidationError(_("Only one mapping line may give the SR id."))
            duplicates = lines.filtered(
                lambda line, r=rec: (
                    line.target_field == r.target_field
                    and line.identifier_type_id == r.identifier_type_id
                )
            )
            if len(duplicates) > 1:
                raise ValidationError(
                    _(
                        "Two mapping lines write the same BR field (%s).",
                        rec.target_field,
                    )
                )
