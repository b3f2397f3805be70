"""Flask extensions, bound in the factory. Flask-SQLAlchemy uses the engine's own base."""

from flask_sqlalchemy import SQLAlchemy

import engine.store.all_records  # noqa: F401  (every table on the metadata)
from engine.store.base import Base

db = SQLAlchemy(model_class=Base)
