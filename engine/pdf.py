"""HTML to PDF with WeasyPrint (Debian's Pango lays out the text; DejaVu has every Vietnamese
glyph), and the QR code every printed page carries. WeasyPrint is imported when a PDF is made, so
a machine without Pango still runs everything else."""

from __future__ import annotations

from typing import Callable

import segno

#: The font stack of the printed pages: DejaVu (fonts-dejavu-core, scripts/ensure_pdf.sh) first.
FONTS = '"DejaVu Serif", "Noto Serif", serif'


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load (Pango is missing): install what scripts/ensure_pdf.sh installs."""


def qr_svg(url: str, title: str = "Mã QR tra cứu hồ sơ") -> str:
    """An inline SVG QR code of `url` (vector: prints sharp at any size)."""
    return segno.make(url, error="m").svg_inline(scale=3, title=title)


def html_to_pdf(html: str, *, base_url: str | None = None,
                fetch: Callable[[str], dict] | None = None) -> bytes:
    """The page as PDF. `fetch(url)` serves the page's style sheets and images (WeasyPrint's
    url_fetcher contract) so that a server never asks itself over HTTP for its own files."""
    try:
        import weasyprint
    except OSError as exc:  # the shared libraries are missing
        raise PdfUnavailable(f"WeasyPrint cannot load: {exc}") from None
    kwargs = {"url_fetcher": fetch} if fetch is not None else {}
    return weasyprint.HTML(string=html, base_url=base_url, **kwargs).write_pdf()
