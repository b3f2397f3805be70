"""Imports every record module so that Base.metadata knows every table (migrations, create_all)."""

from engine.store import absence_records  # noqa: F401
from engine.store import account_records  # noqa: F401
from engine.store import calendar_records  # noqa: F401
from engine.store import catalogue_records  # noqa: F401
from engine.store import idempotency_records  # noqa: F401
from engine.store import operations_records  # noqa: F401
from engine.store import records  # noqa: F401
from engine.store import variant_records  # noqa: F401
from engine.store import attachment_records  # noqa: F401
from engine.store import citizen_records  # noqa: F401
from engine.store import portal_records  # noqa: F401
from engine.store import service_call_records  # noqa: F401
from engine.store import citizen_records  # noqa: F401
