"""WSGI entry for gunicorn: `gunicorn web.wsgi:app` (each worker imports it once, before its first
request)."""

import gc

from engine import calendars
from engine import logs
from web.app import create_app

logs.configure()

app = create_app()
# The `holidays` package imports its two hundred countries' modules at its first use (0.7-1.5 s
# of CPU): here, while the worker boots, rather than inside the first dossier it receives.
calendars.national_days()
# Everything the worker built while booting (modules, the app, the calendars: most of its heap) is
# left out of the cyclic garbage collector's walks: a full collection walked all of it again, about
# 100 ms of CPU in one request out of fifteen of the supervisors' dashboard (benchmarks/dashboard.py).
gc.collect()
gc.freeze()
