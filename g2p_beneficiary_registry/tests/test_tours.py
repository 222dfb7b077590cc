# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser tours (headless Chromium) of the program managers' web UI.

The tours are in static/tests/tours/; each one starts where the previous one
left the data: a manager sets up a program and its first cycle, an approver
approves it, the manager imports the provider's statuses.
"""

import base64
import os
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, TransactionCase, common, new_test_user, tagged

GROUP = "base.group_user,g2p_beneficiary_registry.group_br_%s"

_chrome_without_limit = common.ChromeBrowser._chrome_without_limit
_browser_init = common.ChromeBrowser.__init__


def _chrome_remembered(browser, cmd):
    browser._started_chrome = _chrome_without_limit(browser, cmd)
    return browser._started_chrome


def _browser_init_or_stop(browser, *args, **kwargs):
    """ChromeBrowser.__init__, which stops the Chromium it started when it
    fails: Odoo leaves that browser running, and it holds the test run's
    output open for as long as it lives."""
    try:
        _browser_init(browser, *args, **kwargs)
    except BaseException:
        chrome = getattr(browser, "_started_chrome", None)
        if chrome:
            chrome.terminate()
            try:
                chrome.wait(10)
            except subprocess.TimeoutExpired:
                chrome.kill()
                chrome.wait()
        if getattr(browser, "user_data_dir", None):
            shutil.rmtree(browser.user_data_dir, ignore_errors=True)
        # SIG_DFL is 0: "is not None", not truth
        if getattr(browser, "sigxcpu_handler", None) is not None:
            signal.signal(signal.SIGXCPU, browser.sigxcpu_handler)
        raise


def _live_children():
    """Pids of this process's children that have not ended."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


