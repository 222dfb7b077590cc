"""Small helpers shared by the models of the Beneficiary Registry."""

from datetime import date, datetime


def iso(value):
    """Return ``value`` (a date or datetime, or False) as an ISO 8601 string or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
