"""WSGI entry for gunicorn: `gunicorn web.wsgi:app`."""

from engine import logs
from web.app import create_app

logs.configure()

app = create_app()
