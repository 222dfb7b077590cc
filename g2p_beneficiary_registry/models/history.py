# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..utils import BATCH_TRIGGER_OPTIONS

PATHS = [
    ("ui", "User interface or RPC"),
    ("api", "REST API"),
    ("import", "Status import"),
    ("job", "Background job"),
    ("cron", "Scheduled action"),
]

# One history row per state change of an entitlement or a disbursement (and
# per creation), written by statement triggers in the same statement as the
# change: set-based, whatever the path. ``{table}``/``{kind}``/``{state}`` name
# the table, the record type and its state column; ``{moved}`` selects the
# changed rows (n = new, o = old).
# The row's own denormalised columns give the cycle, program, company and
# benefit kind; the parent (cycle or entitlement) only where they are still
# empty: the ORM fills a new row's related columns after its INSERT. (A join
# with the parent read the whole entitlement table for every batch of 1,000
# status reports.)
HISTORY_INSERT = """
    INSERT INTO g2p_br_history
        (at, user_id, path, record_type, {kind}_id, {extra_ids} cycle_id, program_id,
         company_id, from_state, to_state, amount, reason)
    SELECT now() at time zone 'UTC', n.write_uid,
           COALESCE(NULLIF(current_setting('g2p_br.path', true), ''), 'ui'),
           '{kind}', n.id, {extra_values} {cycle}, {program}, {company},
           {from_state}, n.{state},
           CASE WHEN {benefit_kind} = 'cash' THEN n.amount ELSE n.quantity END,
           COALESCE({own_reason},
                    NULLIF(current_setting('g2p_br.reason', true), ''))
      FROM {moved}
"""


def _own_or_parent(column, parent_table, parent_link):
    return (
        f"COALESCE(n.{column}, (SELECT p.{column} FROM {parent_table} p"
        f" WHERE p.id = n.{parent_link}))"
    )


PARENTS = {
    "entitlement": {
        "cycle": "n.cycle_id",
        "program": _own_or_parent("program_id", "g2p_br_cycle", "cycle_id"),
        "company": _own_or_parent("company_id", "g2p_br_cycle", "cycle_id"),
        "benefit_kind": "n.benefit_kind",
    },
    "disbursement": {
        key: _own_or_parent(column, "g2p_br_entitlement", "entitlement_id")
        for key, column in (
            ("cycle", "cycle_id"),
            ("program", "program_id"),
            ("company", "company_id"),
            ("benefit_kind", "benefit_kind"),
        )
    },
}


