# Sourced by `make test`: make Debian's headless Chromium available to the browser tests and
# export MOTCUA_CHROMIUM (Playwright drives it through executable_path; it never downloads a
# browser). Installs the `chromium` package when missing and we may (root on Debian).
# Where that is impossible the browser tests are skipped, except in CI where they fail.

motcua_find_chromium() {
    for candidate in "${MOTCUA_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! MOTCUA_CHROMIUM="$(motcua_find_chromium)"; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "ensure_chromium: installing Debian's chromium package" >&2
        (apt-get install -y -q chromium >/dev/null 2>&1 \
            || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
            || echo "ensure_chromium: apt-get could not install chromium" >&2
    fi
    MOTCUA_CHROMIUM="$(motcua_find_chromium)" || MOTCUA_CHROMIUM=""
fi
if [ -n "$MOTCUA_CHROMIUM" ]; then
    export MOTCUA_CHROMIUM
    echo "ensure_chromium: using $MOTCUA_CHROMIUM" >&2
else
    unset MOTCUA_CHROMIUM
    echo "ensure_chromium: no Chromium; browser tests will be skipped (CI fails them)" >&2
fi
