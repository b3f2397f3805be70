"""Languages of the interface: Vietnamese by default, English when the user picks it.

Message ids are the Vietnamese texts themselves (what the templates show); the English catalogue
is web/translations/en/LC_MESSAGES/messages.po. The engine's refusals are the other way round
(English ids, web/translations/vi/LC_MESSAGES/engine.po; see web/refusals.py). Both are compiled
with Babel when the app starts (into the instance folder, so a read-only install works and an
edited catalogue never goes stale)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint
from flask import Flask
from flask import g
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import Babel
from flask_babel import get_locale
from flask_babel import get_translations

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def N_(text: str) -> str:
    """Marks a message for extraction without translating it here (Babel's default keyword)."""
    return text


#: Messages the pages' scripts show, handed to them translated (window.motcuaMessages; app.js t()).
JS_MESSAGES = (
    N_("Làn: %(lane)s"),
    N_(" — bước chưa ghi vai trò nên dùng tên làn làm vai trò"),
    N_("%(errors)s lỗi, %(warnings)s cảnh báo. Bấm vào một dòng để chọn phần tử trên sơ đồ."),
    N_("Không có lỗi hay cảnh báo: có thể công bố."),
    N_("Đang lưu…"),
    N_("Máy chủ trả lời %(status)s"),
    N_("Không gửi được: %(error)s"),
    N_("Chưa lưu: %(error)s"),
    N_("Đã lưu bản nháp phiên bản %(version)s"),
    N_(" — hợp lệ. "),
    N_(" — còn lỗi, xem danh sách. "),
    N_("Về trang mẫu để công bố"),
    N_("Đang sửa bản nháp phiên bản %(version)s; mỗi lần lưu ghi đè bản nháp này."),
    N_("Không mở được sơ đồ: %(error)s"),
    N_("Không hiển thị được sơ đồ: %(error)s"),
    N_("tệp BPMN không có phần hình vẽ (BPMNDiagram); hãy dùng «Lập bảng bước» để tạo sơ đồ có bố cục."),
    N_("Trước hạn"),
    N_("Đúng hạn"),
    N_("Quá hạn"),
    N_("Đang xử lý quá hạn"),
    N_("Không nhận giá trị này: %(reason)s"),
    N_("quy trình"),
    N_("Đã giải quyết quá hạn"),
    N_("Tỷ lệ đúng hạn, phần trăm"),
    N_("Sắp xếp theo cột này"),
)


def js_messages() -> dict[str, str]:
    """The scripts' messages in the reader's language (empty in Vietnamese: the ids are the text)."""
    if current_language() == DEFAULT:
        return {}
    return {message: gettext(message) for message in JS_MESSAGES}


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


def _catalogue():
    """The request's catalogue, looked up once per request for the templates: Flask-Babel's own
    lookup walks several context locals on each call (about 30 µs a text), and a province's lists
    translate a few thousand texts a page. Kept with the locale it was found for: inside
    `force_locale` (a paper in Vietnamese during an English request) Flask-Babel sets another
    locale object, and the catalogue is looked up again, and again once the block restores it."""
    locale = get_locale()  # a few attribute reads: the catalogue's own lookup is the cost
    kept = g.get("motcua_catalogue")
    if kept is None or kept[0] is not locale:
        kept = g.motcua_catalogue = (locale, get_translations())
    return kept[1]


def gettext(text: str, **variables) -> str:
    """Flask-Babel's gettext (the text translated, then filled in with `variables`) through the
    request's catalogue: for code that translates a text per row of a long list."""
    found = _catalogue().ugettext(text)
    return found % variables if variables else found


def page_gettext() -> Callable[[str], str]:
    """gettext bound to the request's catalogue as it is now, without its variables: for code that
    writes a whole list's rows at once (one locale lookup for the page instead of one per text)."""
    return _catalogue().ugettext


def compile_catalogues(target: Path) -> Path:
    """Compile each .po (the interface's messages.po, the engine's engine.po) into
    target/<lang>/LC_MESSAGES/<domain>.mo when it is newer."""
    for po_path in CATALOGUES.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(CATALOGUES).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parts[-3])
        # Written beside and renamed into place: the other processes starting at the same time
        # (the server's workers, the test suite's) read the old catalogue or the whole new one.
        draft = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.draft")
        with draft.open("wb") as mo_file:
            write_mo(mo_file, catalogue)
        draft.replace(mo_path)
    return target


def init_app(app: Flask) -> None:
    compiled = compile_catalogues(Path(app.instance_path) / "translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    babel.init_app(app, locale_selector=current_language, default_timezone="Asia/Ho_Chi_Minh")
    # One catalogue lookup per request (see _catalogue); Flask-Babel installed the i18n extension.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: _catalogue().ugettext(text),
        ngettext=lambda singular, plural, n: _catalogue().ungettext(singular, plural, n),
        pgettext=lambda context, text: _catalogue().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: _catalogue().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language, js_messages=js_messages)
    app.register_blueprint(bp)