class TourCase(HttpCase):
    """An HttpCase whose Chromium may take up to a minute to start, is
    stopped when it does not, and whose tour fails then under CI.

    Odoo waits 10 s for Chromium's DevTools port, then skips the test, which
    then proves nothing, and leaves that browser running. Starting Chromium on
    a busy machine (a fresh CI machine, its first start) can take longer.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(common, "CHECK_BROWSER_ITERATIONS", 600))
        cls.startClassPatcher(patch.object(common, "BROWSER_WAIT", 60))
        browser = common.ChromeBrowser
        cls.startClassPatcher(
            patch.object(browser, "_chrome_without_limit", _chrome_remembered)
        )
        cls.startClassPatcher(patch.object(browser, "__init__", _browser_init_or_stop))

    def browser_js(self, *args, **kwargs):
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as skip:
            if os.environ.get("CI"):
                # a green CI run must have run its tours
                self.fail(f"The browser did not start, the tour did not run: {skip}")
            raise

    def _url(self, record, action):
        menu = self.env.ref("g2p_beneficiary_registry.menu_br_root")
        return (
            f"/web#id={record.id}&model={record._name}&view_type=form"
            f"&action=g2p_beneficiary_registry.{action}&menu_id={menu.id}"
        )


@tagged("post_install", "-at_install")
class TestTours(TourCase):
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

    def test_chromium_start_waited_for_a_minute(self):
        waited = common.CHECK_BROWSER_ITERATIONS * common.CHECK_BROWSER_SLEEP
        self.assertGreaterEqual(waited, 60)
        self.assertEqual(common.BROWSER_WAIT, 60)

    def test_a_browser_too_slow_to_start_is_stopped(self):
        before = _live_children()
        # the default disposition (SIG_DFL, which is 0) must come back too
        self.addCleanup(signal.signal, signal.SIGXCPU, signal.getsignal(signal.SIGXCPU))
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        handler = signal.SIG_DFL
        with (
            patch.object(common, "CHECK_BROWSER_ITERATIONS", 0),
            self.assertRaises(unittest.SkipTest),
        ):
            common.ChromeBrowser(type(self))
        self.assertEqual(_live_children() - before, set())
        # not the failed browser's handler (which would stop it and exit)
        self.assertEqual(signal.getsignal(signal.SIGXCPU), handler)

    def test_a_tour_whose_browser_does_not_start_fails_under_ci(self):
        with (
            patch.object(common, "CHECK_BROWSER_ITERATIONS", 0),
            patch.dict(os.environ, {"CI": "true"}),
            self.assertRaisesRegex(AssertionError, "the tour did not run"),
        ):
            try:
                self.start_tour(
                    "/web", "g2p_br_manager_program_tour", login="tour_manager_a"
                )
            except unittest.SkipTest as skip:  # not what CI must get
                raise AssertionError(f"skipped: {skip}") from None

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


@tagged("post_install", "-at_install")
class TestUiWizards(TransactionCase):
    """The UI's server side: confirmation counts, CSV status import, figures
    of the kanban and forms, the cycle report (fast, no browser)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="ui_manager", groups=GROUP % "manager"
        )
        cls.other_manager = new_test_user(
            cls.env, login="ui_other_manager", groups=GROUP % "manager"
        )
        cls.beneficiaries = cls.env["g2p.br.beneficiary"].create(
            [{"sr_id": f"UI-{n}", "region_code": "UILAND"} for n in range(4)]
        )
        cls.program = cls.env["g2p.br.program"].create(
            {
                "code": "UI",
                "name": "UI Program",
                "eligibility_domain": "[('region_code', '=', 'UILAND')]",
                "base_amount": 10,
                "user_ids": [Command.set(cls.manager.ids)],
            }
        )
        cls.program.action_activate()

    def _confirm(self, operation, record, user=None):
        field = "program_id" if operation.startswith("program") else "cycle_id"
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(user or self.manager)
            .create({"operation": operation, field: record.id})
        )
        count = wizard.record_count
        wizard.action_confirm()
        return count

    def _cycle_with_disbursements(self):
        self.assertEqual(self._confirm("program_enroll_eligible", self.program), 4)
        cycle = self.program._create_next_cycle()
        self.assertEqual(self._confirm("cycle_generate_entitlements", cycle), 4)
        self.assertEqual(self._confirm("cycle_to_approve", cycle), 4)
        self.assertEqual(
            self._confirm("cycle_approve_entitlements", cycle, self.env.user), 4
        )
        self.assertEqual(self._confirm("cycle_create_disbursements", cycle), 4)
        disbursements = cycle.entitlement_ids.disbursement_ids.sorted("id")
        for n, disbursement in enumerate(disbursements, start=1):
            disbursement.reference = f"UI-PAY-{n}"
        return cycle, disbursements

    def _import(self, content, mode="all_or_nothing", as_file=False):
        values = {"apply_mode": mode}
        if as_file:
            values["csv_file"] = base64.b64encode(content.encode())
        else:
            values["csv_text"] = content
        wizard = (
            self.env["g2p.br.disbursement.import.wizard"]
            .with_user(self.manager)
            .create(values)
        )
        wizard.action_import()
        return wizard

    def test_confirmation_counts_match_the_operations(self):
        cycle, disbursements = self._cycle_with_disbursements()
        self.assertEqual(len(disbursements), 4)
        # nothing left to do: the confirmations say 0
        self.assertEqual(self._confirm("program_enroll_eligible", self.program), 0)
        self.assertEqual(self._confirm("cycle_create_disbursements", cycle), 0)
        # one member no longer eligible
        self.beneficiaries[0].region_code = "ELSEWHERE"
        self.assertEqual(self._confirm("program_verify_eligibility", self.program), 1)
        self.assertEqual(
            self.program.membership_ids.filtered(
                lambda m: m.beneficiary_id == self.beneficiaries[0]
            ).state,
            "not_eligible",
        )

    def test_import_all_or_nothing(self):
        _cycle, disbursements = self._cycle_with_disbursements()
        wizard = self._import(
            "reference,status,date,failure_reason\n"
            "UI-PAY-1,paid,2026-11-20 10:00:00,\n"
            "UI-PAY-2,failed,2026-11-20,\n"
            "UI-PAY-404,paid,,\n"
            "UI-PAY-3,shipped,,\n"
        )
        self.assertEqual(wizard.state, "checked")
        self.assertEqual(wizard.error_count, 3)
        self.assertEqual(set(disbursements.mapped("status")), {"pending"})
        errors = {
            (line.row, line.reference): line.message
            for line in wizard.line_ids
            if line.result == "error"
        }
        self.assertEqual(
            sorted(errors), [(3, "UI-PAY-2"), (4, "UI-PAY-404"), (5, "UI-PAY-3")]
        )
        self.assertIn("failure reason", errors[(3, "UI-PAY-2")])

    def test_import_valid_rows_only(self):
        _cycle, disbursements = self._cycle_with_disbursements()
        wizard = self._import(
            "Reference;Status;Date;Failure Reason\n"
            "UI-PAY-1;paid;2026-11-20 10:00:00;\n"
            "UI-PAY-2;failed;2026-11-20;No account\n"
            "UI-PAY-1;reversed;2026-11-21 10:00:00;\n"
            "UI-PAY-404;paid;;\n",
            mode="valid_only",
            as_file=True,
        )
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.applied_count, 2)
        results = {line.row: line.result for line in wizard.line_ids}
        self.assertEqual(
            results, {2: "applied", 3: "applied", 4: "skipped", 5: "skipped"}
        )
        self.assertIn("twice", wizard.line_ids.filtered(lambda x: x.row == 4).message)
        self.assertEqual(disbursements[0].status, "paid")
        self.assertEqual(disbursements[1].status, "failed")
        self.assertEqual(disbursements[1].failure_reason, "No account")
        self.assertEqual(
            disbursements[0].entitlement_id.disbursement_status, "fully_disbursed"
        )
        action = wizard.action_open_entitlements()
        self.assertEqual(
            set(action["domain"][0][2]), set(disbursements[:2].entitlement_id.ids)
        )
        # the same file again changes nothing
        again = self._import(
            "reference,status,date,failure_reason\nUI-PAY-1,paid,2026-11-20,\n"
        )
        self.assertEqual(again.line_ids.result, "unchanged")

    def test_import_bad_file(self):
        Wizard = self.env["g2p.br.disbursement.import.wizard"].with_user(self.manager)
        with self.assertRaisesRegex(UserError, "missing: status"):
            Wizard.create({"csv_text": "reference,date\nX,2026-11-20\n"}).action_check()
        with self.assertRaisesRegex(UserError, "Choose a CSV file"):
            Wizard.create({}).action_check()

    def test_figures(self):
        cycle, _disbursements = self._cycle_with_disbursements()
        self.env["g2p.br.disbursement"].apply_status_updates(
            [{"reference": "UI-PAY-1", "status": "paid"}]
        )
        program = self.program.with_user(self.manager)
        self.assertEqual(
            (program.member_count, program.cycle_count, program.entitlement_count),
            (4, 1, 4),
        )
        self.assertEqual(program.current_cycle_id, cycle)
        self.assertEqual(
            (program.current_entitled, program.current_disbursed), (40, 10)
        )
        self.assertEqual(program.current_disbursed_rate, 25)
        self.assertEqual(program.eligible_count, 4)
        cycle.invalidate_recordset()
        self.assertEqual((cycle.total_entitled, cycle.total_disbursed), (40, 10))
        self.assertEqual(self.beneficiaries[0].entitlement_count, 1)
        # a rule being edited may be invalid: the live count is 0, no error
        draft = self.env["g2p.br.program"].new(
            {"target_type": "individual", "eligibility_domain": "[('nope', '=', 1)]"}
        )
        self.assertEqual(draft.eligible_count, 0)
        draft.eligibility_domain = "[('birth_date', '>', 'not a date')]"
        self.assertEqual(draft.eligible_count, 0)

    def test_cycle_report(self):
        cycle, _disbursements = self._cycle_with_disbursements()
        self.env["g2p.br.disbursement"].apply_status_updates(
            [{"reference": "UI-PAY-1", "status": "failed", "failure_reason": "x"}]
        )
        self.env.flush_all()
        Report = self.env["g2p.br.cycle.report"]
        [row] = Report.with_user(self.manager).search([("cycle_id", "=", cycle.id)])
        self.assertEqual((row.entitled, row.disbursed, row.failed_count), (40, 0, 1))
        self.assertFalse(
            Report.with_user(self.other_manager).search([("cycle_id", "=", cycle.id)])
        )


