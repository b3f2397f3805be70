"""HTML to PDF with WeasyPrint (Debian's Pango lays out the text; DejaVu has every Vietnamese
glyph), and the QR code every printed page carries. WeasyPrint is imported when a PDF is made, so
a machine without Pango still runs everything else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
import segno

#: The font stack of the printed pages: DejaVu (fonts-dejavu-core, scripts/ensure_pdf.sh) first.
FONTS = '"DejaVu Serif", "Noto Serif", serif'


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load (Pango is missing): install what scripts/ensure_pdf.sh installs."""


#: The engine's own document templates (the result a leader's approval signs).
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"), autoescape=True
)


def render_template(name: str, **values) -> str:
    """One of engine/templates/ as HTML, its values escaped."""
    return _TEMPLATES.get_template(name).render(**values)


def qr_svg(url: str, title: str = "Mã QR tra cứu hồ sơ") -> str:
    """An inline SVG QR code of `url` (vector: prints sharp at any size)."""
    return segno.make(url, error="m").svg_inline(scale=3, title=title)


def _refuse(url: str) -> tuple[bytes, str]:
    raise ValueError(f"nothing is fetched into this PDF ({url})")


def html_to_pdf(
    html: str, *, base_url: str | None = None, fetch: Callable[[str], tuple[bytes, str]] | None = None
) -> bytes:
    """The page as PDF. `fetch(url) -> (bytes, content type)` serves the page's style sheets and
    images, so that a server never asks itself over HTTP for its own files; without it nothing at
    all is fetched (a template can make the renderer read no file and call no address)."""
    try:
        import weasyprint
        from weasyprint.urls import URLFetcher
        from weasyprint.urls import URLFetcherResponse
    except OSError as exc:  # the shared libraries are missing
        raise PdfUnavailable(f"WeasyPrint cannot load: {exc}") from None

    class Fetcher(URLFetcher):
        # WeasyPrint 70 takes a URLFetcher whose fetch() answers a URLFetcherResponse (no more dicts).
        def fetch(self, url, headers=None):
            body, content_type = (fetch or _refuse)(url)
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=Fetcher()).write_pdf()
