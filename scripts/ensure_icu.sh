# Run by `make install`: PyICU (Vietnamese collation) has no wheel on PyPI and builds against the
# ICU headers, pkg-config and a C++ compiler. Installs Debian's packages when missing and we may
# (root on Debian); otherwise says what to install and lets pip report the failure.
missing=""
dpkg -s libicu-dev >/dev/null 2>&1 || missing="$missing libicu-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "ensure_icu: installing Debian's$missing" >&2
        # shellcheck disable=SC2086
        apt-get install -y -q $missing >/dev/null 2>&1 \
            || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $missing >/dev/null 2>&1) \
            || echo "ensure_icu: apt-get could not install$missing" >&2
    else
        echo "ensure_icu: PyICU needs$missing (Debian packages) to build" >&2
    fi
fi
exit 0
