"""Names of the helpers every template expression may call (bound per dossier at run time)."""

HELPER_NAMES = frozenset({"now", "add_working_days", "add_working_hours", "working_days_between"})
