"""Languages of the interface: Vietnamese by default, English when the user picks it.

Message ids are the Vietnamese texts themselves (what the templates show); the English catalogue
is web/translations/en/LC_MESSAGES/messages.po, compiled with Babel when the app starts (into the
instance folder, so a read-only install works and an edited catalogue never goes stale)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint
from flask import Flask
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import Babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"
CATALOGUES = Path(__file__).with_name("translations")

babel = Babel()
bp = Blueprint("i18n", __name__)


def current_language() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT


@bp.get("/ngon-ngu/<code>")
def choose(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    target = request.args.get("next") or ""
    # Only a path on this site (never an open redirect).
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.index")
    return redirect(target)


def compile_catalogues(target: Path) -> Path:
    """Compile each .po into target/<lang>/LC_MESSAGES/messages.mo when it is newer."""
    for po_path in CATALOGUES.glob("*/LC_MESSAGES/messages.po"):
        mo_path = target / po_path.relative_to(CATALOGUES).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parts[-3])
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalogue)
    return target


def init_app(app: Flask) -> None:
    compiled = compile_catalogues(Path(app.instance_path) / "translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    babel.init_app(app, locale_selector=current_language, default_timezone="Asia/Ho_Chi_Minh")
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language)
    app.register_blueprint(bp)
