# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import uuid
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL, mute_logger

from odoo.addons.queue_job.exception import RetryableJobError

_logger = logging.getLogger(__name__)

COUNTERS = ("fetched", "created", "updated", "unchanged", "archived", "rejected")
# a running run without any live job and without activity for that long is
# resumed by the cron, at most MAX_ATTEMPTS per page
STALLED_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 3
ALIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
# passes over the run's query before a run that keeps missing registrants
# (the SR changes faster than it is read) gives up as incomplete
MAX_PASSES = 2
# advisory lock key of the household link pass (one at a time)
LINK_LOCK_KEY = 0x6272_5F6C_696E_6B  # "br_link"
# queue_job priorities of page jobs (lower first; queue_job's default is 10)
PAGE_PRIORITY = 10
GROUP_PAGE_PRIORITY = 9
# the SR's clock and the BR's differ by more than that: the run warns
CLOCK_SKEW_WARNING = timedelta(hours=1)

# SR ids of a run's pages (main and catch-up phases), one row each
_RUN_IDS = """
    SELECT x.sr_id
      FROM g2p_br_sr_pull_page p,
           unnest(string_to_array(p.fetched_sr_ids, E'\\n')) AS x(sr_id)
     WHERE p.run_id = %s AND p.phase IN ('main', 'catchup') AND x.sr_id <> ''
"""