def _history_trigger(table, kind, state, event, own_reason, extra_ids=""):
    name = f"g2p_br_history_{kind}_{event.lower()}"
    skip = ""
    if event == "INSERT":
        moved, from_state, referencing = (
            "new_rows n",
            "NULL",
            "REFERENCING NEW TABLE AS new_rows",
        )
    else:
        if kind == "entitlement":
            # The totals refresh (disbursement.py), run by the disbursement
            # triggers, rewrites every entitlement a disbursement statement
            # touched and never its state: no join of old and new rows for
            # it. (``UPDATE OF state`` would say so, but PostgreSQL refuses
            # transition tables on a trigger with a column list.) A client
            # setting the flag itself is not inside a trigger.
            skip = """
    IF pg_trigger_depth() > 1
       AND current_setting('g2p_br.totals_refresh', true) = 'on' THEN
        RETURN NULL;
    END IF;"""
        moved, from_state, referencing = (
            (
                "new_rows n JOIN old_rows o ON o.id = n.id"
                f" WHERE o.{state} IS DISTINCT FROM n.{state}"
            ),
            f"o.{state}",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        )
    insert = HISTORY_INSERT.format(
        **PARENTS[kind],
        kind=kind,
        state=state,
        moved=moved,
        from_state=from_state,
        own_reason=own_reason,
        extra_ids=f"{extra_ids}," if extra_ids else "",
        extra_values=f"n.{extra_ids}," if extra_ids else "",
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
{BATCH_TRIGGER_OPTIONS} AS $$
BEGIN{skip}
    -- EXECUTE: planned for the rows of this statement, not a cached plan
    EXECUTE $q$ {insert} $q$;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


# The table is created here, not by the ORM (``_auto = False``): its links
# are plain integer columns, without foreign keys. Each foreign key is a
# per-row check, and six of them made the history insert cost five times the
# insert itself (about 1 s for every 60,000 rows on this project's 2-core
# benchmark machine): one row per state change would have doubled the bulk
# steps. The rows are written only by the triggers below, from the rows of the
# very statement that changes the state, so their links are right by
# construction; ``g2p_br_history_unlink`` does what ``ondelete='set null'``
# did, and the integrity test's invariant query checks that no link dangles.
# (A deleted user or company, which Odoo archives rather than deletes, would
# show as an empty "Who".)
HISTORY_TABLE = """
CREATE TABLE IF NOT EXISTS g2p_br_history (
    id serial PRIMARY KEY,
    at timestamp without time zone,
    user_id integer,
    path varchar,
    record_type varchar,
    entitlement_id integer,
    disbursement_id integer,
    cycle_id integer,
    program_id integer,
    company_id integer,
    from_state varchar,
    to_state varchar,
    amount numeric,
    reason varchar
);
-- registries created before the table was the history's own
ALTER TABLE g2p_br_history
    DROP CONSTRAINT IF EXISTS g2p_br_history_user_id_fkey,
    DROP CONSTRAINT IF EXISTS g2p_br_history_entitlement_id_fkey,
    DROP CONSTRAINT IF EXISTS g2p_br_history_disbursement_id_fkey,
    DROP CONSTRAINT IF EXISTS g2p_br_history_cycle_id_fkey,
    DROP CONSTRAINT IF EXISTS g2p_br_history_program_id_fkey,
    DROP CONSTRAINT IF EXISTS g2p_br_history_company_id_fkey;
-- BRIN on the time: the rows arrive in time order and are never changed, so a
-- few pages answer "between these dates", and an insert costs next to nothing
-- (a btree was one more index insert per row); lists are ordered by id
DROP INDEX IF EXISTS g2p_br_history__at_index;
CREATE INDEX IF NOT EXISTS g2p_br_history__at_brin ON g2p_br_history USING brin (at);
CREATE INDEX IF NOT EXISTS g2p_br_history__entitlement_id_index
    ON g2p_br_history (entitlement_id);
CREATE INDEX IF NOT EXISTS g2p_br_history__disbursement_id_index
    ON g2p_br_history (disbursement_id) WHERE disbursement_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS g2p_br_history__cycle_id_index ON g2p_br_history (cycle_id);
CREATE INDEX IF NOT EXISTS g2p_br_history__program_id_index
    ON g2p_br_history (program_id);
"""

HISTORY_TRIGGERS = (
    "".join(
        [
            _history_trigger(
                "g2p_br_entitlement",
                "entitlement",
                "state",
                event,
                "CASE WHEN n.state = 'rejected' THEN n.rejection_reason END",
            )
            for event in ("INSERT", "UPDATE")
        ]
        + [
            _history_trigger(
                "g2p_br_disbursement",
                "disbursement",
                "status",
                event,
                "CASE WHEN n.status = 'failed' THEN n.failure_reason END",
                extra_ids="entitlement_id",
            )
            for event in ("INSERT", "UPDATE")
        ]
    )
    + """
CREATE OR REPLACE FUNCTION g2p_br_history_unlink() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- what ``ondelete='set null'`` did: a deleted draft entitlement, pending
    -- disbursement, cycle or program leaves its history rows, unlinked
    EXECUTE format(
        'UPDATE g2p_br_history SET %1$I = NULL'
        ' WHERE %1$I IN (SELECT id FROM old_rows)',
        TG_ARGV[0]);
    RETURN NULL;
END $$;
"""
    + "".join(
        f"""
DROP TRIGGER IF EXISTS g2p_br_history_unlink ON {table};
CREATE TRIGGER g2p_br_history_unlink AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_history_unlink('{column}');
"""
        for table, column in (
            ("g2p_br_entitlement", "entitlement_id"),
            ("g2p_br_disbursement", "disbursement_id"),
            ("g2p_br_cycle", "cycle_id"),
            ("g2p_br_program", "program_id"),
        )
    )
    + """
CREATE OR REPLACE FUNCTION g2p_br_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- the only change allowed: a deleted draft entitlement or pending
    -- disbursement leaves its rows, unlinked (ondelete set null)
    IF TG_OP = 'UPDATE'
       AND (NEW.entitlement_id IS NULL OR NEW.entitlement_id = OLD.entitlement_id)
       AND (NEW.disbursement_id IS NULL OR NEW.disbursement_id = OLD.disbursement_id)
       AND (NEW.cycle_id IS NULL OR NEW.cycle_id = OLD.cycle_id)
       AND (NEW.program_id IS NULL OR NEW.program_id = OLD.program_id)
       AND (NEW.at, NEW.user_id, NEW.path, NEW.record_type, NEW.from_state,
            NEW.to_state, NEW.amount, NEW.reason, NEW.company_id)
           IS NOT DISTINCT FROM
           (OLD.at, OLD.user_id, OLD.path, OLD.record_type, OLD.from_state,
            OLD.to_state, OLD.amount, OLD.reason, OLD.company_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'g2p_br: the history is append-only'
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS g2p_br_history_append_only ON g2p_br_history;
CREATE TRIGGER g2p_br_history_append_only BEFORE UPDATE OR DELETE ON g2p_br_history
    FOR EACH ROW EXECUTE FUNCTION g2p_br_history_append_only();
DROP TRIGGER IF EXISTS g2p_br_history_no_truncate ON g2p_br_history;
CREATE TRIGGER g2p_br_history_no_truncate BEFORE TRUNCATE ON g2p_br_history
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_history_append_only();
"""
)


class G2pBrHistory(models.Model):
    """Append-only history of the money: who moved which entitlement or
    disbursement from which state to which, when, from where and why.

    Rows are written by PostgreSQL triggers in the statement that changes the
    state (see HISTORY_TRIGGERS), so that no path (form, RPC, API, import,
    set-based step, job) can skip them; nobody writes them through the ORM and
    PostgreSQL refuses to change or delete them."""

    _name = "g2p.br.history"
    _description = "Money History"
    _order = "id desc"  # the insertion order: the pkey serves the lists
    _auto = False  # HISTORY_TABLE: no foreign keys
    _log_access = False

    at = fields.Datetime(string="When", readonly=True)
    user_id = fields.Many2one("res.users", string="Who", readonly=True)
    path = fields.Selection(PATHS, string="From", readonly=True)
    record_type = fields.Selection(
        [("entitlement", "Entitlement"), ("disbursement", "Disbursement")],
        readonly=True,
    )
    # links without foreign keys (HISTORY_TABLE); indexes made in init()
    entitlement_id = fields.Many2one("g2p.br.entitlement", readonly=True)
    disbursement_id = fields.Many2one("g2p.br.disbursement", readonly=True)
    cycle_id = fields.Many2one("g2p.br.cycle", readonly=True)
    program_id = fields.Many2one("g2p.br.program", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    from_state = fields.Char(string="From State", readonly=True)
    to_state = fields.Char(string="To State", readonly=True)
    amount = fields.Float(
        digits=(16, 2), readonly=True, help="Amount (cash) or quantity (in-kind)."
    )
    reason = fields.Char(readonly=True)

    def init(self):
        self.env.cr.execute(SQL(HISTORY_TABLE))
        self.env.cr.execute(SQL(HISTORY_TRIGGERS))

    def _refuse(self):
        raise AccessError(
            _("The money history is written by the registry itself and never edited.")
        )

    # Refused for everyone, the superuser included (PostgreSQL refuses changes
    # and deletes too): the rows come from the triggers only.
    @api.model_create_multi
    def create(self, vals_list):
        self._refuse()
        return super().create(vals_list)

    def write(self, vals):
        self._refuse()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        self._refuse()
