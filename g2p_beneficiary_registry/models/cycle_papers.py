"""Papers a program office prints: the cycle summary (QWeb PDF) and the
payment list of a cycle (CSV or XLSX) in a column layout set per program."""

import base64
import csv
import io

import xlsxwriter

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .cycle_figures import FIGURES, cycle_figures

# key: (header, description)
EXPORT_COLUMNS = {
    "reference": ("Reference", "Disbursement reference"),
    "sr_id": ("SR ID", "Social Registry id of the beneficiary"),
    "identifiers": ("Identifiers", "Every identifier, TYPE:value separated by ;"),
    "amount": ("Amount", "Amount (cash)"),
    "currency": ("Currency", "ISO currency code"),
    "quantity": ("Quantity", "Quantity (in-kind)"),
    "unit": ("Unit", "Unit of the in-kind item"),
    "channel": ("Channel", "Payment channel"),
    "status": ("Status", "Disbursement status"),
    "region": ("Region", "Region code of the beneficiary"),
    "program": ("Program", "Program code"),
    "cycle": ("Cycle", "Cycle name"),
}
DEFAULT_COLUMNS = "reference,sr_id,identifiers,amount,currency,channel"


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

    payment_export_columns = fields.Char(
        string="Payment List Columns",
        default=DEFAULT_COLUMNS,
        required=True,
        help="Comma-separated columns of the payment list handed to the bank or "
        "provider, in order. Available: "
        + ", ".join(EXPORT_COLUMNS)
        + ", and id:<identifier type code> for one identifier type "
        "(e.g. id:NATIONAL_ID). A column may be renamed with =, e.g. "
        "reference=TxnRef.",
    )
    payment_export_delimiter = fields.Selection(
        [(",", "Comma"), (";", "Semicolon"), ("\t", "Tab")],
        string="CSV Delimiter",
        default=",",
        required=True,
    )

    @api.constrains("payment_export_columns")
    def _check_payment_export_columns(self):
        for program in self:
            program._payment_columns()

    def _payment_columns(self):
        """``[(key, header)]`` of the program's payment list layout."""
        self.ensure_one()
        columns = []
        for raw in (self.payment_export_columns or "").split(","):
            raw = raw.strip()
            if not raw:
                continue
            key, _sep, header = raw.partition("=")
            key = key.strip()
            if key.startswith("id:") and key[3:]:
                default_header = key[3:]
            elif key in EXPORT_COLUMNS:
                default_header = EXPORT_COLUMNS[key][0]
            else:
                raise ValidationError(
                    _(
                        "Unknown payment list column %(key)s; available: %(keys)s, "
                        "id:<identifier type code>.",
                        key=key,
                        keys=", ".join(EXPORT_COLUMNS),
                    )
                )
            columns.append((key, header.strip() or default_header))
        if not columns:
            raise ValidationError(_("The payment list needs at least one column."))
        return columns