class G2pBrSrPullRun(models.Model):
    """One pull from a Social Registry: the checkpoint of a resumable sync.

    A run reads its query in stages, each a set of page jobs: ``main`` (the
    query, paged), ``catchup`` (what changed in the SR since the main pages
    started), ``check`` (how many registrants the query matches now). The
    progress job (``_job_progress``, enqueued by every page when it ends)
    moves to the next stage once no page is pending, and ends the run:

    * ``done``: every page succeeded and the distinct SR ids fetched cover
      the SR's count (or the SR gives no count: the run says so); household
      links are set, the connection's cursor moves to the newest SR timestamp
      seen minus the overlap;
    * ``incomplete``: the SR changed faster than it was read (distinct ids
      fetched < count after ``MAX_PASSES`` passes); the cursor does not move;
    * ``partially_failed`` / ``failed``: some / all pages failed, or the
      circuit breaker stopped the run. A failed or interrupted run is resumed:
      its pending and failed pages are enqueued again; done pages are never
      fetched twice.
    """

    _name = "g2p.br.sr.pull.run"
    _description = "Social Registry Pull Run"
    _order = "id desc"

    connection_id = fields.Many2one(
        "g2p.br.sr.connection",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    mode = fields.Selection(
        [("full", "Full"), ("incremental", "Incremental")], required=True, readonly=True
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("incomplete", "Incomplete"),
            ("partially_failed", "Partially failed"),
            ("failed", "Failed"),
        ],
        required=True,
        default="running",
        readonly=True,
        index=True,
    )
    stage = fields.Selection(
        [("main", "Main pages"), ("catchup", "Catch-up"), ("check", "Check")],
        default="main",
        required=True,
        readonly=True,
    )
    pass_number = fields.Integer(string="Pass", default=1, readonly=True)
    started_at = fields.Datetime(readonly=True)
    finished_at = fields.Datetime(readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Started By",
        default=lambda self: self.env.user,
        readonly=True,
    )
    cursor_used = fields.Datetime(
        readonly=True, help="Records updated in the SR since then were asked for."
    )
    catchup_cursor = fields.Datetime(
        string="Catch-up From",
        readonly=True,
        help="The catch-up stage asked for the records the SR changed since then "
        "(its clock when the main pages started, or the newest timestamp they "
        "held if older, minus the overlap).",
    )
    cursor_candidate = fields.Datetime(
        string="New Cursor",
        readonly=True,
        help="The connection's cursor after this run: the newest last-updated "
        "value the SR sent (capped by the SR's clock when the last pass started) "
        "minus the connection's overlap. Set when the run is done.",
    )
    sr_clock_start = fields.Datetime(
        string="SR Clock at Start",
        readonly=True,
        help="The SR's own clock (message_ts) when the first page of the last "
        "pass was answered.",
    )
    sr_newest = fields.Datetime(
        string="Newest SR Timestamp", readonly=True, help="Largest last-updated seen."
    )
    sr_total = fields.Integer(
        string="SR Count",
        readonly=True,
        help="Registrants the query matched at the end.",
    )
    distinct_fetched = fields.Integer(
        string="Distinct Fetched", readonly=True, help="Distinct SR ids fetched."
    )
    duplicates = fields.Integer(
        readonly=True,
        help="Records received more than once (the SR's order moved while it was "
        "read, or catch-up and overlap).",
    )
    missing = fields.Integer(
        readonly=True, help="SR count minus distinct SR ids fetched, when positive."
    )
    links_set = fields.Integer(
        string="Household Links Set", readonly=True, help="By the run's link pass."
    )
    retry_waiting = fields.Integer(
        string="Records Waiting for Retry",
        readonly=True,
        help="Rejected records of the connection still waiting after this run.",
    )
    message = fields.Text(
        readonly=True, help="Why the run ended so, and warnings (clock, cursor)."
    )
    pages_total = fields.Integer(readonly=True)
    pages_done = fields.Integer(readonly=True)
    fetched = fields.Integer(readonly=True)
    created = fields.Integer(readonly=True)
    updated = fields.Integer(readonly=True)
    unchanged = fields.Integer(readonly=True)
    archived = fields.Integer(readonly=True)
    rejected = fields.Integer(readonly=True)
    page_ids = fields.One2many(
        "g2p.br.sr.pull.page", "run_id", string="Pages", readonly=True
    )
    error_ids = fields.One2many(
        "g2p.br.sr.pull.error", "run_id", string="Rejected Records", readonly=True
    )
    pages_failed = fields.Integer(compute="_compute_pages_failed")

    @api.depends("page_ids.state")
    def _compute_pages_failed(self):
        for rec in self:
            rec.pages_failed = len(rec.page_ids.filtered(lambda p: p.state == "failed"))

    @api.depends("connection_id", "mode", "started_at")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = _(
                "%(connection)s #%(id)s (%(mode)s)",
                connection=rec.connection_id.name,
                id=rec.id,
                mode=rec.mode,
            )

    def init(self):
        # DB-level guard: at most one running run per connection, whatever the
        # number of workers starting pulls at the same time.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS g2p_br_sr_pull_run_one_running
                    ON g2p_br_sr_pull_run (connection_id) WHERE state = 'running'
                """
            )
        )

    # -- actions ------------------------------------------------------------------
    def action_resume(self):
        """Enqueue the pending and failed pages of an interrupted or failed run."""
        self.ensure_one()
        if self.state == "done":
            raise UserError(_("This run is done: start a new one instead."))
        if self.state == "incomplete":
            raise UserError(
                _(
                    "This run read the SR %(passes)s times and still missed "
                    "registrants: start a new run.",
                    passes=self.pass_number,
                )
            )
        other = self.search(
            [
                ("connection_id", "=", self.connection_id.id),
                ("state", "=", "running"),
                ("id", "!=", self.id),
            ],
            limit=1,
        )
        if other:
            raise UserError(
                _("%(run)s is running for this connection.", run=other.display_name)
            )
        pages = self.page_ids.filtered(lambda p: p.state != "done")
        pages.write({"state": "pending", "error_message": False, "finished_at": False})
        pages.error_ids.unlink()
        self.write({"state": "running", "finished_at": False, "message": False})
        if pages:
            self._enqueue_pages(pages)
        else:  # interrupted between its last page and the end of a stage
            self._enqueue_progress()
        _logger.info("SR pull run %s resumed: %d pages enqueued", self.id, len(pages))
        return True

    def action_cancel(self):
        """Stop a running run (its pending pages are skipped by their jobs)."""
        for rec in self.filtered(lambda r: r.state == "running"):
            rec.write(
                {
                    "state": "failed",
                    "finished_at": fields.Datetime.now(),
                    "message": _("Cancelled by %s.", self.env.user.name),
                }
            )
        return True

    def _action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    # -- jobs -----------------------------------------------------------------------
    @staticmethod
    def _identity_key(run_id, page):
        return (
            f"g2p_br_sr_sync:run:{run_id}:pass:{page.pass_number}:{page.phase}"
            f":page:{page.page_number}"
        )

    def _enqueue_pages(self, pages):
        """One queue job per page; the identity key avoids duplicate jobs.

        The pages of a households connection go before the others (queue_job
        priority): of two connections pulling at once, the individuals that
        arrive after their household are linked when inserted, and the
        end-of-run link pass has little to rewrite. The order is a matter of
        speed only, the link pass makes it right in any order.
        """
        self.ensure_one()
        priority = self._job_priority()
        for page in pages:
            page.retries += 1
            page.with_delay(
                priority=priority,
                description=_(
                    "SR pull %(run)s, %(phase)s page %(page)s",
                    run=self.id,
                    phase=page.phase,
                    page=page.page_number,
                ),
                identity_key=self._identity_key(self.id, page),
            )._job_process()

    def _job_priority(self):
        """queue_job priority of the run's jobs: a households run's go first."""
        if self.connection_id.beneficiary_kind == "group":
            return GROUP_PAGE_PRIORITY
        return PAGE_PRIORITY

    def _enqueue_progress(self):
        """Enqueue the progress job. It becomes visible to the job runner when
        the enqueuing transaction commits, so it sees the page that enqueued it
        done; every page enqueues one: the one after the last page sees them
        all. Its priority is the pages': with queue_job's default a households
        run that had read all its pages waited for every individuals page
        enqueued before (priority, then creation) to start its next stage, and
        both runs ended together at the end, one link pass after the other."""
        self.ensure_one()
        self.with_delay(
            priority=self._job_priority(),
            description=_("SR pull %(run)s: progress", run=self.id),
            identity_key=f"g2p_br_sr_sync:run:{self.id}:progress:{uuid.uuid4().hex}",
        )._job_progress()

    def _job_progress(self):
        """Move the run to its next stage, or end it, once no page is pending
        (queue job). Only this job writes the run row while the run runs, and
        only when no page is pending."""
        self.ensure_one()
        if self.state != "running":
            return "run not running"
        # one indexed query, not the run's page records (hundreds at 1,000,000)
        self.env["g2p.br.sr.pull.page"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM g2p_br_sr_pull_page"
                " WHERE run_id = %s AND state = 'pending' LIMIT 1",
                self.id,
            )
        )
        if self.env.cr.fetchone():
            # the run row is not touched while pages run: each page's rows
            # reference it (sr_pull_run_id), and under REPEATABLE READ the
            # foreign key check of a page fails on a run row updated since the
            # page began. The counters are summed when a stage ends.
            return "pages pending"
        if not self._try_lock():
            # another progress job holds the run: try again with a fresh view
            raise RetryableJobError("SR pull run busy", seconds=2, ignore_retry=True)
        self._sum_pages()
        failed = self.page_ids.filtered(lambda p: p.state == "failed")
        if failed:
            return self._end_failed(failed)
        if self.stage == "main":
            return self._start_catchup()
        if self.stage == "catchup":
            return self._start_check()
        return self._check_complete()

    def _try_lock(self):
        """Lock the run row without waiting; False if another job holds it or
        changed it since this transaction started."""
        try:
            with self.env.cr.savepoint(flush=False), mute_logger("odoo.sql_db"):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM g2p_br_sr_pull_run WHERE id = %s"
                        " FOR UPDATE NOWAIT",
                        self.id,
                    ),
                    log_exceptions=False,
                )
        except psycopg2.errors.LockNotAvailable:
            return False
        except psycopg2.OperationalError as exc:
            if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                return False
            raise
        return True

    def _sum_pages(self):
        """Counters of the run: the sums of its pages (one UPDATE)."""
        self.env["g2p.br.sr.pull.page"].flush_model()
        sums = SQL(", ").join(
            SQL("%s = s.%s", SQL.identifier(name), SQL.identifier(name))
            for name in COUNTERS
        )
        totals = SQL(", ").join(
            SQL("COALESCE(sum(%s), 0) AS %s", SQL.identifier(n), SQL.identifier(n))
            for n in COUNTERS
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE g2p_br_sr_pull_run r
                   SET %(sums)s, pages_total = s.total, pages_done = s.done,
                       write_date = now() AT TIME ZONE 'UTC'
                  FROM (SELECT %(totals)s, count(*) AS total,
                               count(*) FILTER (WHERE state = 'done') AS done
                          FROM g2p_br_sr_pull_page WHERE run_id = %(id)s) s
                 WHERE r.id = %(id)s
                """,
                sums=sums,
                totals=totals,
                id=self.id,
            )
        )
        self.invalidate_recordset([*COUNTERS, "pages_total", "pages_done"])

    # -- stages -----------------------------------------------------------------------
    def _pass_pages(self, phase):
        return self.page_ids.filtered(
            lambda p: p.phase == phase and p.pass_number == self.pass_number
        )

    def _start_catchup(self):
        """Ask for the changes made while the main pages were read: from the
        SR's clock when the pass started, or the newest timestamp the pages
        held if older (an SR that stamps records behind its clock), minus the
        overlap."""
        main = self._pass_pages("main")
        clocks = [c for c in main.mapped("sr_clock") if c]
        newest = [d for d in main.mapped("sr_max_updated") if d]
        anchors = []
        if clocks:
            anchors.append(min(clocks))
        if newest:
            anchors.append(max(newest))
        values = {
            "stage": "catchup",
            "sr_clock_start": min(clocks) if clocks else False,
        }
        if not anchors:  # nothing fetched and no SR clock: nothing to catch up on
            self.write(values)
            return self._start_check()
        overlap = timedelta(seconds=self.connection_id.cursor_overlap)
        cursor = min(anchors) - overlap
        if self.cursor_used and cursor < self.cursor_used:
            cursor = self.cursor_used
        self.write({**values, "catchup_cursor": cursor})
        page = self.env["g2p.br.sr.pull.page"].create(
            {
                "run_id": self.id,
                "phase": "catchup",
                "pass_number": self.pass_number,
                "page_number": 1,
            }
        )
        self._enqueue_pages(page)
        return "catch-up started"

    def _start_check(self):
        self.stage = "check"
        page = self.env["g2p.br.sr.pull.page"].create(
            {
                "run_id": self.id,
                "phase": "check",
                "pass_number": self.pass_number,
                "page_number": 1,
            }
        )
        self._enqueue_pages(page)
        return "check started"

    def _check_complete(self):
        """Compare the distinct SR ids fetched with the SR's count now."""
        check = self._pass_pages("check")
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT count(*), count(DISTINCT sr_id) FROM (%s) ids",
                SQL(_RUN_IDS, self.id),
            )
        )
        received, distinct = cr.fetchone()
        # rejected records without a readable id count once each (last pass)
        cr.execute(
            SQL(
                """
                SELECT count(*) FROM g2p_br_sr_pull_error e
                  JOIN g2p_br_sr_pull_page p ON p.id = e.page_id
                 WHERE p.run_id = %s AND p.pass_number = %s
                   AND p.phase = 'main' AND e.sr_id IS NULL
                """,
                self.id,
                self.pass_number,
            )
        )
        distinct += cr.fetchone()[0]
        values = {"distinct_fetched": distinct, "duplicates": received - distinct}
        if not check.has_total:
            values["message"] = _(
                "The SR reports no total count: completeness could not be "
                "verified (%(distinct)s distinct registrants fetched).",
                distinct=distinct,
            )
            self.write(values)
            return self._end_done()
        total = check.total_count
        missing = max(total - distinct, 0)
        values.update(sr_total=total, missing=missing)
        self.write(values)
        if not missing:
            return self._end_done()
        if self.pass_number < MAX_PASSES:
            _logger.warning(
                "SR pull run %s: %d of %d registrants fetched (%d received): "
                "the SR changed while it was read; pass %d",
                self.id, distinct, total, received, self.pass_number + 1,
            )  # fmt: skip
            self.write({"pass_number": self.pass_number + 1, "stage": "main"})
            page = self.env["g2p.br.sr.pull.page"].create(
                {
                    "run_id": self.id,
                    "phase": "main",
                    "pass_number": self.pass_number,
                    "page_number": 1,
                }
            )
            self._enqueue_pages(page)
            return "new pass"
        reason = _(
            "Incomplete: the SR matched %(total)s registrants, %(distinct)s "
            "distinct ones were fetched in %(passes)s passes (%(received)s "
            "records received): the SR changed faster than it was read. The "
            "cursor did not move; start a new run.",
            total=total,
            distinct=distinct,
            passes=self.pass_number,
            received=received,
        )
        return self._end("incomplete", reason)

    # -- end of a run ---------------------------------------------------------------
    def _end_failed(self, failed):
        breaker = failed.filtered(
            lambda p: p.error_message and "circuit" in p.error_message
        )
        if breaker or not self.page_ids.filtered(lambda p: p.state == "done"):
            state = "failed"
        else:
            state = "partially_failed"
        reasons = failed.filtered(lambda p: p not in breaker)[-1:].error_message
        message = _(
            "%(count)s pages failed (%(stage)s stage, pass %(pass)s): %(reason)s",
            count=len(failed),
            stage=self.stage,
            reason=reasons or failed[-1:].error_message,
            **{"pass": self.pass_number},
        )
        if breaker:
            message = _(
                "Stopped by the circuit breaker after %(n)s consecutive failed "
                "pages (%(skipped)s pages not asked for); last error: %(reason)s. "
                "Resume when the SR is back.",
                n=self.connection_id.breaker_threshold,
                skipped=len(breaker),
                reason=reasons,
            )
        return self._end(state, message)

    def _end_done(self):
        connection = self.connection_id
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT max(sr_max_updated) FROM g2p_br_sr_pull_page WHERE run_id = %s",
                self.id,
            )
        )
        newest = cr.fetchone()[0]
        anchor = newest
        if newest and self.sr_clock_start:
            anchor = min(newest, self.sr_clock_start)
        candidate = self.cursor_used or False
        if anchor:
            candidate = anchor - timedelta(seconds=connection.cursor_overlap)
            if self.cursor_used and candidate < self.cursor_used:
                candidate = self.cursor_used
        self.write({"cursor_candidate": candidate, "sr_newest": newest})
        return self._end("done", self.message or "")

    def _end(self, state, message):
        """End the run: link households, update the retry set, sum, warn."""
        self.ensure_one()
        connection = self.connection_id
        links = self._link_households()
        waiting = self._update_retry_set()
        warnings = self._warnings()
        message = "\n".join(m for m in [message, *warnings] if m)
        now = fields.Datetime.now()
        self.write(
            {
                "state": state,
                "finished_at": now,
                "links_set": links,
                "retry_waiting": waiting,
                "message": message or False,
            }
        )
        if state == "done":
            connection.with_context(sr_sync_cursor=True).write(
                {"cursor": self.cursor_candidate, "last_success_at": now}
            )
        # the ids lists served their purpose: keep the pages small
        if state == "done":
            self.env.cr.execute(
                SQL(
                    "UPDATE g2p_br_sr_pull_page SET fetched_sr_ids = NULL"
                    " WHERE run_id = %s",
                    self.id,
                )
            )
            self.page_ids.invalidate_recordset(["fetched_sr_ids"])
        _logger.info(
            "SR pull run %s %s: %d pages, fetched %d (%d distinct), created %d, "
            "updated %d, unchanged %d, archived %d, rejected %d, links set %d, "
            "waiting for retry %d",
            self.id, state, self.pages_total, self.fetched, self.distinct_fetched,
            self.created, self.updated, self.unchanged, self.archived,
            self.rejected, links, waiting,
        )  # fmt: skip
        for warning in warnings:
            _logger.warning("SR pull run %s: %s", self.id, warning)
        if connection.reverify_eligibility and connection.program_ids:
            self._reverify_eligibility()
        return state

    def _link_households(self):
        """Set-based household link pass over the beneficiaries this run
        fetched (for a households run: the individuals that name them).

        One link pass at a time in the database (a transaction-level advisory
        lock, not waited for): the passes of an individuals run and of a
        households run ending together would otherwise update the same
        individuals in opposite orders. The progress job that does not get the
        lock is retried a moment later (before it wrote anything that counts).
        """
        cr = self.env.cr
        cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s)", LINK_LOCK_KEY))
        if not cr.fetchone()[0]:
            raise RetryableJobError(
                "another household link pass is running", seconds=2, ignore_retry=True
            )
        connection = self.connection_id
        group_ref_mapped = "sr_group_ref" in connection.mapping_ids.mapped(
            "target_field"
        )
        ids_query = SQL(
            """
            SELECT x.sr_id
              FROM g2p_br_sr_pull_page p,
                   unnest(string_to_array(p.fetched_sr_ids, E'\\n')) AS x(sr_id)
             WHERE p.run_id = %s
            """,
            self.id,
        )
        return self.env["g2p.br.beneficiary"]._sr_link_groups(
            ids_query, connection.beneficiary_kind, group_ref_mapped
        )

    def _update_retry_set(self):
        """Rejected records with an SR id wait for the next run; the records of
        the set that passed in this run leave it. Returns how many wait."""
        cr = self.env.cr
        connection = self.connection_id
        now = fields.Datetime.now()
        self.env["g2p.br.sr.pull.error"].flush_model()
        cr.execute(
            SQL(
                """
                INSERT INTO g2p_br_sr_retry AS r
                       (connection_id, company_id, sr_id, reason, state,
                        first_run_id, last_run_id, attempts,
                        create_uid, create_date, write_uid, write_date)
                SELECT DISTINCT ON (e.sr_id) %(conn)s, %(company)s, e.sr_id,
                       e.reason, 'waiting', %(run)s, %(run)s, 1,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM g2p_br_sr_pull_error e
                 WHERE e.run_id = %(run)s AND e.sr_id IS NOT NULL
                 ORDER BY e.sr_id, e.id DESC
                ON CONFLICT (connection_id, sr_id) DO UPDATE
                   SET reason = EXCLUDED.reason, last_run_id = EXCLUDED.last_run_id,
                       attempts = r.attempts + 1, write_date = EXCLUDED.write_date
                """,
                conn=connection.id,
                company=connection.company_id.id,
                run=self.id,
                uid=self.env.uid,
                now=now,
            )
        )
        # passed: received in this run by a page that did not reject it
        cr.execute(
            SQL(
                """
                DELETE FROM g2p_br_sr_retry r
                 USING (
                    SELECT x.sr_id
                      FROM g2p_br_sr_pull_page p,
                           unnest(string_to_array(p.fetched_sr_ids, E'\\n'))
                               AS x(sr_id)
                     WHERE p.run_id = %(run)s
                       AND NOT EXISTS (
                           SELECT 1 FROM g2p_br_sr_pull_error e
                            WHERE e.page_id = p.id AND e.sr_id = x.sr_id)
                 ) ok
                 WHERE r.connection_id = %(conn)s AND r.sr_id = ok.sr_id
                """,
                run=self.id,
                conn=connection.id,
            )
        )
        self.env["g2p.br.sr.retry"].invalidate_model()
        cr.execute(
            SQL(
                "SELECT count(*) FROM g2p_br_sr_retry"
                " WHERE connection_id = %s AND state = 'waiting'",
                connection.id,
            )
        )
        return cr.fetchone()[0]

    def _warnings(self):
        """Clock and cursor warnings (the SR's data far from the cursor)."""
        warnings = []
        clock = self.sr_clock_start
        now = fields.Datetime.now()
        if clock and abs(now - clock) > CLOCK_SKEW_WARNING:
            warnings.append(
                _(
                    "The SR's clock is %(delta)s %(way)s the BR's: the cursor "
                    "follows the SR's own timestamps.",
                    delta=_fmt_delta(abs(now - clock)),
                    way=_("behind") if clock < now else _("ahead of"),
                )
            )
        cursor = self.cursor_used
        if cursor and clock and cursor > clock:
            warnings.append(
                _(
                    "The cursor (%(cursor)s) is %(delta)s ahead of the SR's clock: "
                    "incremental pulls may miss changes; move it back on the "
                    "connection.",
                    cursor=cursor,
                    delta=_fmt_delta(cursor - clock),
                )
            )
        newest = self.sr_newest
        previous = self.connection_id.cursor
        if self.mode == "full" and newest and previous and previous > newest:
            warnings.append(
                _(
                    "The connection's cursor (%(cursor)s) was after the SR's "
                    "newest record (%(newest)s).",
                    cursor=previous,
                    newest=newest,
                )
            )
        return warnings

    def _breaker_reason(self):
        """The circuit breaker: the last N pages of the run that ended all
        failed (N: the connection's threshold). Returns the reason, or None."""
        threshold = self.connection_id.breaker_threshold
        if threshold <= 0:
            return None
        self.env["g2p.br.sr.pull.page"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT state, error_message FROM g2p_br_sr_pull_page
                 WHERE run_id = %s AND state IN ('done', 'failed')
                   AND finished_at IS NOT NULL
                 ORDER BY finished_at DESC, id DESC LIMIT %s
                """,
                self.id,
                threshold,
            )
        )
        last = self.env.cr.fetchall()
        if len(last) < threshold or any(state != "failed" for state, _msg in last):
            return None
        return _(
            "circuit breaker open: %(n)s consecutive pages failed, not asked for",
            n=threshold,
        )

    # -- recovery -------------------------------------------------------------------
    @api.model
    def _recover_stalled_runs(self):
        """Resume the running runs that no job works on any more.

        A page job that crashed (worker killed, unexpected error) leaves its
        page pending and its run running. After ``STALLED_AFTER`` without a
        live job nor activity, the run is resumed; a page that already had
        ``MAX_ATTEMPTS`` fails, so the run ends (partially) failed and the
        connection can pull again.
        """
        limit = fields.Datetime.now() - STALLED_AFTER
        for run in self.search([("state", "=", "running")]):
            last = max([run.write_date, *run.page_ids.mapped("write_date")])
            if last >= limit:
                continue
            alive = (
                self.env["queue.job"]
                .sudo()
                .search_count(
                    [
                        ("identity_key", "=like", f"g2p_br_sr_sync:run:{run.id}:%"),
                        ("state", "in", ALIVE_JOB_STATES),
                    ]
                )
            )
            if alive:
                continue
            pending = run.page_ids.filtered(lambda p: p.state == "pending")
            exhausted = pending.filtered(lambda p: p.retries >= MAX_ATTEMPTS)
            exhausted.write(
                {
                    "state": "failed",
                    "finished_at": fields.Datetime.now(),
                    "error_message": _(
                        "Interrupted %(count)s times: given up.", count=MAX_ATTEMPTS
                    ),
                }
            )
            _logger.warning(
                "SR pull run %s stalled: %d pages resumed, %d given up",
                run.id, len(pending - exhausted), len(exhausted),
            )  # fmt: skip
            if pending - exhausted:
                run._enqueue_pages(pending - exhausted)
            run._enqueue_progress()
            # the resumed run is active again: no second resume before due
            run.write({"message": False})

    def _reverify_eligibility(self):
        """Re-check eligibility of the beneficiaries this run changed."""
        self.ensure_one()
        changed = (
            self.env["g2p.br.beneficiary"]
            .with_context(active_test=False)
            .search([("sr_pull_run_id", "=", self.id)])
        )
        if not changed:
            return
        for program in self.connection_id.program_ids:
            if not hasattr(program, "verify_eligibility"):
                _logger.warning("verify_eligibility is not available on g2p.br.program")
                return
            program.verify_eligibility(beneficiary_ids=changed.ids)


def _fmt_delta(delta):
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s"
