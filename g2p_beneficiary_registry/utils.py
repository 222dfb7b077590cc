# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small helpers shared by the models of the Beneficiary Registry."""

from contextlib import contextmanager
from datetime import date, datetime

from odoo import _, fields
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL


def iso(value):
    """Return ``value`` (a date or datetime, or False) as an ISO 8601 string or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class CopiedMany2one(fields.Many2one):
    """A stored ``related`` Many2one that copies a link of the parent record
    (a disbursement's beneficiary, program, cycle, company and currency are its
    entitlement's), without a foreign key of its own.

    PostgreSQL checks a foreign key row by row: for a copy, that re-checks what
    the parent's own foreign keys already hold, with an index probe and a row
    lock each (five copies were about a third of the time of creating 604,362
    disbursements at 1,000,000). The model's table checks instead, set-based,
    that each new row's copies are its parent's and that they never change;
    the parent cannot be deleted while it has children, nor its own links
    removed.

    An addon that redeclares such a field must use this class too: a plain
    Many2one would bring the foreign key back on its next update (the schema
    test ``test_copies_have_no_foreign_keys_of_their_own`` says so)."""

    def update_db_foreign_key(self, model, column):
        """No foreign key: the table's triggers keep the copy right."""


def open_state_index(table, column, settled):
    """An index of ``column`` (a state) without its ``settled`` value, the
    one most rows end in, in place of Odoo's index of the whole column.

    An update that is not HOT (an indexed column changes: the state itself,
    the totals of the failed-payments index, ``write_date`` under the API's
    change feed) inserts the new row in every index whose predicate it
    meets: an entitlement's totals refresh while it is approved, and a
    disbursement's report as paid, now skip one index each (about 5% of the
    database's time on a batch of 1,000 status reports). A search for the
    settled value matches most rows, which an index would not speed up; a
    search for any other value is implied by the predicate and uses it."""
    return f"""
DROP INDEX IF EXISTS {table}__{column}_index;
CREATE INDEX IF NOT EXISTS {table}_{column}_open
    ON {table} ({column}) WHERE {column} <> '{settled}';
"""


def drop_foreign_keys(cr, table, columns):
    """Drop the foreign keys of ``table`` on ``columns`` (those of
    :class:`CopiedMany2one` fields in a database made before they were copies)
    and Odoo's record of them; return the names of those dropped."""
    cr.execute(
        SQL(
            """
        SELECT c.conname FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = ANY(%s)
            """,
            table,
            list(columns),
        )
    )
    names = [name for (name,) in cr.fetchall()]
    for name in names:
        cr.execute(
            SQL(
                "ALTER TABLE %s DROP CONSTRAINT %s",
                SQL.identifier(table),
                SQL.identifier(name),
            )
        )
    if names:
        cr.execute(
            SQL(
                "DELETE FROM ir_model_constraint WHERE type = 'f' AND name = ANY(%s)",
                names,
            )
        )
    return names


def check_transitions(records, new_state, transitions, field="state", allow_same=True):
    """Raise a UserError unless each record may move from its current value of
    ``field`` to ``new_state``: ``transitions`` maps a state to the set of
    states it may go to. ``allow_same``: staying in the same state is no move.
    """
    labels = dict(records._fields[field]._description_selection(records.env))
    for record in records:
        old = record[field]
        if allow_same and new_state == old:
            continue
        if new_state not in transitions[old]:
            raise UserError(
                _(
                    "%(what)s %(name)s cannot go from %(old)s to %(new)s.",
                    what=records._description,
                    name=record.display_name,
                    old=labels.get(old, old),
                    new=labels.get(new_state, new_state),
                )
            )


def count_by(env, model, field, ids, extra_domain=None):
    """``{id: count}`` of the ``model`` records whose many2one ``field`` is in
    ``ids``, in one grouped read (for smart buttons and kanban figures)."""
    domain = [(field, "in", list(ids))] + (extra_domain or [])
    return {
        record.id: count
        for record, count in env[model]._read_group(domain, [field], ["__count"])
    }


def open_related(record, model, name, field, extra_context=None):
    """The window action of the ``model`` records whose many2one ``field`` is
    ``record`` (a smart button), creating new ones for ``record``."""
    record.ensure_one()
    return {
        "type": "ir.actions.act_window",
        "name": name,
        "res_model": model,
        "view_mode": "tree,form",
        "domain": [(field, "=", record.id)],
        "context": dict({"default_" + field: record.id}, **(extra_context or {})),
    }


# ----------------------------------------------------------------------
# Workflow-owned fields
# ----------------------------------------------------------------------
# The workflow methods of the models pass this object in the context when they
# write the fields they own (state, audit fields, derived totals). A client
# talking JSON-RPC or XML-RPC can only send JSON values in its context: it
# cannot forge this object, so a direct write() of those fields is refused
# whatever the path (form, RPC, import).
_WORKFLOW_TOKEN = object()

MANAGER_GROUP = "g2p_beneficiary_registry.group_br_manager"
APPROVER_GROUP = "g2p_beneficiary_registry.group_br_approver"
ADMIN_GROUP = "g2p_beneficiary_registry.group_br_admin"

# Options of the statement-trigger functions that check and record a batch
# (totals, history, membership checks). No JIT: their statements estimate
# costs above ``jit_above_cost`` (correlated sub-selects are costed per row)
# while running in milliseconds, and compiling them cost about 20 ms for each
# batch of 1,000 status reports, a third of PostgreSQL's time for the batch.
# The bulk steps gain too: at 1,000,000 on a quiet machine every step was
# slower with JIT on in these functions (benchmarks/results/
# core-1000000-jit-on-quiet.md against core-1000000-final-quiet.md; at 100,000
# create disbursements was the other way round).
BATCH_TRIGGER_OPTIONS = "SET jit = off"


def workflow(records):
    """``records`` allowed to write the fields their workflow owns."""
    return records.with_context(g2p_br_workflow=_WORKFLOW_TOKEN)


def in_workflow(records):
    return records.env.context.get("g2p_br_workflow") is _WORKFLOW_TOKEN


def guard_create(model, vals_list):
    """Refuse workflow-owned fields given to create() from outside the
    workflow, unless they hold the initial value (``model._initial_values``)."""
    if in_workflow(model):
        return
    initial = getattr(model, "_initial_values", {})
    for vals in vals_list:
        for name in set(vals) & set(model._workflow_fields):
            if vals[name] in (False, None) or vals[name] == initial.get(name):
                continue
            _refuse_workflow_field(model, name)


def guard_write(records, vals):
    """Refuse a write() of workflow-owned fields from outside the workflow, and
    any change of a link that decides access (``records._immutable_fields``)."""
    if not in_workflow(records):
        for name in set(vals) & set(records._workflow_fields):
            _refuse_workflow_field(records, name)
    for name in set(vals) & set(records._immutable_fields):
        new = vals[name]
        for record in records:
            old = record[name]
            old = old.id if hasattr(old, "_name") else old
            if old and old != new:
                raise UserError(
                    _(
                        "%(field)s of %(what)s %(name)s cannot change once it is "
                        "created.",
                        field=records._fields[name].get_description(records.env)[
                            "string"
                        ],
                        what=records._description,
                        name=record.display_name,
                    )
                )


def _refuse_workflow_field(records, name):
    raise UserError(
        _(
            "%(field)s of a %(what)s is set by its workflow, not written directly: "
            "%(hint)s",
            field=records._fields[name].get_description(records.env)["string"],
            what=records._description,
            hint=records._workflow_fields[name],
        )
    )


def check_group(env, group, action):
    """AccessError unless the user has ``group`` (the superuser always has)."""
    if env.su or env.user.has_group(group):
        return
    raise AccessError(
        _(
            "%(action)s needs the %(group)s role of the Beneficiary Registry.",
            action=action,
            group=env.ref(group).name,
        )
    )


@contextmanager
def audit_context(env, path=None, reason=None):
    """Tell the history triggers (see g2p.br.history) where the changes made in
    this block come from (``ui``, ``api``, ``import``, ``job``, ``cron``) and
    why: transaction-local PostgreSQL settings that no client can set, restored
    when the block ends."""
    settings = {"g2p_br.path": path, "g2p_br.reason": reason}
    settings = {name: value for name, value in settings.items() if value is not None}
    previous = {}
    for name, value in settings.items():
        env.cr.execute(
            SQL(
                "SELECT current_setting(%s, true), set_config(%s, %s, true)",
                name,
                name,
                value,
            )
        )
        previous[name] = env.cr.fetchone()[0] or ""
    try:
        yield
        # the triggers fire when the changes are written
        env.flush_all()
    finally:
        for name, value in previous.items():
            env.cr.execute(SQL("SELECT set_config(%s, %s, true)", name, value))


# A trigger function that refuses the change: ``{message}`` names what is
# refused, TG_ARGV[0] (the trigger's argument) says why or what.
_REFUSAL_FUNCTION = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'g2p_br: % % {message}', TG_TABLE_NAME, OLD.id, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


def create_immutable_link_function(cr):
    """The trigger functions that refuse to move a record to another parent and
    to delete it: their BEFORE UPDATE / BEFORE DELETE triggers fire only when
    their WHEN condition says the change is forbidden."""
    for name, message in (
        ("g2p_br_immutable_link", "cannot move to another %"),
        ("g2p_br_refuse_delete", "cannot be deleted: %"),
    ):
        cr.execute(SQL(_REFUSAL_FUNCTION.format(name=name, message=message)))
