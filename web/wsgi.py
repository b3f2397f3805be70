"""WSGI entry of `motcua serve --workers N` (web.serving: each worker imports it once, before its
first request)."""

from engine import boot
from engine import logs
from web.app import create_app

logs.configure()

app = create_app()
boot.settle()
