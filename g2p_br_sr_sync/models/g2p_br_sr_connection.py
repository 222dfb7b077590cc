# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import re

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..services.dci_client import ClientConfig, SrClient, SrSyncError
from ..services.record_mapping import MappingError, MappingRule, RecordMapper

_logger = logging.getLogger(__name__)

ADMIN_GROUP = "g2p_beneficiary_registry.group_br_admin"
# Test connection: one attempt, at most that many seconds per request
TEST_TIMEOUT = 5.0
# Odoo field types a mapping may target, by BR field (see g2p.br.sr.field.mapping)
MAPPABLE_TYPES = (
    "char",
    "selection",
    "date",
    "datetime",
    "integer",
    "float",
    "boolean",
)


class G2pBrSrConnection(models.Model):
    _name = "g2p.br.sr.connection"
    _description = "Social Registry Connection"
    _order = "name, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    base_url = fields.Char(
        string="Base URL", required=True, help="e.g. https://socialregistry.example.org"
    )
    search_path = fields.Char(required=True, default="/registry/sync/search")
    auth_type = fields.Selection(
        [
            ("none", "None"),
            ("bearer", "Static bearer token"),
            ("oauth2", "OAuth2 client credentials"),
        ],
        required=True,
        default="none",
    )
    bearer_token = fields.Char(groups=ADMIN_GROUP, copy=False)
    token_url = fields.Char(
        string="Token URL",
        help="OAuth2 token endpoint; a path starting with / is relative to the "
        "base URL.",
    )
    client_id = fields.Char(string="Client ID", groups=ADMIN_GROUP, copy=False)
    client_secret = fields.Char(groups=ADMIN_GROUP, copy=False)
    oauth_scope = fields.Char(string="OAuth2 Scope")
    sender_id = fields.Char(
        default="openg2p-br", required=True, help="header.sender_id of the requests."
    )
    receiver_id = fields.Char(
        default="social-registry", required=True, help="header.receiver_id."
    )
    dialect = fields.Selection(
        [
            ("predicate", "DCI predicate"),
            ("graphql", "OpenG2P Social Registry graphql"),
        ],
        required=True,
        default="predicate",
    )
    reg_type = fields.Char(
        string="Registry Type",
        help="search_criteria.reg_type, sent only when set. It is not a property "
        "of the DCI social registry SearchRequest (only of the generic one): "
        "individuals or households are asked for with response_entity (Member / "
        "Group, from the beneficiary kind); set it only for a registry that "
        "still reads it.",
    )
    beneficiary_kind = fields.Selection(
        [("individual", "Individuals"), ("group", "Groups")],
        required=True,
        default="individual",
        help="Kind of the BR beneficiaries this connection creates; with the "
        "graphql dialect also the isGroup argument of getRegistrants.",
    )
    predicate_query = fields.Text(
        default="[]",
        help="JSON list of DCI predicates (ExpPredicateWithCondition) that every "
        "pull sends; an incremental pull appends the last-updated predicate.",
    )
    graphql_query = fields.Text(
        string="GraphQL Query",
        default="{ getRegistrants { id regIds { idTypeAsStr value } gender birthdate "
        "region { code } disabled active writeDate } }",
        help="getRegistrants query; isGroup, lastSyncDate, limit, offset and order "
        "arguments are set by the sync.",
    )
    sort_attribute = fields.Char(
        help="Stable key the SR sorts pages by (sent as sort / order); leave empty "
        "if the SR sorts by a stable key already.",
    )
    last_updated_attribute = fields.Char(
        required=True,
        default="last_updated",
        help="Attribute of the SR record compared with the cursor in incremental "
        "pulls.",
    )
    page_size = fields.Integer(
        required=True,
        default=5000,
        help="Records asked for per request (DCI pagination.page_size). Larger "
        "pages mean fewer requests, jobs and statements; lower it for an SR that "
        "caps its page size (with a total count, a run against such an SR ends "
        "incomplete).",
    )
    timeout = fields.Float(
        string="Timeout (s)", required=True, default=30.0, help="Per HTTP request."
    )
    max_retries = fields.Integer(
        required=True,
        default=4,
        help="Retries of a request after a timeout, a connection error, 5xx or 429.",
    )
    retry_backoff = fields.Float(
        string="Retry Backoff (s)",
        required=True,
        default=1.0,
        help="First retry delay; doubled at each retry, capped at 60 s.",
    )
    cursor = fields.Datetime(
        copy=False,
        help="Start of the window of the next incremental pull, on the SR's own "
        "time scale: after a run that is done, the newest last-updated value the "
        "SR sent (capped by the SR's clock when the run started) minus the "
        "overlap; never the BR's clock. An administrator may move it back or "
        "clear it (the next incremental pull then fetches everything); it "
        "cannot be moved forward by hand.",
    )
    cursor_overlap = fields.Integer(
        string="Cursor Overlap (s)",
        default=300,
        required=True,
        help="The new cursor is the newest SR timestamp of the run minus this "
        "margin (records the SR stamps out of order, transactions it commits "
        "late); records seen twice are not rewritten. Raising it takes effect at "
        "the next run that is done; to fetch older changes now, move the cursor "
        "back.",
    )
    breaker_threshold = fields.Integer(
        string="Circuit Breaker",
        default=3,
        required=True,
        help="A run stops asking the SR after this many consecutive failed pages "
        "(each after its own retries) and ends failed; Resume continues. 0 "
        "disables the breaker.",
    )
    sr_id_type = fields.Char(
        string="SR ID Type",
        help="Identifier type of the SR id in idtype-value requests (records "
        "asked for again by id). Empty: read from the SR ID mapping line "
        "(e.g. identifier[identifier_type=SRID].identifier_value gives SRID).",
    )
    retry_ids = fields.One2many(
        "g2p.br.sr.retry", "connection_id", string="Records to Retry"
    )
    retry_count = fields.Integer(
        string="Waiting for Retry", compute="_compute_retry_count"
    )
    last_success_at = fields.Datetime(
        string="Last Successful Run", readonly=True, copy=False
    )
    schedule_enabled = fields.Boolean(
        string="Scheduled", help="Start incremental pulls automatically."
    )
    interval_number = fields.Integer(string="Every", default=1, required=True)
    interval_type = fields.Selection(
        [
            ("minutes", "Minutes"),
            ("hours", "Hours"),
            ("days", "Days"),
            ("weeks", "Weeks"),
        ],
        default="hours",
        required=True,
    )
    next_run_at = fields.Datetime(string="Next Scheduled Run", copy=False)
    program_ids = fields.Many2many(
        "g2p.br.program",
        string="Target Programs",
        help="Programs whose eligibility is re-verified after a sync.",
    )
    reverify_eligibility = fields.Boolean(
        string="Re-verify Eligibility After Sync",
        help="Re-check eligibility of the changed beneficiaries in the target "
        "programs.",
    )
    mapping_ids = fields.One2many(
        "g2p.br.sr.field.mapping", "connection_id", string="Field Mapping", copy=True
    )
    run_ids = fields.One2many("g2p.br.sr.pull.run", "connection_id", string="Runs")
    run_count = fields.Integer(compute="_compute_run_count")
    running_run_id = fields.Many2one(
        "g2p.br.sr.pull.run", compute="_compute_run_count", string="Running Run"
    )

    def _compute_retry_count(self):
        counts = dict(
            self.env["g2p.br.sr.retry"]._read_group(
                [("connection_id", "in", self.ids), ("state", "=", "waiting")],
                ["connection_id"],
                ["__count"],
            )
        )
        for rec in self:
            rec.retry_count = counts.get(rec, 0)

    def _compute_run_count(self):
        Run = self.env["g2p.br.sr.pull.run"]
        counts = dict(
            Run._read_group(
                [("connection_id", "in", self.ids)], ["connection_id"], ["__count"]
            )
        )
        running = {
            run.connection_id: run
            for run in Run.search(
                [("connection_id", "in", self.ids), ("state", "=", "running")]
            )
        }
        for rec in self:
            rec.run_count = counts.get(rec, 0)
            rec.running_run_id = running.get(rec, Run)

    # -- constraints --------------------------------------------------------------
    @api.constrains(
        "auth_type", "bearer_token", "token_url", "client_id", "client_secret"
    )
    def _check_credentials(self):
        # the secret fields are admin-only; checking them is not reading them
        for rec in self.sudo():
            if rec.auth_type == "bearer" and not rec.bearer_token:
                raise ValidationError(
                    _("%(name)s: a static bearer token is required.", name=rec.name)
                )
            if rec.auth_type == "oauth2":
                missing = [
                    label
                    for label, value in (
                        (_("token URL"), rec.token_url),
                        (_("client ID"), rec.client_id),
                        (_("client secret"), rec.client_secret),
                    )
                    if not value
                ]
                if missing:
                    raise ValidationError(
                        _(
                            "%(name)s: OAuth2 client credentials need %(missing)s.",
                            name=rec.name,
                            missing=", ".join(missing),
                        )
                    )

    @api.constrains("dialect", "predicate_query", "graphql_query")
    def _check_query(self):
        for rec in self:
            if rec.dialect == "predicate" and rec.predicate_query:
                try:
                    value = json.loads(rec.predicate_query)
                except ValueError as exc:
                    raise ValidationError(
                        _(
                            "%(name)s: the predicate query is not valid JSON.",
                            name=rec.name,
                        )
                    ) from exc
                if not isinstance(value, list | dict):
                    raise ValidationError(
                        _(
                            "%(name)s: the predicate query must be a JSON list.",
                            name=rec.name,
                        )
                    )
            if rec.dialect == "graphql" and "getRegistrants" not in (
                rec.graphql_query or ""
            ):
                raise ValidationError(
                    _(
                        "%(name)s: the graphql query must select getRegistrants.",
                        name=rec.name,
                    )
                )

    @api.constrains(
        "page_size",
        "timeout",
        "max_retries",
        "retry_backoff",
        "interval_number",
        "breaker_threshold",
        "cursor_overlap",
    )
    def _check_numbers(self):
        for rec in self:
            if not 1 <= rec.page_size <= 10000:
                raise ValidationError(_("The page size must be between 1 and 10,000."))
            if rec.timeout <= 0 or rec.retry_backoff < 0 or rec.max_retries < 0:
                raise ValidationError(
                    _("Timeout, retries and backoff must be positive.")
                )
            if rec.interval_number < 1:
                raise ValidationError(_("The schedule interval must be at least 1."))
            if rec.breaker_threshold < 0 or rec.cursor_overlap < 0:
                raise ValidationError(
                    _("The circuit breaker and the cursor overlap cannot be negative.")
                )

    # -- CRUD -----------------------------------------------------------------------
    def write(self, vals):
        if "cursor" in vals and not self.env.context.get("sr_sync_cursor"):
            self._check_cursor_change(vals["cursor"])
        return super().write(vals)

    def _check_cursor_change(self, value):
        """By hand, the cursor only moves back (or is cleared): moving it forward
        would skip changes. Not while a run is running (it would overwrite it)."""
        new = fields.Datetime.to_datetime(value) if value else None
        for rec in self:
            if rec.running_run_id:
                raise UserError(
                    _(
                        "%(name)s has a running pull: wait for it or cancel it "
                        "before moving the cursor.",
                        name=rec.name,
                    )
                )
            if new and (not rec.cursor or new > rec.cursor):
                raise ValidationError(
                    _(
                        "%(name)s: the cursor can only be moved back or cleared "
                        "(it is %(cursor)s).",
                        name=rec.name,
                        cursor=rec.cursor or _("empty"),
                    )
                )

    def copy_data(self, default=None):
        # the credentials are not copied: the copy starts without authentication
        default = dict(default or {})
        default.setdefault("auth_type", "none")
        default.setdefault("name", _("%s (copy)", self.name))
        return super().copy_data(default)

    # -- actions ------------------------------------------------------------------
    def action_clear_cursor(self):
        """The next incremental pull asks for every registrant (none rewritten
        unless changed)."""
        self.write({"cursor": False})
        return True

    def action_view_retries(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Records to Retry"),
            "res_model": "g2p.br.sr.retry",
            "view_mode": "tree",
            "domain": [("connection_id", "=", self.id)],
            "context": {"search_default_waiting": 1},
        }

    def action_test_connection(self):
        """Authenticate and fetch one record with one attempt and a short
        timeout (the browser waits); tell clearly which step failed."""
        self.ensure_one()
        client = self._get_client()
        client.config.max_retries = 0
        client.config.timeout = min(client.config.timeout, TEST_TIMEOUT)
        try:
            if self.auth_type == "oauth2":
                client.get_token(force=True)
            page = client.search(1, page_size=1)
        except SrSyncError as exc:
            raise UserError(
                _(
                    "Connection test failed (%(stage)s): %(reason)s",
                    stage=exc.stage,
                    reason=exc,
                )
            ) from None
        try:
            self._get_mapper()
        except MappingError as exc:
            raise UserError(
                _(
                    "The Social Registry answered, but the field mapping is "
                    "invalid: %s",
                    exc,
                )
            ) from None
        total = page.total_count if page.total_count is not None else _("unknown")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Connection test"),
                "message": _(
                    "The Social Registry answered: %(total)s registrants match.",
                    total=total,
                ),
                "type": "success",
                "sticky": False,
            },
        }

    def action_start_full(self):
        self.ensure_one()
        return self._start_run("full")._action_open()

    def action_start_incremental(self):
        self.ensure_one()
        return self._start_run("incremental")._action_open()

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_br_sr_sync.g2p_br_sr_pull_run_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"default_connection_id": self.id}
        return action

    # -- business methods ---------------------------------------------------------
    def _start_run(self, mode):
        """Create a run and enqueue its first page; refuse an overlapping run.

        Two guards: the connection row is locked (``FOR UPDATE NOWAIT``) while
        the run is created, and a partial unique index allows one running run
        per connection (see ``g2p.br.sr.pull.run.init``).
        """
        self.ensure_one()
        self.env["g2p.br.sr.pull.run"].check_access_rights("create")
        self._get_mapper()  # fail now on a bad mapping, not in the job
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM g2p_br_sr_connection WHERE id = %s"
                    " FOR UPDATE NOWAIT",
                    (self.id,),
                    log_exceptions=False,  # an expected refusal, not a bad query
                )
        except psycopg2.errors.LockNotAvailable:
            raise UserError(
                _("A pull of %(name)s is being started already.", name=self.name)
            ) from None
        running = self.env["g2p.br.sr.pull.run"].search(
            [("connection_id", "=", self.id), ("state", "=", "running")], limit=1
        )
        if running:
            raise UserError(
                _(
                    "%(name)s has a running pull (%(run)s): resume or cancel it first.",
                    name=self.name,
                    run=running.display_name,
                )
            )
        now = fields.Datetime.now()
        cursor_used = self.cursor if mode == "incremental" else False
        pages = [fields.Command.create({"phase": "main", "page_number": 1})]
        if self.retry_count and self._sr_id_type() and self.dialect == "predicate":
            pages.append(fields.Command.create({"phase": "retry", "page_number": 1}))
        try:
            with self.env.cr.savepoint():
                run = self.env["g2p.br.sr.pull.run"].create(
                    {
                        "connection_id": self.id,
                        "mode": mode,
                        "cursor_used": cursor_used,
                        "started_at": now,
                        "page_ids": pages,
                    }
                )
        except psycopg2.errors.UniqueViolation:
            raise UserError(
                _("%(name)s has a running pull already.", name=self.name)
            ) from None
        _logger.info(
            "SR pull run %s (%s) started for connection %s", run.id, mode, self.id
        )
        run._enqueue_pages(run.page_ids)
        return run

    def _get_client(self, session=None):
        """SR client for this connection.

        The credentials are read with ``sudo()``: they are admin-only fields, and
        a scheduled pull runs as the cron user. They are handed to the client
        only, which never logs them.
        """
        self.ensure_one()
        secret = self.sudo()
        token_url = secret.token_url or ""
        if token_url.startswith("/"):
            token_url = self.base_url.rstrip("/") + token_url
        config = ClientConfig(
            base_url=self.base_url,
            search_path=self.search_path,
            auth_type=self.auth_type,
            bearer_token=secret.bearer_token,
            token_url=token_url,
            client_id=secret.client_id,
            client_secret=secret.client_secret,
            scope=self.oauth_scope,
            dialect=self.dialect,
            reg_type=self.reg_type or None,
            response_entity="Group" if self.beneficiary_kind == "group" else "Member",
            base_query=self.graphql_query
            if self.dialect == "graphql"
            else self.predicate_query,
            sort_attribute=self.sort_attribute,
            last_updated_attribute=self.last_updated_attribute,
            graphql_is_group=self.beneficiary_kind == "group",
            page_size=self.page_size,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff=self.retry_backoff,
            sender_id=self.sender_id,
            receiver_id=self.receiver_id,
            cache_key=f"{self.env.cr.dbname}:{self.id}",
        )
        return SrClient(config, session=session)

    def _sr_id_type(self):
        """Identifier type of the SR id for idtype-value requests, or None."""
        self.ensure_one()
        if self.sr_id_type:
            return self.sr_id_type.strip()
        line = self.mapping_ids.filtered(lambda m: m.target_field == "sr_id")[:1]
        match = re.search(
            r"\[\s*\w*type\w*\s*=\s*([^\]]+?)\s*\]", line.source_path or ""
        )
        return match.group(1) if match else None

    def _get_mapper(self):
        """:class:`RecordMapper` of the connection's mapping lines."""
        self.ensure_one()
        Beneficiary = self.env["g2p.br.beneficiary"]
        rules, types = [], {}
        for line in self.mapping_ids:
            try:
                rules.append(
                    MappingRule.build(
                        source_path=line.source_path,
                        target=line.target_field,
                        transform=line.transform,
                        value_map=line.value_map or "",
                        required=line.required,
                        identifier_type=line.identifier_type_id.code or None,
                    )
                )
            except MappingError as exc:
                raise MappingError(f"line {line.source_path!r}: {exc}") from None
            if line.target_field != "identifier":
                field = Beneficiary._fields.get(line.target_field)
                if not field or field.type not in MAPPABLE_TYPES or not field.store:
                    raise MappingError(f"{line.target_field} cannot be mapped")
                selection = None
                if field.type == "selection":
                    selection = [
                        key for key, _label in field._description_selection(self.env)
                    ]
                types[line.target_field] = (field.type, selection)
        return RecordMapper(rules, types)

    def _schedule_next(self, now=None):
        for rec in self:
            rec.next_run_at = (now or fields.Datetime.now()) + relativedelta(
                **{rec.interval_type: rec.interval_number}
            )

    @api.model
    def _cron_enqueue_due_runs(self):
        """Resume stalled runs, then start an incremental run of each scheduled
        connection that is due."""
        self.env["g2p.br.sr.pull.run"]._recover_stalled_runs()
        now = fields.Datetime.now()
        due = self.search(
            [
                ("schedule_enabled", "=", True),
                "|",
                ("next_run_at", "=", False),
                ("next_run_at", "<=", now),
            ]
        )
        for connection in due:
            try:
                with self.env.cr.savepoint():
                    connection._start_run("incremental")
            except (UserError, MappingError) as exc:
                _logger.warning(
                    "SR connection %s: scheduled pull not started: %s",
                    connection.id,
                    exc,
                )
            connection._schedule_next(now)
