# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Router tests of the bulk lookups, identifiers as query parameters, the read
audit trail and the purge of the API's logs."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import BrApiRouterCase


@tagged("post_install", "-at_install")
class TestBrApiLookups(BrApiRouterCase):
    prefix = "LK"

    def reads(self, client="reader"):
        return self.env["g2p.br.api.read.log"].search(
            [("client_id", "=", self.clients[client].id)], order="id"
        )

    # ------------------------------------------------------------------
    # identifiers as query parameters
    # ------------------------------------------------------------------
    def test_identifier_as_query_parameter(self):
        member = self.members_a[0]
        identifier = member.identifier_ids[0]
        identifier.value = "LK/NID/0001"
        for path in ("", "/enrollments", "/entitlements"):
            with self.subTest(path=path):
                response = self.get(
                    f"/beneficiaries{path}",
                    params={"id_type": "NID", "id_value": "LK/NID/0001"},
                )
                body = self.assertStatus(response, 200)
                if not path:
                    self.assertEqual(body["sr_id"], member.sr_id)
                else:
                    self.assertEqual(body["total"], 1)
        other = self.members_b[0]
        for params in (
            {"id_type": "sr", "id_value": other.sr_id},
            {"id_type": "sr", "id_value": "NOBODY"},
        ):
            with self.subTest(params=params):
                body = self.assertStatus(self.get("/beneficiaries", params=params), 404)
                self.assertEqual(body["errors"][0]["code"], "not_found")
        body = self.assertStatus(
            self.get("/beneficiaries", params={"id_type": "sr"}), 422
        )
        self.assertEqual(body["errors"][0]["location"], ["query", "id_value"])

    # ------------------------------------------------------------------
    # bulk lookups
    # ------------------------------------------------------------------
    def test_bulk_enrollments_in_request_order(self):
        a1, a2 = self.members_a
        b1 = self.members_b[0]
        identifiers = [
            {"type": "NID", "value": a2.identifier_ids.value},
            {"type": "sr", "value": "NOBODY"},
            {"type": "sr", "value": b1.sr_id},
            {"type": "sr", "value": a1.sr_id},
            {"type": "NOTYPE", "value": "x"},
            {"type": "NID", "value": a2.identifier_ids.value},
        ]
        body = self.assertStatus(
            self.post("/beneficiaries/enrollments", {"identifiers": identifiers}), 200
        )
        results = body["results"]
        self.assertEqual(
            [(r["type"], r["value"]) for r in results],
            [(i["type"], i["value"]) for i in identifiers],
        )
        self.assertEqual(
            [(r["found"], r["sr_id"]) for r in results],
            [
                (True, a2.sr_id),
                (False, None),
                # another program's member: the same answer as nobody
                (False, None),
                (True, a1.sr_id),
                (False, None),
                (True, a2.sr_id),
            ],
        )
        self.assertEqual([e["program"] for e in results[0]["items"]], ["LK-A"])
        self.assertEqual(results[1]["items"], [])
        # the same client seeing both programs finds b1
        body = self.assertStatus(
            self.post(
                "/beneficiaries/enrollments", {"identifiers": identifiers}, client="all"
            ),
            200,
        )
        self.assertEqual(body["results"][2]["sr_id"], b1.sr_id)

    def test_bulk_entitlements(self):
        identifiers = [{"type": "sr", "value": m.sr_id} for m in self.members_a]
        body = self.assertStatus(
            self.post("/beneficiaries/entitlements", {"identifiers": identifiers}),
            200,
        )
        for result, member in zip(body["results"], self.members_a, strict=True):
            self.assertEqual(result["sr_id"], member.sr_id)
            [entitlement] = result["items"]
            self.assertEqual(entitlement["program"], "LK-A")
            self.assertEqual(len(entitlement["disbursements"]), 1)

    def test_bulk_limits(self):
        one = {"type": "sr", "value": self.members_a[0].sr_id}
        body = self.assertStatus(
            self.post("/beneficiaries/enrollments", {"identifiers": [one] * 1000}),
            200,
        )
        self.assertEqual(len(body["results"]), 1000)
        for payload in (
            {"identifiers": [one] * 1001},
            {"identifiers": []},
            {"identifiers": [{"type": "sr"}]},
            {"identifiers": [dict(one, extra=1)]},
            {"identifiers": [dict(one, value="A\x00")]},
            {},
        ):
            with self.subTest(payload=str(payload)[:60]):
                self.assertStatus(
                    self.post("/beneficiaries/entitlements", payload), 422
                )

    def test_bulk_query_count_does_not_grow_with_identifiers(self):
        """Set-based: the same number of queries for 2 and for 1,000 people."""
        counts = []
        for size in (2, 2, 1000):  # the first call warms the caches
            identifiers = [{"type": "sr", "value": m.sr_id} for m in self.members_a] + [
                {"type": "sr", "value": f"NOBODY-{n}"} for n in range(size - 2)
            ]
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.assertStatus(
                self.post("/beneficiaries/entitlements", {"identifiers": identifiers}),
                200,
            )
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2])

    # ------------------------------------------------------------------
    # read audit trail
    # ------------------------------------------------------------------
    def test_reads_are_audited_in_one_insert(self):
        member = self.members_a[0]
        self.assertStatus(self.get(f"/beneficiaries/sr/{member.sr_id}"), 200)
        self.assertStatus(self.get("/programs/LK-A/enrollments"), 200)
        self.assertStatus(self.get("/beneficiaries/sr/NOBODY"), 404)
        reads = self.reads()
        self.assertEqual(
            [(r.endpoint, r.beneficiary_id) for r in reads],
            [("/beneficiaries/{id_type}/{id_value}", member)]
            + [
                ("/programs/{code}/enrollments", m) for m in self.members_a.sorted("id")
            ],
        )
        self.assertEqual(set(reads.mapped("user_id")), {self.users["reader"]})
        self.assertTrue(all(r.read_time for r in reads))
        # a bulk read of 1,000 identifiers: one INSERT
        identifiers = [{"type": "sr", "value": member.sr_id}] * 1000
        inserts = []
        execute = type(self.env.cr).execute

        def spy(cr, query, params=None, log_exceptions=True):
            if "INSERT INTO g2p_br_api_read_log" in str(query):
                inserts.append(query)
            return execute(cr, query, params, log_exceptions)

        cursor_class = type(self.env.cr)
        cursor_class.execute = spy
        try:
            self.assertStatus(
                self.post("/beneficiaries/entitlements", {"identifiers": identifiers}),
                200,
            )
        finally:
            cursor_class.execute = execute
        self.assertEqual(len(inserts), 1)

    def test_reads_not_audited_outside_the_api_and_admin_only(self):
        """Calling the service directly (as over JSON-RPC) writes no read log,
        whatever the context says; clients cannot read the log."""
        member = self.members_a[0]
        service = (
            self.env["g2p.br.api.service"]
            .with_user(self.users["reader"])
            .with_context(br_api_client_id=self.clients["writer"].id)
        )
        self.assertTrue(service.beneficiary_detail("sr", member.sr_id))
        self.assertFalse(self.env["g2p.br.api.read.log"].search_count([]))
        Log = self.env["g2p.br.api.read.log"].with_user(self.users["all"])
        self.assertFalse(Log.check_access_rights("read", False))
        self.assertFalse(Log.check_access_rights("create", False))

    # ------------------------------------------------------------------
    # retention
    # ------------------------------------------------------------------
    def test_purge_by_retention(self):
        self.assertStatus(self.get(f"/beneficiaries/sr/{self.members_a[0].sr_id}"), 200)
        self.assertStatus(
            self.post(
                "/disbursements/status",
                {"items": [{"reference": "X", "status": "sent", "status_time": "x"}]},
                client="writer",
            ),
            422,
        )
        old = fields.Datetime.now() - timedelta(days=40)
        self.env.cr.execute("UPDATE g2p_br_api_read_log SET read_time = %s", (old,))
        self.env.cr.execute("UPDATE g2p_br_api_call_log SET call_time = %s", (old,))
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("g2p_br_api.read_log_retention_days", "30")
        params.set_param("g2p_br_api.call_log_retention_days", "0")  # forever
        self.assertStatus(self.get(f"/beneficiaries/sr/{self.members_a[1].sr_id}"), 200)
        self.env["g2p.br.api.call.log"]._cron_purge_logs(batch_size=1)
        reads = self.env["g2p.br.api.read.log"].search([])
        self.assertEqual(reads.beneficiary_id, self.members_a[1])
        self.assertTrue(self.env["g2p.br.api.call.log"].search_count([]))
        params.set_param("g2p_br_api.call_log_retention_days", "30")
        self.env["g2p.br.api.call.log"]._cron_purge_logs()
        self.assertFalse(self.env["g2p.br.api.call.log"].search_count([]))
        cron = self.env.ref("g2p_br_api.ir_cron_purge_api_logs")
        self.assertTrue(cron.active)
