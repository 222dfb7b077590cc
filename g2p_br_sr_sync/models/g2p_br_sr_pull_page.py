# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import math

from odoo import fields, models
from odoo.tools import SQL

from ..services.dci_client import SearchPage, SrRejectedError, SrSyncError
from ..services.record_mapping import (
    MappingError,
    RecordError,
    _to_datetime,
    extract,
    parse_path,
)
from .g2p_br_beneficiary import SrWriteError

_logger = logging.getLogger(__name__)

PHASES = [
    ("main", "Main"),
    ("catchup", "Catch-up"),
    ("check", "Completeness check"),
    ("retry", "Retry of rejected records"),
]
# at most this many rejected records are asked for again by id in one run
MAX_RETRY_IDS = 500


class G2pBrSrPullPage(models.Model):
    """One page of a pull run, fetched, validated and upserted by one job in
    one transaction.

    A page job writes its own row (state, counters, the SR ids it received,
    the newest SR timestamp it saw) and the beneficiaries, never the run row:
    pages of one run do not contend with each other. The run sums its pages
    when they are all done (see ``g2p.br.sr.pull.run._job_progress``).

    Phases: ``main`` pages read the run's query (all registrants for a full
    run, the changes since the cursor for an incremental one); ``catchup``
    pages read the changes made in the SR while the main pages were read;
    one ``check`` page asks the SR how many registrants the query matches now
    (page size 1), to check that the run fetched them all; the ``retry`` page
    asks again, by id, for the records rejected by earlier runs.
    """

    _name = "g2p.br.sr.pull.page"
    _description = "Social Registry Pull Page"
    _order = "run_id, pass_number, id"

    run_id = fields.Many2one(
        "g2p.br.sr.pull.run", required=True, ondelete="cascade", index=True
    )
    phase = fields.Selection(PHASES, required=True, default="main")
    pass_number = fields.Integer(
        string="Pass", default=1, required=True, help="Pass of the run (from 1)."
    )
    page_number = fields.Integer(required=True)
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="pending",
        index=True,
    )
    fetched = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    archived = fields.Integer()
    rejected = fields.Integer()
    total_count = fields.Integer(
        string="SR Total", help="Total count the SR reported with this page."
    )
    has_total = fields.Boolean(help="The SR reported a total count.")
    sr_clock = fields.Datetime(
        string="SR Clock", help="The SR's clock when it answered (message_ts)."
    )
    sr_max_updated = fields.Datetime(
        string="Newest SR Timestamp", help="Largest last-updated value in the page."
    )
    fetched_sr_ids = fields.Text(
        string="SR IDs",
        prefetch=False,  # read in SQL only; up to page size ids per page
        help="SR ids of the page's records, one a line (cleared when the run is done).",
    )
    retries = fields.Integer(
        string="Attempts", help="How many times the page was enqueued."
    )
    error_message = fields.Char()
    done_at = fields.Datetime()
    finished_at = fields.Datetime(help="When the page ended, done or failed.")
    error_ids = fields.One2many(
        "g2p.br.sr.pull.error", "page_id", string="Rejected Records"
    )

    _sql_constraints = [
        (
            "run_page_unique",
            "unique(run_id, pass_number, phase, page_number)",
            "A page exists already.",
        ),
    ]

    # -- job --------------------------------------------------------------------
    def _job_process(self):
        """Fetch, validate and upsert this page (queue job; idempotent).

        SR, mapping and data-statement problems fail the page (state ``failed``
        with the reason); a malformed record is rejected alone. A concurrency
        error or a crash raises: the transaction is rolled back, the page stays
        pending, to be retried by queue_job or by resuming the run.
        """
        self.ensure_one()
        run = self.run_id
        if self.state == "done" or run.state != "running":
            return "skipped: page done or run not running"
        connection = run.connection_id
        Beneficiary = self.env["g2p.br.beneficiary"]
        Beneficiary.check_access_rights("create")
        Beneficiary.check_access_rights("write")
        breaker = run._breaker_reason()
        if breaker:
            return self._fail(breaker, log=False)
        try:
            mapper = connection._get_mapper()
            client = connection._get_client()
            if self.phase == "retry":
                result = self._fetch_retry_set(client, connection)
            else:
                cursor = run.catchup_cursor if self.phase == "catchup" else None
                if self.phase != "catchup":
                    cursor = run.cursor_used
                result = client.search(
                    self.page_number,
                    cursor=cursor,
                    page_size=1 if self.phase == "check" else None,
                )
        except (SrSyncError, MappingError) as exc:
            return self._fail(str(exc))
        values = {
            "total_count": result.total_count or 0,
            "has_total": result.total_count is not None,
            "sr_clock": result.sr_clock,
        }
        if self.phase == "check":
            return self._done(values, {})
        if self.phase in ("main", "catchup"):
            self._plan_next_pages(result, connection.page_size)

        rows, errors, sr_ids = [], [], []
        newest = None
        updated_path = parse_path(connection.last_updated_attribute)
        for index, record in enumerate(result.records):
            sr_id = mapper.sr_id_of(record)
            if sr_id:
                sr_ids.append(sr_id)
            stamp = _sr_timestamp(record, updated_path)
            if stamp and (newest is None or stamp > newest):
                newest = stamp
            try:
                rows.append(mapper.map_record(record))
            except RecordError as exc:
                errors.append(
                    {
                        "run_id": run.id,
                        "page_id": self.id,
                        "record_index": index,
                        "sr_id": sr_id,
                        "reason": str(exc)[:500],
                    }
                )
        counters = {"fetched": len(result.records), "rejected": len(errors)}
        try:
            with self.env.cr.savepoint():
                counters.update(
                    Beneficiary._sr_upsert_page(connection, run, rows, mapper)
                )
        except SrWriteError as exc:
            return self._fail(str(exc))
        if errors:
            self.env["g2p.br.sr.pull.error"].create(errors)
        values.update(sr_max_updated=newest, fetched_sr_ids="\n".join(sr_ids))
        return self._done(values, counters)

    def _done(self, values, counters):
        now = fields.Datetime.now()
        self.write(
            {"state": "done", "done_at": now, "finished_at": now, **values, **counters}
        )
        self.run_id._enqueue_progress()
        return f"{self.phase} page {self.page_number}: {counters}"

    def _fail(self, reason, log=True):
        if log:
            _logger.warning(
                "SR pull run %s %s page %s failed: %s",
                self.run_id.id,
                self.phase,
                self.page_number,
                reason,
            )
        self.write(
            {
                "state": "failed",
                "error_message": reason[:1000],
                "finished_at": fields.Datetime.now(),
            }
        )
        self.run_id._enqueue_progress()
        return f"failed: {reason}"

    def _fetch_retry_set(self, client, connection):
        """Ask the SR again, one ``idtype-value`` request per record, for the
        records that earlier runs rejected (at most ``MAX_RETRY_IDS``)."""
        id_type = connection._sr_id_type()
        retries = self.env["g2p.br.sr.retry"].search(
            [("connection_id", "=", connection.id), ("state", "=", "waiting")],
            limit=MAX_RETRY_IDS,
            order="id",
        )
        records = []
        if id_type and connection.dialect == "predicate":
            for retry in retries:
                try:
                    records += client.search_by_id(id_type, retry.sr_id).records
                except SrRejectedError as exc:
                    # an SR without idtype-value search: the records stay in the
                    # retry set and come back when they change in the SR
                    self.error_message = str(exc)[:1000]
                    break
        return SearchPage(records=records, total_count=None, page_number=1)

    def _plan_next_pages(self, result, page_size):
        """After the last known page of a phase: create the pages still to fetch.

        With a total count (DCI pagination or totalRegistrantCount) every page
        is known after page 1; without one, a full page announces the next one.
        """
        run = self.run_id
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT max(page_number) FROM g2p_br_sr_pull_page"
                " WHERE run_id = %s AND phase = %s AND pass_number = %s",
                run.id,
                self.phase,
                self.pass_number,
            )
        )
        known = self.env.cr.fetchone()[0] or 0
        if self.page_number != known:
            return
        if result.total_count is not None:
            last = max(math.ceil(result.total_count / page_size), 1)
        elif len(result.records) >= page_size:
            last = self.page_number + 1
        else:
            last = self.page_number
        if last <= known:
            return
        pages = self.create(
            [
                {
                    "run_id": run.id,
                    "phase": self.phase,
                    "pass_number": self.pass_number,
                    "page_number": number,
                }
                for number in range(known + 1, last + 1)
            ]
        )
        run._enqueue_pages(pages)


def _sr_timestamp(record, path):
    """The record's last-updated value as a naive UTC datetime, or None."""
    if not isinstance(record, dict):
        return None
    value = extract(record, path)
    if not value or not isinstance(value, str):
        return None
    try:
        return _to_datetime(value)
    except RecordError:
        return None
