"""Small helpers shared by the models of the Beneficiary Registry."""

from datetime import date, datetime

from odoo import _
from odoo.exceptions import UserError


def iso(value):
    """Return ``value`` (a date or datetime, or False) as an ISO 8601 string or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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
