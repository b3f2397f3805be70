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
# The cyclic collector's youngest generation is collected after 20,000 new containers rather than
# Python's 700: a request builds and drops thousands (a step's workflow alone), so at 700 every
# request set off several young collections, and what the request still held was walked again in
# each and promoted to be walked again in the older ones. In process (benchmarks/api_cpu.py's
# driver, 100 dossiers): 141 young, 13 middle and 1 full collection against 4 young ones, the
# collector's CPU 134-145 µs per completed step against 52-60 µs (2.2-2.6% of the server's CPU
# against 0.8-1.1%). Each young collection takes longer (about 7 ms, once in some 250 requests).
GC_YOUNG_THRESHOLD = 20_000
_, *older = gc.get_threshold()
gc.set_threshold(GC_YOUNG_THRESHOLD, *older)
