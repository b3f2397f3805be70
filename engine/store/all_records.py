"""Imports every record module so that Base.metadata knows every table (migrations, create_all)."""

from engine.store import absence_records
from engine.store import account_records
from engine.store import attachment_records
from engine.store import calendar_records
from engine.store import catalogue_records
from engine.store import citizen_records
from engine.store import idempotency_records
from engine.store import operations_records
from engine.store import portal_records
from engine.store import records
from engine.store import service_call_records
from engine.store import variant_records

#: Imported for the tables they declare.
__all__ = [
    "absence_records",
    "account_records",
    "attachment_records",
    "calendar_records",
    "catalogue_records",
    "citizen_records",
    "idempotency_records",
    "operations_records",
    "portal_records",
    "records",
    "service_call_records",
    "variant_records",
]
