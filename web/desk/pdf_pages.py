"""A rendered page as a PDF download: WeasyPrint (engine.pdf) reads the page's style sheets from
the app itself, in process, never over the network (nothing outside the app can be fetched)."""

from __future__ import annotations

from urllib.parse import quote
from urllib.parse import urlsplit

from flask import Response
from flask import abort
from flask import current_app
from flask_babel import gettext

from engine import pdf

#: The base URL the page is laid out against; only this host's paths are served to WeasyPrint.
BASE = "http://motcua.invalid/"


def _fetch_from_app(url: str) -> tuple[bytes, str]:
    if not url.startswith(BASE):
        raise ValueError(f"only the app's own files are read into a PDF, not {url}")
    parts = urlsplit(url)
    with current_app.test_client().get(parts.path, query_string=parts.query) as answer:
        if answer.status_code != 200:
            raise ValueError(f"{parts.path} answered {answer.status_code}")
        return answer.get_data(), answer.content_type


def to_pdf(page: str) -> bytes:
    try:
        return pdf.html_to_pdf(page, base_url=BASE, fetch=_fetch_from_app)
    except pdf.PdfUnavailable:
        abort(503, description=gettext("Máy chủ chưa cài thư viện dựng PDF (Pango); xem scripts/ensure_pdf.sh."))


def pdf_response(page: str, filename: str) -> Response:
    return Response(
        to_pdf(page),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
