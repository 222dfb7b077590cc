import logging
from datetime import timedelta

from psycopg2 import sql

from odoo import _, api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

COUNTERS = ("fetched", "created", "updated", "unchanged", "archived", "rejected")
# a running run whose page jobs are all gone (worker killed, job failed on a
# crash) for that long is resumed by the cron, at most MAX_ATTEMPTS per page
STALLED_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 3
ALIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


class G2pBrSrPullRun(models.Model):
    """One pull from a Social Registry: the checkpoint of a resumable sync.

    States: ``running`` until no page is pending, then ``done`` (every page
    done: the connection's cursor moves to ``cursor_candidate``),
    ``partially_failed`` (some pages failed, some done) or ``failed`` (no page
    done). A failed or interrupted run is resumed: its pending and failed pages
    are enqueued again; done pages are never fetched twice.
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
            ("partially_failed", "Partially failed"),
            ("failed", "Failed"),
        ],
        required=True,
        default="running",
        readonly=True,
        index=True,
    )
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
    cursor_candidate = fields.Datetime(
        string="New Cursor",
        readonly=True,
        help="The connection's cursor after this run if every page succeeds: the "
        "run's start minus the connection's overlap.",
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
            """
            CREATE UNIQUE INDEX IF NOT EXISTS g2p_br_sr_pull_run_one_running
                ON g2p_br_sr_pull_run (connection_id) WHERE state = 'running'
            """
        )

    # -- actions ------------------------------------------------------------------
    def action_resume(self):
        """Enqueue the pending and failed pages of an interrupted or failed run."""
        self.ensure_one()
        if self.state == "done":
            raise UserError(_("This run is done: start a new one instead."))
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
        if not pages:  # interrupted between its last page and the end of the run
            self._finalize()
            return True
        pages.write({"state": "pending", "error_message": False})
        pages.error_ids.unlink()
        self.write({"state": "running", "finished_at": False})
        self._enqueue_pages(pages)
        _logger.info("SR pull run %s resumed: %d pages enqueued", self.id, len(pages))
        return True

    def action_cancel(self):
        """Stop a running run (its pending pages are skipped by their jobs)."""
        for rec in self.filtered(lambda r: r.state == "running"):
            rec.write({"state": "failed", "finished_at": fields.Datetime.now()})
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

    # -- business methods ---------------------------------------------------------
    @staticmethod
    def _identity_key(run_id, page_number):
        return f"g2p_br_sr_sync:run:{run_id}:page:{page_number}"

    @api.model
    def _recover_stalled_runs(self):
        """Resume the running runs that no job works on any more.

        A page job that crashed (worker killed, unexpected error) leaves its page
        pending and its run running. After ``STALLED_AFTER`` without a live job,
        the run is resumed; a page that already had ``MAX_ATTEMPTS`` fails, so
        the run ends (partially) failed and the connection can pull again.
        """
        limit = fields.Datetime.now() - STALLED_AFTER
        for run in self.search([("state", "=", "running"), ("write_date", "<", limit)]):
            pending = run.page_ids.filtered(lambda p: p.state == "pending")
            keys = [run._identity_key(run.id, p.page_number) for p in pending]
            alive = (
                self.env["queue.job"]
                .sudo()
                .search_count(
                    [("identity_key", "in", keys), ("state", "in", ALIVE_JOB_STATES)]
                )
            )
            if alive:
                continue
            exhausted = pending.filtered(lambda p: p.retries >= MAX_ATTEMPTS)
            exhausted.write(
                {
                    "state": "failed",
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
                # the resumed run is active again: no second resume before due
                self.env.cr.execute(
                    "UPDATE g2p_br_sr_pull_run SET write_date = %s WHERE id = %s",
                    (fields.Datetime.now(), run.id),
                )
                run.invalidate_recordset(["write_date"])
            else:
                run._finalize()

    def _enqueue_pages(self, pages):
        """One queue job per page; the identity key avoids duplicate jobs."""
        self.ensure_one()
        for page in pages:
            page.retries += 1
            page.with_delay(
                description=_(
                    "SR pull %(run)s, page %(page)s", run=self.id, page=page.page_number
                ),
                identity_key=self._identity_key(self.id, page.page_number),
            )._job_process()

    def _add_pages(self, last_page_number):
        """Create (and enqueue) the pages after the known ones up to ``last``."""
        self.ensure_one()
        known = max(self.page_ids.mapped("page_number") or [0])
        if last_page_number <= known:
            return self.env["g2p.br.sr.pull.page"]
        pages = self.env["g2p.br.sr.pull.page"].create(
            [
                {"run_id": self.id, "page_number": number}
                for number in range(known + 1, last_page_number + 1)
            ]
        )
        self.pages_total = last_page_number
        self._enqueue_pages(pages)
        return pages

    def _record_page_result(self, page, counters):
        """Add a page's counters to the run and end the run after its last page.

        The UPDATE locks and modifies the run row: two page jobs of one run
        finishing at the same time cannot both miss that the run is complete
        (the second gets a serialization failure and queue_job retries it; a
        page job is idempotent).
        """
        self.ensure_one()
        assignments = [
            sql.SQL("{col} = COALESCE({col}, 0) + %s").format(col=sql.Identifier(name))
            for name in COUNTERS
        ]
        params = [counters.get(name, 0) for name in COUNTERS]
        self.env.cr.execute(
            sql.SQL(
                "UPDATE g2p_br_sr_pull_run SET {assignments},"
                " pages_done = COALESCE(pages_done, 0) + %s,"
                " write_date = %s WHERE id = %s"
            ).format(assignments=sql.SQL(", ").join(assignments)),
            [*params, 1 if page.state == "done" else 0, fields.Datetime.now(), self.id],
        )
        # raw SQL on the run's counters: drop the cached values
        self.invalidate_recordset([*COUNTERS, "pages_done"])
        self.env["g2p.br.sr.pull.page"].flush_model(["state"])
        self.env.cr.execute(
            "SELECT count(*) FROM g2p_br_sr_pull_page"
            " WHERE run_id = %s AND state = 'pending'",
            (self.id,),
        )
        if not self.env.cr.fetchone()[0]:
            self._finalize()

    def _finalize(self):
        self.ensure_one()
        self.env["g2p.br.sr.pull.page"].flush_model(["state"])
        states = self.page_ids.mapped("state")
        if "pending" in states:
            return
        if all(state == "done" for state in states):
            state = "done"
        elif "done" in states:
            state = "partially_failed"
        else:
            state = "failed"
        now = fields.Datetime.now()
        self.write({"state": state, "finished_at": now})
        connection = self.connection_id
        if state == "done":
            # every page succeeded: records updated before cursor_candidate are in
            connection.write({"cursor": self.cursor_candidate, "last_success_at": now})
        _logger.info(
            "SR pull run %s %s: %d pages, fetched %d, created %d, updated %d, "
            "unchanged %d, archived %d, rejected %d",
            self.id, state, len(states), self.fetched, self.created, self.updated,
            self.unchanged, self.archived, self.rejected,
        )  # fmt: skip
        if connection.reverify_eligibility and connection.program_ids:
            self._reverify_eligibility()

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
