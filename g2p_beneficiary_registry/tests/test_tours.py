"""Browser tours (headless Chromium) of the program managers' web UI.

The tours are in static/tests/tours/; each one starts where the previous one
left the data: a manager sets up a program and its first cycle, an approver
approves it, the manager imports the provider's statuses.
"""

import time

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

GROUP = "base.group_user,g2p_beneficiary_registry.group_br_%s"


@tagged("post_install", "-at_install")
class TestTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def user(login, group):
            return new_test_user(
                cls.env, login=login, password=login, groups=GROUP % group, tz="UTC"
            )

        cls.manager_a = user("tour_manager_a", "manager")
        cls.manager_b = user("tour_manager_b", "manager")
        cls.approver_a = user("tour_approver_a", "approver")
        Beneficiary = cls.env["g2p.br.beneficiary"]
        cls.eligible = Beneficiary.create(
            [{"sr_id": f"TOUR-{n}", "region_code": "TOURLAND"} for n in range(3)]
        )
        Beneficiary.create({"sr_id": "TOUR-OUT", "region_code": "ELSEWHERE"})

    def _url(self, record, action):
        menu = self.env.ref("g2p_beneficiary_registry.menu_br_root")
        return (
            f"/web#id={record.id}&model={record._name}&view_type=form"
            f"&action=g2p_beneficiary_registry.{action}&menu_id={menu.id}"
        )

    def test_program_lifecycle(self):
        started = time.monotonic()
        # a manager creates a program, sets the rule, enrolls, creates a cycle,
        # generates the entitlements and sends them to approval
        self.start_tour(
            "/web?debug=1", "g2p_br_manager_program_tour", login="tour_manager_a"
        )
        program = self.env["g2p.br.program"].search([("code", "=", "TOUR")])
        self.assertEqual(program.state, "active")
        self.assertIn(self.manager_a, program.user_ids)
        self.assertEqual(program.membership_ids.beneficiary_id, self.eligible)
        cycle = program.cycle_ids
        self.assertEqual(cycle.state, "to_approve")
        self.assertEqual(len(cycle.entitlement_ids), 3)
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )

        # an approver approves them
        program.user_ids = [Command.link(self.approver_a.id)]
        self.start_tour(
            self._url(cycle, "cycle_action"),
            "g2p_br_approver_tour",
            login="tour_approver_a",
        )
        cycle.invalidate_recordset()
        self.assertEqual(cycle.state, "approved")
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"approved"})
        self.assertEqual(cycle.approved_by_id, self.approver_a)

        # the manager creates the disbursements; the provider's CSV names them
        cycle.with_user(self.manager_a)._create_disbursements()
        disbursements = cycle.entitlement_ids.disbursement_ids.sorted("id")
        self.assertEqual(len(disbursements), 3)
        for n, disbursement in enumerate(disbursements, start=1):
            disbursement.reference = f"TOUR-PAY-{n}"
        self.start_tour(
            "/web#action=g2p_beneficiary_registry.disbursement_action",
            "g2p_br_import_status_tour",
            login="tour_manager_a",
        )
        cycle.entitlement_ids.invalidate_recordset()
        self.assertEqual(set(disbursements.mapped("status")), {"paid"})
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("disbursement_status")),
            {"fully_disbursed"},
        )
        self.assertEqual(cycle.total_disbursed, 300.0)
        self._log_duration("program lifecycle tours", started)

    def test_program_access(self):
        started = time.monotonic()
        Program = self.env["g2p.br.program"]
        Program.create(
            {
                "code": "TOUR-A",
                "name": "Tour Program A",
                "user_ids": [Command.set(self.manager_a.ids)],
            }
        )
        program_b = Program.create(
            {
                "code": "TOUR-B",
                "name": "Tour Program B",
                "user_ids": [Command.set(self.manager_b.ids)],
            }
        )
        self.start_tour(
            self._url(program_b, "program_action"),
            "g2p_br_program_access_tour",
            login="tour_manager_a",
        )
        self._log_duration("program access tour", started)

    def _log_duration(self, what, started):
        import logging

        logging.getLogger(__name__).info("%s: %.1f s", what, time.monotonic() - started)
