"""The citizen's copies on the lookup page: which documents an authenticated lookup lists, the
short-lived signed links that open them, and the two routes behind those links.

A link carries an itsdangerous token of the dossier's code, signed with the app's secret and
timed by the product's clock, so it opens only that dossier's copies and only for
COPY_LINK_MINUTES; there is no URL that opens a document without having passed the lookup. A bad,
forged or expired token, an unknown dossier, a form the dossier does not have and a file that is
not this dossier's result all get one answer (404), and count against the address like a wrong
lookup. Every copy handed out is written to the dossier's audit log (who = "citizen", the address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from flask import Response
from flask import abort
from flask import current_app
from flask import request
from flask import url_for
from flask_babel import gettext
from itsdangerous import BadData
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer

from engine.domain.errors import EngineError
from engine.services import attachments
from engine.services import citizen_copies
from engine.services import dossier_papers
from engine.services import throttle
from web.desk import pdf_pages
from web.desk import printing  # a module import: printing itself imports web.public (the QR token)
from web.i18n import N_
from web.public import bp
from web.security import client_address
from web.wiring import runtime

_SALT = "motcua citizen copy"
FORM_TITLES = {
    "tiep_nhan": N_("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
    "bo_sung": N_("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
    "tu_choi": N_("Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
    "xin_loi": N_("Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
    "dung": N_("Thông báo dừng giải quyết hồ sơ"),
}


@dataclass(frozen=True)
class Copy:
    title: str
    url: str
    detail: str | None = None  # a form's number, a result file's size
    result: bool = False  # a result file (downloaded), not a form (opened)


class _ClockSigner(TimestampSigner):
    """Times tokens by the product's injected clock, not the machine's (tests move a frozen clock)."""

    def __init__(self, *args, clock, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=_SALT, signer=_ClockSigner, signer_kwargs={"clock": runtime().clock}
    )


def copy_token(code: str) -> str:
    return _serializer().dumps(code)


def _code_of(token: str) -> str | None:
    """The dossier code the token was made for, when it is genuine and younger than the link's life."""
    max_age = timedelta(minutes=int(current_app.config["COPY_LINK_MINUTES"]))
    try:
        code = _serializer().loads(token or "", max_age=int(max_age.total_seconds()))
    except BadData:
        return None
    return code if isinstance(code, str) else None


def listed_copies(code: str) -> list[Copy]:
    """What the authenticated lookup of `code` lists: the forms the dossier has, then its result files."""
    rt = runtime()
    dossier_id = citizen_copies.dossier_id_of(rt, code)
    papers = dossier_papers.papers(rt, dossier_id) if dossier_id is not None else None
    if papers is None:
        return []
    found = citizen_copies.copies(rt, dossier_id, papers)
    token = copy_token(code)
    forms = [
        Copy(
            gettext(FORM_TITLES[kind]),
            url_for("public.copy_form", kind=kind, t=token),
            gettext("%(number)s · PDF", number=printing.FORM_NUMBERS[kind]),
        )
        for kind in found.forms
    ]
    results = [
        Copy(
            row.name,
            url_for("public.copy_file", key=row.key, t=token),
            gettext("Kết quả giải quyết · %(size)s KB", size=max(1, round(row.size / 1024))),
            result=True,
        )
        for row in found.results
    ]
    return forms + results


@bp.get("/tra-cuu/giay-to/<kind>")
def copy_form(kind: str):
    """A form addressed to the applicant as the PDF the desk prints (same template, form number and
    QR code), with the applicant's ID number and phone masked and no address: the lookup's four
    digits must not reveal them."""
    dossier_id, papers = _authorised_dossier()
    stopped = kind == "dung" and citizen_copies.is_stopped(runtime(), dossier_id)
    if kind not in FORM_TITLES or not citizen_copies.form_issued(kind, papers, stopped):
        _refuse()
    code = papers.view.dossier.code
    page = printing.render_form(dossier_id, kind, papers, back_url=url_for("public.lookup", ma=code), as_pdf=True)
    answer = pdf_pages.pdf_response(page, f"{code}-{kind}.pdf")
    citizen_copies.record_download(runtime(), dossier_id, document=kind, address=client_address())
    return answer


@bp.get("/tra-cuu/tep/<key>")
def copy_file(key: str):
    """A result file of the dossier (the signed decision, the certificate), downloaded."""
    dossier_id, _papers = _authorised_dossier()
    row = citizen_copies.result_file(runtime(), dossier_id, key)
    if row is None:
        _refuse()
    try:
        data = attachments.content(runtime(), row)
    except EngineError:
        _refuse()  # altered or missing in the store: the office sees it on the desk; the citizen asks there
    citizen_copies.record_download(runtime(), dossier_id, document=row.name, address=client_address())
    return Response(
        data,
        mimetype=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _authorised_dossier():
    """(dossier id, its papers) the request's token opens; otherwise the one refusal. A link that
    opens is always served (its token cannot be guessed); a wrong one is refused, and counts, as a
    lookup that found nothing does."""
    rt = runtime()
    code = _code_of(request.args.get("t", ""))
    dossier_id = citizen_copies.dossier_id_of(rt, code) if code else None
    papers = dossier_papers.papers(rt, dossier_id) if dossier_id is not None else None
    if papers is None:
        _refuse()
    return dossier_id, papers


def _refuse():
    """One answer for every link that does not open a copy; it counts against the address."""
    rt = runtime()
    with rt.db.session() as s:
        throttle.hit(s, [f"lookup-address:{client_address()}"], rt.clock.now())
    abort(
        404,
        description=gettext(
            "Không mở được giấy tờ này: đường dẫn không đúng hoặc đã hết hạn. Vui lòng tra cứu lại hồ sơ."
        ),
    )
