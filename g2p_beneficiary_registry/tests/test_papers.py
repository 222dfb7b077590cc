# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #13: the cycle summary PDF and the payment list export."""

import base64
import csv
import io

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import BeneficiaryRegistryCase


@tagged("post_install", "-at_install")
class TestPapers(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle = cls.approved_cycle(cls.program_a)
        cls.cycle._create_disbursements()

    def test_summary_data(self):
        data = self.cycle.with_user(self.user_viewer)._summary_data()
        figures = {label: (count, value) for label, count, value in data["figures"]}
        self.assertEqual(figures["Approved"], (2, 200.0))
        self.assertEqual(figures["To send"], (2, 200.0))
        self.assertEqual(data["by_region"], [("ZZR1", 2, 200.0)])

    def test_summary_pdf_renders(self):
        report = self.env.ref("g2p_beneficiary_registry.action_report_cycle_summary")
        html, _fmt = report.with_user(self.user_viewer)._render_qweb_html(
            report.report_name, self.cycle.ids
        )
        html = html.decode()
        for text in ("Program A", "ZZR1", "Approved by", "signature", "Failed"):
            self.assertIn(text, html)
        # the PDF itself (wkhtmltopdf): Odoo falls back to HTML in tests unless
        # asked for the PDF explicitly
        pdf, fmt = report.with_context(force_report_rendering=True)._render_qweb_pdf(
            report.report_name, self.cycle.ids
        )
        self.assertEqual(fmt, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_payment_list_csv_and_chatter(self):
        self.program_a.payment_export_columns = (
            "reference=TxnRef,sr_id,id:NATIONAL_ID,identifiers,amount,currency,channel"
        )
        cycle = self.cycle.with_user(self.user_manager)
        attachment = cycle._export_payment_list("csv", ("pending",))
        rows = list(
            csv.reader(io.StringIO(base64.b64decode(attachment.datas).decode()))
        )
        self.assertEqual(
            rows[0],
            [
                "TxnRef",
                "SR ID",
                "NATIONAL_ID",
                "Identifiers",
                "Amount",
                "Currency",
                "Channel",
            ],
        )
        self.assertEqual(len(rows), 3)
        by_sr = {row[1]: row for row in rows[1:]}
        self.assertEqual(by_sr[self.ind1.sr_id][2], "NID-1")
        self.assertEqual(by_sr[self.ind1.sr_id][3], "NATIONAL_ID:NID-1")
        self.assertEqual(by_sr[self.ind1.sr_id][4], "100.0")
        self.assertEqual(by_sr[self.ind1.sr_id][5], self.currency.name)
        message = self.cycle.message_ids[0]
        self.assertIn("Payment list exported by br_manager", message.body)
        self.assertEqual(message.attachment_ids, attachment)
        self.assertEqual(message.author_id, self.user_manager.partner_id)

    def test_payment_list_xlsx(self):
        wizard = (
            self.env["g2p.br.payment.export.wizard"]
            .with_user(self.user_manager)
            .create({"cycle_id": self.cycle.id, "file_format": "xlsx"})
        )
        action = wizard.action_export()
        self.assertIn("/web/content/", action["url"])
        attachment = self.cycle.message_ids[0].attachment_ids
        self.assertTrue(attachment.name.endswith(".xlsx"))
        self.assertTrue(base64.b64decode(attachment.datas).startswith(b"PK"))

    def test_layout_is_checked(self):
        with self.assertRaises(ValidationError):
            self.program_a.payment_export_columns = "reference,iban"
