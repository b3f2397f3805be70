"""WSGI entry for gunicorn: `gunicorn web.wsgi:app` (each worker imports it once, before its first
request)."""

from engine import calendars
from engine import logs
from web.app import create_app

logs.configure()

app = create_app()
# The `holidays` package imports its two hundred countries' modules at its first use (0.7-1.5 s
# of CPU): here, while the worker boots, rather than inside the first dossier it receives.
calendars.national_days()
