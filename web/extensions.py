"""Flask extensions, bound in the factory. Flask-SQLAlchemy uses the engine's own base."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

import engine.store.all_records  # noqa: F401  (every table on the metadata)
from engine.store.base import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
