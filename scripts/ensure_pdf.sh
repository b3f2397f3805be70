# Sourced by `make run` and `make test`: what WeasyPrint needs to lay out PDFs (Debian's Pango and
# HarfBuzz's subsetter, and
# fonts with Vietnamese glyphs: DejaVu), and, for the tests that look at the PDFs as pages, poppler's
# pdftoppm/pdftotext and zbar's zbarimg (reads the printed QR back). Installs what is missing when we
# may (root on Debian); otherwise the PDF routes answer with their error and those tests are skipped.

motcua_pdf_missing() {
    missing=""
    ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" || missing="$missing libpango-1.0-0 libpangoft2-1.0-0"
    # Font subsetting (smaller PDFs; WeasyPrint warns without it, and the tests turn warnings into errors)
    ldconfig -p 2>/dev/null | grep -q "libharfbuzz-subset.so.0" || missing="$missing libharfbuzz-subset0"
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$missing fonts-dejavu-core"
    command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
    command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"
    echo "$missing"
}

MOTCUA_PDF_MISSING="$(motcua_pdf_missing)"
if [ -n "$MOTCUA_PDF_MISSING" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "ensure_pdf: installing Debian's$MOTCUA_PDF_MISSING" >&2
        # shellcheck disable=SC2086 # the list is words on purpose
        (apt-get install -y -q --no-install-recommends $MOTCUA_PDF_MISSING >/dev/null 2>&1 \
            || (apt-get update -q >/dev/null 2>&1 \
                && apt-get install -y -q --no-install-recommends $MOTCUA_PDF_MISSING >/dev/null 2>&1)) \
            || echo "ensure_pdf: apt-get could not install$MOTCUA_PDF_MISSING" >&2
    else
        echo "ensure_pdf: missing$MOTCUA_PDF_MISSING (install them as root)" >&2
    fi
fi
unset MOTCUA_PDF_MISSING
