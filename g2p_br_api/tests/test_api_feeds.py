# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Router tests of the payment-provider reads and the change feeds."""

from datetime import timedelta

from odoo import fields, sql_db
from odoo.tests import tagged

from .common import BrApiRouterCase


@tagged("post_install", "-at_install")
class TestBrApiFeeds(BrApiRouterCase):
    prefix = "FD"

    def clock(self):
        """Now, to the microsecond: after every row of the test's transaction
        (stamped with its start), and before the feed's horizon, which another
        connection's open transaction (another test's, in a full run) can hold
        before now."""
        self.env.cr.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC'")
        now = self.env.cr.fetchone()[0]
        horizon = self.env["g2p.br.api.service"]._feed_horizon()
        return min(now, horizon - timedelta(microseconds=1))

    # ------------------------------------------------------------------
    # GET /disbursements/{reference}
    # ------------------------------------------------------------------
    def test_disbursement_by_reference(self):
        disbursement = self.disbursements_a[0]
        body = self.assertStatus(
            self.get(f"/disbursements/{disbursement.reference}"), 200
        )
        member = disbursement.beneficiary_id
        self.assertEqual(body["reference"], disbursement.reference)
        self.assertEqual(body["program"], "FD-A")
        self.assertEqual(body["cycle_id"], self.cycle_a.id)
        self.assertEqual(body["entitlement_id"], disbursement.entitlement_id.id)
        self.assertEqual(body["beneficiary"]["sr_id"], member.sr_id)
        self.assertEqual(
            body["beneficiary"]["identifiers"],
            [{"type": "NID", "value": member.identifier_ids.value}],
        )
        self.assertEqual((body["amount"], body["status"]), (50.0, "pending"))
        self.assertEqual(body["currency"], disbursement.currency_id.name)
        self.assertRegex(body["updated_at"], r"Z$")

    def test_disbursement_other_program_is_404_like_missing(self):
        other = self.disbursements_b[0]
        hidden = self.get(f"/disbursements/{other.reference}")
        missing = self.get("/disbursements/NO-SUCH-REFERENCE")
        self.assertEqual(hidden.status_code, 404)
        self.assertEqual(
            hidden.content.replace(other.reference.encode(), b"X"),
            missing.content.replace(b"NO-SUCH-REFERENCE", b"X"),
        )
        self.assertEqual(
            hidden.json(),
            {"errors": [{"code": "not_found", "message": "Disbursement not found"}]},
        )
        self.assertStatus(
            self.get(f"/disbursements/{other.reference}", client="all"), 200
        )

    def test_disbursement_reference_with_slash(self):
        disbursement = self.disbursements_a[0]
        disbursement.sudo().write({"reference": "PSP/2026/11/0001"})
        body = self.assertStatus(self.get("/disbursements/PSP/2026/11/0001"), 200)
        self.assertEqual(body["reference"], "PSP/2026/11/0001")
        body = self.assertStatus(
            self.get("/disbursements", params={"reference": "PSP/2026/11/0001"}), 200
        )
        self.assertEqual([d["reference"] for d in body["items"]], ["PSP/2026/11/0001"])

    # ------------------------------------------------------------------
    # GET /disbursements (change feed)
    # ------------------------------------------------------------------
    def _walk(self, params, client="reader", limit=1):
        """Every page of the feed, as a list of references, and the last cursor."""
        references, cursor = [], None
        for _page in range(50):
            query = dict(params, limit=limit)
            if cursor:
                query["cursor"] = cursor
            body = self.assertStatus(
                self.get("/disbursements", client, params=query), 200
            )
            references += [d["reference"] for d in body["items"]]
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return references, cursor
        self.fail("the feed does not end")

    def test_feed_visible_programs_only(self):
        references, _cursor = self._walk({})
        self.assertEqual(
            sorted(references), sorted(self.disbursements_a.mapped("reference"))
        )
        references, _cursor = self._walk({}, client="all")
        self.assertTrue(
            set((self.disbursements_a | self.disbursements_b).mapped("reference"))
            <= set(references)
        )
        # another program's filter: 404, like a program that does not exist
        self.assertStatus(self.get("/disbursements", params={"program": "FD-B"}), 404)
        self.assertStatus(self.get("/disbursements", params={"program": "NOPE"}), 404)

    def test_feed_filters(self):
        first = self.disbursements_a[0]
        first.sudo()._set_status("sent", fields.Datetime.now())
        for params, expected in (
            ({"program": "FD-A"}, self.disbursements_a),
            ({"cycle": self.cycle_a.id}, self.disbursements_a),
            ({"cycle": self.cycle_b.id}, self.disbursements_a.browse()),
            ({"state": "sent"}, first),
            ({"state": "pending"}, self.disbursements_a - first),
        ):
            with self.subTest(params=params):
                references, _cursor = self._walk(params, limit=50)
                self.assertEqual(
                    sorted(references), sorted(expected.mapped("reference"))
                )

    def test_feed_cursor_no_skip_no_repeat(self):
        """Pages of one row; rows changed after the walk come after the cursor,
        exactly once."""
        references, cursor = self._walk({"program": "FD-A"})
        self.assertEqual(len(references), len(set(references)))
        self.assertEqual(len(references), len(self.disbursements_a))
        # nothing new: an empty page, the same position
        body = self.assertStatus(
            self.get("/disbursements", params={"cursor": cursor}), 200
        )
        self.assertEqual((body["items"], body["has_more"]), ([], False))
        # a later change (write_date after every row read so far)
        changed = self.disbursements_a[0]
        later = self.clock()
        self.env.cr.execute(
            "UPDATE g2p_br_disbursement SET write_date = %s WHERE id = %s",
            (later, changed.id),
        )
        changed.invalidate_recordset()
        body = self.assertStatus(
            self.get("/disbursements", params={"cursor": body["next_cursor"]}), 200
        )
        self.assertEqual([d["reference"] for d in body["items"]], [changed.reference])

    def test_feed_updated_since(self):
        disbursement = self.disbursements_a[0]
        later = self.clock()
        self.env.cr.execute(
            "UPDATE g2p_br_disbursement SET write_date = %s WHERE id = %s",
            (later, disbursement.id),
        )
        since = later.isoformat() + "Z"
        references, _cursor = self._walk({"updated_since": since})
        self.assertEqual(references, [disbursement.reference])
        for params in (
            {"updated_since": "yesterday"},
            {"updated_since": "1700000000"},
            {"cursor": "not-a-cursor"},
            {"cursor": "MjAyNnwx"},
            {"limit": 0},
            {"limit": 1001},
        ):
            with self.subTest(params=params):
                body = self.assertStatus(self.get("/disbursements", params=params), 422)
                self.assertEqual(body["errors"][0]["location"][0], "query")

    def test_feed_waits_for_open_transactions(self):
        """A row stamped at or after the start of another open transaction is
        not served yet (that transaction may still commit rows stamped
        before it): served once the transaction is over."""
        disbursement = self.disbursements_a[0]
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT now() AT TIME ZONE 'UTC'")
            started = other.fetchone()[0]
            self.env.cr.execute(
                "UPDATE g2p_br_disbursement SET write_date = %s WHERE id = %s",
                (started + timedelta(microseconds=1), disbursement.id),
            )
            disbursement.invalidate_recordset()
            # the backends' status is read once per transaction (and the test
            # runs in one): read it again, as a new request would
            self.env.cr.execute("SELECT pg_stat_clear_snapshot()")
            horizon = self.env["g2p.br.api.service"]._feed_horizon()
            self.assertLessEqual(horizon, started)
            references, _cursor = self._walk({}, limit=50)
            self.assertNotIn(disbursement.reference, references)
        finally:
            other.rollback()
            other.close()
        self.env.cr.execute("SELECT pg_stat_clear_snapshot()")
        references, _cursor = self._walk({}, limit=50)
        self.assertIn(disbursement.reference, references)

    # ------------------------------------------------------------------
    # program enrollments and beneficiary entitlements
    # ------------------------------------------------------------------
    def _walk_path(self, path, params, client="reader", limit=1):
        keys, cursor = [], None
        for _page in range(50):
            query = dict(params, limit=limit)
            if cursor:
                query = dict(query, cursor=cursor)
            body = self.assertStatus(self.get(path, client, params=query), 200)
            self.assertIsNone(body["total"])
            keys += body["items"]
            cursor = body["next_cursor"]
            self.assertTrue(cursor)
            if not body["has_more"]:
                return keys, cursor
        self.fail("the feed does not end")

    def test_program_enrollments_feed(self):
        path = "/programs/FD-A/enrollments"
        # offset mode: identifiers included, no cursor
        body = self.assertStatus(self.get(path), 200)
        self.assertEqual(body["total"], 2)
        self.assertIsNone(body["next_cursor"])
        item = body["items"][0]
        self.assertEqual(item["identifiers"][0]["type"], "NID")
        self.assertRegex(item["updated_at"], r"Z$")
        # feed mode, one row a page
        items, cursor = self._walk_path(path, {"updated_since": "1970-01-01T00:00:00Z"})
        self.assertEqual(
            sorted(i["sr_id"] for i in items), sorted(self.members_a.mapped("sr_id"))
        )
        # a change after the cursor: served once
        membership = self.env["g2p.br.program.membership"].search(
            [("beneficiary_id", "=", self.members_a[1].id)]
        )
        self.env.cr.execute(
            "UPDATE g2p_br_program_membership SET write_date = %s WHERE id = %s",
            (self.clock(), membership.id),
        )
        membership.invalidate_recordset()
        items, cursor = self._walk_path(path, {"cursor": cursor})
        self.assertEqual([i["sr_id"] for i in items], [self.members_a[1].sr_id])
        items, cursor = self._walk_path(path, {"cursor": cursor})
        self.assertEqual(items, [])
        # not another program's
        self.assertStatus(
            self.get("/programs/FD-B/enrollments", params={"cursor": cursor}), 404
        )
        # offset and cursor do not mix
        body = self.assertStatus(
            self.get(path, params={"cursor": cursor, "offset": 1}), 422
        )
        self.assertEqual(body["errors"][0]["code"], "offset_with_cursor")

    def test_beneficiary_entitlements_feed(self):
        member = self.members_a[0]
        path = f"/beneficiaries/sr/{member.sr_id}/entitlements"
        items, cursor = self._walk_path(path, {"updated_since": "1970-01-01T00:00:00Z"})
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["program"], "FD-A")
        self.assertTrue(items[0]["disbursements"])
        self.assertRegex(items[0]["updated_at"], r"Z$")
        items, _cursor = self._walk_path(path, {"cursor": cursor})
        self.assertEqual(items, [])
        items, _cursor = self._walk_path(
            path, {"updated_since": "1970-01-01T00:00:00Z", "state": "draft"}
        )
        self.assertEqual(items, [])
        # another program's member: 404 in feed mode too
        other = self.members_b[0]
        self.assertStatus(
            self.get(
                f"/beneficiaries/sr/{other.sr_id}/entitlements",
                params={"updated_since": "1970-01-01T00:00:00Z"},
            ),
            404,
        )

    def test_feed_extreme_updated_since(self):
        """No 500 at the ends of the calendar (the empty page's cursor)."""
        for since in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
            with self.subTest(since=since):
                body = self.assertStatus(
                    self.get("/disbursements", params={"updated_since": since}), 200
                )
                cursor = body["next_cursor"]
                self.assertStatus(
                    self.get("/disbursements", params={"cursor": cursor}), 200
                )
        body = self.assertStatus(
            self.get(
                "/disbursements", params={"updated_since": "0001-01-01T00:00:00+14:00"}
            ),
            422,
        )
        self.assertEqual(body["errors"][0]["code"], "datetime_out_of_range")
