# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import binascii
import csv
import io

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..utils import audit_context

# Largest report accepted in one import: a payment provider's report is split
# into files of at most this many rows (the API takes batches of 1,000).
MAX_ROWS_PARAM = "g2p_beneficiary_registry.status_import_max_rows"
DEFAULT_MAX_ROWS = 10000
MAX_BYTES = 5 * 1024 * 1024

# CSV header (normalised: lower case, spaces as underscores) -> item key
COLUMNS = {
    "reference": "reference",
    "status": "status",
    "date": "status_time",
    "status_date": "status_time",
    "status_time": "status_time",
    "failure_reason": "failure_reason",
    "reason": "failure_reason",
}
RESULTS = [
    ("valid", "Valid"),
    ("unchanged", "Unchanged"),
    ("applied", "Applied"),
    ("error", "Error"),
    ("skipped", "Not Imported"),
]


class G2pBrDisbursementImportWizard(models.TransientModel):
    """Import disbursement statuses from a payment provider's CSV file.

    Every row is validated first with the rules of
    :meth:`g2p.br.disbursement.apply_status_updates` (a dry run); then either
    nothing is applied when a row is invalid, or, if the user chose so, only
    the valid rows are, and the others are reported.
    """

    _name = "g2p.br.disbursement.import.wizard"
    _description = "Import Disbursement Statuses"

    # a column, not an attachment: the file is checked by _csv_content, with
    # clear errors, not decoded by ir.attachment on the way in
    csv_file = fields.Binary(string="CSV File", attachment=False)
    csv_filename = fields.Char(string="File Name")
    csv_text = fields.Text(
        string="Or Paste CSV",
        help="The CSV content, for a short report copied from the provider's portal.",
    )
    apply_mode = fields.Selection(
        [
            ("all_or_nothing", "Import nothing if any row is invalid"),
            ("valid_only", "Import the valid rows, report the others"),
        ],
        string="When a Row is Invalid",
        required=True,
        default="all_or_nothing",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("checked", "Checked"), ("done", "Done")],
        default="draft",
        required=True,
    )
    line_ids = fields.One2many(
        "g2p.br.disbursement.import.line", "wizard_id", string="Rows", readonly=True
    )
    row_count = fields.Integer(readonly=True)
    error_count = fields.Integer(string="Invalid Rows", readonly=True)
    applied_count = fields.Integer(string="Applied Rows", readonly=True)
    summary = fields.Text(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_text(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_text(vals)
        return super().write(vals)

    @api.model
    def _check_text(self, vals):
        """PostgreSQL cannot store a NUL character: say so before it tries."""
        if "\x00" in (vals.get("csv_text") or ""):
            raise UserError(_("The text holds NUL bytes: it is not CSV text."))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_check(self):
        """Validate every row, apply nothing."""
        self.ensure_one()
        rows = self._read_rows()
        results = self._validate(rows)
        errors = sum(1 for r in results if r["result"] == "error")
        self._store(rows, results, {"applied": "valid"})
        self.write(
            {
                "state": "checked",
                "applied_count": 0,
                "summary": _(
                    "%(rows)s rows checked: %(ok)s valid, %(errors)s invalid. "
                    "Nothing was imported yet.",
                    rows=len(rows),
                    ok=len(rows) - errors,
                    errors=errors,
                ),
            }
        )
        return self._reopen()

    def action_import(self):
        """Validate every row, then apply all of them, the valid ones, or none."""
        self.ensure_one()
        rows = self._read_rows()
        results = self._validate(rows)
        errors = sum(1 for r in results if r["result"] == "error")
        if errors and self.apply_mode == "all_or_nothing":
            self._store(rows, results, {"applied": "valid"})
            self.write(
                {
                    "state": "checked",
                    "applied_count": 0,
                    "summary": _(
                        "Nothing was imported: %(errors)s of %(rows)s rows are "
                        "invalid. Fix them, or choose to import only the valid rows.",
                        errors=errors,
                        rows=len(rows),
                    ),
                }
            )
            return self._reopen()
        valid = [i for i, r in enumerate(results) if r["result"] != "error"]
        with audit_context(self.env, path="import"):
            applied = self.env["g2p.br.disbursement"].apply_status_updates(
                [rows[i]["item"] for i in valid]
            )
        for index, result in zip(valid, applied, strict=True):
            results[index] = result
        count = sum(1 for r in applied if r["result"] == "applied")
        self._store(rows, results, {"error": "skipped"} if errors else {})
        self.write(
            {
                "state": "done",
                "applied_count": count,
                "summary": _(
                    "%(applied)s rows applied, %(unchanged)s unchanged, "
                    "%(errors)s invalid and not imported.",
                    applied=count,
                    unchanged=sum(1 for r in applied if r["result"] == "unchanged"),
                    errors=errors,
                ),
            }
        )
        return self._reopen()

    def action_reset(self):
        self.ensure_one()
        self.line_ids.unlink()
        self.write(
            {
                "state": "draft",
                "summary": False,
                "row_count": 0,
                "error_count": 0,
                "applied_count": 0,
            }
        )
        return self._reopen()

    def action_open_entitlements(self):
        """The entitlements of the disbursements named in the file."""
        self.ensure_one()
        references = [ref for ref in self.line_ids.mapped("reference") if ref]
        entitlements = (
            self.env["g2p.br.disbursement"]
            .search([("reference", "in", references)])
            .entitlement_id
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Imported Entitlements"),
            "res_model": "g2p.br.entitlement",
            "view_mode": "tree,form",
            "domain": [("id", "in", entitlements.ids)],
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Import Disbursement Statuses"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _csv_content(self):
        """The CSV text, or a clear UserError for a file that is too large, not
        base64, not UTF-8 or not text (NUL bytes)."""
        if self.csv_file:
            if len(self.csv_file) > MAX_BYTES * 4 // 3 + 4:
                raise UserError(self._too_large_message())
            try:
                raw = base64.b64decode(self.csv_file, validate=True)
            except (binascii.Error, ValueError) as err:
                raise UserError(
                    _("The file could not be read: it is not valid base64 data.")
                ) from err
            try:
                content = raw.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                raise UserError(
                    _("The file is not UTF-8 text (byte %s).", err.start + 1)
                ) from err
        elif self.csv_text and self.csv_text.strip():
            content = self.csv_text.lstrip("\ufeff")
            if len(content.encode()) > MAX_BYTES:
                raise UserError(self._too_large_message())
        else:
            raise UserError(_("Choose a CSV file or paste its content."))
        if "\x00" in content:
            raise UserError(_("The file holds NUL bytes: it is not a CSV text file."))
        return content

    def _max_rows(self):
        value = self.env["ir.config_parameter"].sudo().get_param(MAX_ROWS_PARAM)
        return int(value) if value else DEFAULT_MAX_ROWS

    def _too_large_message(self):
        return _(
            "The file is too large: import at most %(rows)s rows (%(mb)s MB) at a "
            "time; split the provider's report.",
            rows=self._max_rows(),
            mb=MAX_BYTES // (1024 * 1024),
        )

    def _read_rows(self):
        """Rows of the CSV as ``{row, item}``; ``row`` is the line number in
        the file (the header is row 1)."""
        content = self._csv_content()
        sample = content[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample.splitlines()[0], delimiters=",;\t")
        except (csv.Error, IndexError):
            dialect = csv.excel
        reader = csv.reader(io.StringIO(content), dialect)
        try:
            header = next(reader)
        except StopIteration as err:
            raise UserError(_("The file is empty.")) from err
        keys = [COLUMNS.get(col.strip().lower().replace(" ", "_")) for col in header]
        missing = {"reference", "status"} - set(keys)
        if missing:
            raise UserError(
                _(
                    "The CSV file needs the columns reference, status, date and "
                    "failure_reason; missing: %s.",
                    ", ".join(sorted(missing)),
                )
            )
        try:
            rows = self._parse_rows(reader, keys)
        except csv.Error as err:
            raise UserError(
                _("Row %(row)s is not valid CSV: %(err)s", row=reader.line_num, err=err)
            ) from err
        if not rows:
            raise UserError(_("The file has a header but no rows."))
        return rows

    def _parse_rows(self, reader, keys):
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            item = {
                "reference": None,
                "status": None,
                "status_time": None,
                "failure_reason": None,
            }
            for key, value in zip(keys, values, strict=False):
                if key:
                    item[key] = value.strip() or None
            if item["status"]:
                item["status"] = item["status"].lower()
            rows.append({"row": reader.line_num, "item": item})
            if len(rows) > self._max_rows():
                raise UserError(self._too_large_message())
        return rows

    def _validate(self, rows):
        return self.env["g2p.br.disbursement"].apply_status_updates(
            [row["item"] for row in rows], validate_only=True
        )

    def _store(self, rows, results, result_map):
        self.line_ids.unlink()
        self.env["g2p.br.disbursement.import.line"].create(
            [
                {
                    "wizard_id": self.id,
                    "row": row["row"],
                    "reference": row["item"]["reference"],
                    "status": row["item"]["status"],
                    "status_time": row["item"]["status_time"],
                    "failure_reason": row["item"]["failure_reason"],
                    "result": result_map.get(result["result"], result["result"]),
                    "message": result["message"],
                }
                for row, result in zip(rows, results, strict=True)
            ]
        )
        self.write(
            {
                "row_count": len(rows),
                "error_count": sum(1 for r in results if r["result"] == "error"),
            }
        )


class G2pBrDisbursementImportLine(models.TransientModel):
    _name = "g2p.br.disbursement.import.line"
    _description = "Row of a Disbursement Status Import"
    _order = "result_order, row"

    wizard_id = fields.Many2one(
        "g2p.br.disbursement.import.wizard", required=True, ondelete="cascade"
    )
    row = fields.Integer(readonly=True)
    reference = fields.Char(readonly=True)
    status = fields.Char(readonly=True)
    status_time = fields.Char(string="Date", readonly=True)
    failure_reason = fields.Char(readonly=True)
    result = fields.Selection(RESULTS, readonly=True)
    result_order = fields.Integer(compute="_compute_result_order", store=True)
    message = fields.Char(readonly=True)

    @api.depends("result")
    def _compute_result_order(self):
        for line in self:
            line.result_order = 0 if line.result in ("error", "skipped") else 1