class G2pBrCycle(models.Model):
    _inherit = "g2p.br.cycle"

    # ------------------------------------------------------------------
    # Cycle summary (PDF)
    # ------------------------------------------------------------------
    def _summary_by_region(self):
        """``[(region, count, value)]`` of the cycle's entitlements that are
        not rejected or cancelled, by region of the beneficiary."""
        self.ensure_one()
        self.env["g2p.br.entitlement"].flush_model()
        self.env["g2p.br.entitlement"].check_access_rights("read")
        value = "e.amount" if self.benefit_kind == "cash" else "e.quantity"
        self.env.cr.execute(
            SQL(
                """
            SELECT COALESCE(b.region_code, ''), COUNT(*), COALESCE(SUM(%s), 0)
              FROM g2p_br_entitlement e
              JOIN g2p_br_beneficiary b ON b.id = e.beneficiary_id
             WHERE e.cycle_id = %s AND e.state NOT IN ('rejected', 'cancelled')
             GROUP BY 1 ORDER BY 1
            """,
                SQL(value),
                self.id,
            )
        )
        return self.env.cr.fetchall()

    def _summary_data(self):
        self.ensure_one()
        self.check_access_rule("read")
        figures = cycle_figures(self.env, self.ids)[self.id]
        states = dict(
            self.env["g2p.br.entitlement"]
            ._fields["state"]
            ._description_selection(self.env)
        )
        by_state = [
            (
                states.get(state, state),
                count,
                (amount if self.benefit_kind == "cash" else quantity) or 0.0,
            )
            for state, count, amount, quantity in self.env[
                "g2p.br.entitlement"
            ]._read_group(
                [("cycle_id", "=", self.id)],
                ["state"],
                ["__count", "amount:sum", "quantity:sum"],
            )
        ]
        return {
            "figures": [(label, *figures[key]) for key, label in FIGURES],
            "by_state": by_state,
            "by_region": self._summary_by_region(),
            "value_label": self._value_label(),
        }

    def action_print_summary(self):
        return self.env.ref(
            "g2p_beneficiary_registry.action_report_cycle_summary"
        ).report_action(self)

    # ------------------------------------------------------------------
    # Payment list (CSV, XLSX)
    # ------------------------------------------------------------------
    def _payment_list_rows(self, statuses=("pending",)):
        """Header and rows of the cycle's payment list, in the program's layout."""
        self.ensure_one()
        program = self.program_id
        columns = program._payment_columns()
        disbursements = self.env["g2p.br.disbursement"].search(
            [("cycle_id", "=", self.id), ("status", "in", list(statuses))],
            order="id",
        )
        beneficiaries = disbursements.beneficiary_id
        identifiers = self.env["g2p.br.beneficiary.identifier"].search_read(
            [("beneficiary_id", "in", beneficiaries.ids)],
            ["beneficiary_id", "type_id", "value"],
        )
        types = {
            t.id: t.code
            for t in self.env["g2p.br.identifier.type"].search(
                [("id", "in", list({i["type_id"][0] for i in identifiers}))]
            )
        }
        by_beneficiary = {}
        for ident in identifiers:
            by_beneficiary.setdefault(ident["beneficiary_id"][0], []).append(
                (types.get(ident["type_id"][0], ""), ident["value"])
            )
        channels = dict(
            self.env["g2p.br.disbursement"]
            ._fields["channel"]
            ._description_selection(self.env)
        )
        rows = []
        for disbursement in disbursements:
            idents = by_beneficiary.get(disbursement.beneficiary_id.id, [])
            values = {
                "reference": disbursement.reference,
                "sr_id": disbursement.beneficiary_id.sr_id,
                "identifiers": ";".join(f"{t}:{v}" for t, v in sorted(idents)),
                "amount": disbursement.amount,
                "currency": disbursement.currency_id.name or "",
                "quantity": disbursement.quantity,
                "unit": disbursement.unit or "",
                "channel": channels.get(disbursement.channel, disbursement.channel),
                "status": disbursement.status,
                "region": disbursement.beneficiary_id.region_code or "",
                "program": program.code,
                "cycle": self.name,
            }
            row = []
            for key, _header in columns:
                if key.startswith("id:"):
                    row.append(";".join(v for t, v in idents if t == key[3:]))
                else:
                    row.append(values[key])
            rows.append(row)
        return [header for _key, header in columns], rows, disbursements

    def _export_payment_list(self, file_format="csv", statuses=("pending",)):
        """Write the payment list as an attachment of the cycle and record
        who exported what, and when, in the cycle's chatter."""
        self.ensure_one()
        self.check_access_rights("write")
        self.check_access_rule("write")
        header, rows, disbursements = self._payment_list_rows(statuses)
        if not rows:
            raise UserError(
                _("%s has no payment in the chosen statuses to export.", self.name)
            )
        stamp = fields.Datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{self.program_id.code}-{self.name}-payments-{stamp}".replace(" ", "_")
        if file_format == "xlsx":
            buffer = io.BytesIO()
            workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
            sheet = workbook.add_worksheet(_("Payments"))
            bold = workbook.add_format({"bold": True})
            sheet.write_row(0, 0, header, bold)
            for index, row in enumerate(rows, start=1):
                sheet.write_row(index, 0, row)
            workbook.close()
            data = buffer.getvalue()
            name = base + ".xlsx"
            mimetype = (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
        else:
            buffer = io.StringIO()
            writer = csv.writer(
                buffer, delimiter=self.program_id.payment_export_delimiter or ","
            )
            writer.writerow(header)
            writer.writerows(rows)
            data = buffer.getvalue().encode("utf-8")
            name = base + ".csv"
            mimetype = "text/csv"
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "datas": base64.b64encode(data),
                "mimetype": mimetype,
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        total = sum(
            disbursements.mapped(
                "amount" if self.benefit_kind == "cash" else "quantity"
            )
        )
        self.message_post(
            body=_(
                "Payment list exported by %(user)s: %(count)s payments (%(statuses)s), "
                "%(total)s %(unit)s, %(format)s.",
                user=self.env.user.name,
                count=len(rows),
                statuses=", ".join(statuses),
                total=f"{total:,.2f}",
                unit=self._value_label(),
                format=file_format.upper(),
            ),
            attachment_ids=attachment.ids,
        )
        return attachment