@tagged("post_install", "-at_install")
class TestManagersDayTours(TourCase):
    """Issue #13 in the browser: exit with a reason, reject with a reason,
    four-eyes explained."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="day_manager",
            password="day_manager",
            groups=GROUP % "manager" + ",g2p_beneficiary_registry.group_br_approver",
            tz="UTC",
        )
        cls.approver = new_test_user(
            cls.env,
            login="day_approver",
            password="day_approver",
            groups=GROUP % "approver",
            tz="UTC",
        )
        cls.env["g2p.br.beneficiary"].create(
            [{"sr_id": f"DAY-{n}", "region_code": "DAYLAND"} for n in range(2)]
        )
        cls.program = cls.env["g2p.br.program"].create(
            {
                "code": "DAY",
                "name": "Day Program",
                "eligibility_domain": "[('region_code', '=', 'DAYLAND')]",
                "base_amount": 10,
                "four_eyes": True,
                "user_ids": [Command.set((cls.manager | cls.approver).ids)],
            }
        )
        cls.program.action_activate()
        cls.program._enroll_eligible()

    def test_exit_member_with_reason(self):
        membership = self.program.membership_ids[0]
        self.start_tour(
            self._url(membership, "program_membership_action"),
            "g2p_br_exit_member_tour",
            login="day_manager",
        )
        self.assertEqual(membership.state, "exited")
        self.assertEqual(
            membership.exit_reason_id,
            self.env.ref("g2p_beneficiary_registry.exit_reason_deceased"),
        )

    def test_reject_and_four_eyes(self):
        cycle = self.program._create_next_cycle()
        cycle.with_user(self.manager).action_generate_entitlements()
        cycle.with_user(self.manager).action_to_approve()
        self.start_tour(
            self._url(cycle, "cycle_action"),
            "g2p_br_four_eyes_explained_tour",
            login="day_manager",
        )
        self.start_tour(
            self._url(cycle, "cycle_action"),
            "g2p_br_reject_cycle_tour",
            login="day_approver",
        )
        self.assertEqual(cycle.state, "draft")
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("rejection_reason")),
            {"Amounts are wrong"},
        )

    def test_mark_failed_from_the_form(self):
        cycle = self.program._create_next_cycle()
        cycle.with_user(self.manager).action_generate_entitlements()
        cycle.with_user(self.manager).action_to_approve()
        cycle.with_user(self.approver).action_approve_entitlements()
        cycle.with_user(self.manager)._create_disbursements()
        disbursement = cycle.entitlement_ids.disbursement_ids[0]
        self.start_tour(
            self._url(disbursement, "disbursement_action"),
            "g2p_br_mark_failed_tour",
            login="day_manager",
        )
        self.assertEqual(disbursement.status, "failed")
        self.assertEqual(disbursement.failure_reason, "Account closed")

    def test_program_assistant(self):
        menu = self.env.ref("g2p_beneficiary_registry.menu_br_root")
        self.start_tour(
            "/web#action=g2p_beneficiary_registry.program_assistant_action"
            f"&menu_id={menu.id}",
            "g2p_br_program_assistant_tour",
            login="day_manager",
        )
        program = self.env["g2p.br.program"].search([("code", "=", "ASSIST")])
        self.assertEqual(program.state, "active")
        self.assertTrue(program.four_eyes)
        self.assertEqual(program.base_amount, 15)
        self.assertTrue(program.rule_matches_all_confirmed)
        self.assertTrue(program.membership_ids)
