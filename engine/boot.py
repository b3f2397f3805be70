"""What a long-running process of the product does once it has booted, before its first piece of
work: a served web worker (web.wsgi) and the background worker (`motcua worker`)."""

import gc

from engine import calendars


def settle() -> None:
    """Pay the boot's deferred costs now and leave the boot heap out of the collector's walks.

    The `holidays` package imports its two hundred countries' modules at its first use (0.7-1.5 s
    of CPU): here rather than inside the first dossier the process handles. Then everything built
    while booting (modules, the app, the calendars: most of the heap) is frozen: a full collection
    walked all of it again, about 100 ms of CPU in one request out of fifteen of the supervisors'
    dashboard (benchmarks/dashboard.py)."""
    calendars.national_days()
    gc.collect()
    gc.freeze()
