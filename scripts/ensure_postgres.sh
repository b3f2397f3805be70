# Sourced by `make test`: make a PostgreSQL server reachable for the tests and export
# MOTCUA_TEST_POSTGRES_URL. Uses a server already listening on 127.0.0.1:5432 when there is one,
# otherwise starts the local cluster, otherwise installs Debian's package (as root) and starts it.
# In CI (CI=true) a missing PostgreSQL is an error; elsewhere its tests are reported as skipped.
# The server's binaries (initdb, pg_ctl, pg_basebackup under /usr/lib/postgresql/*/bin) are also
# installed when missing, even beside a server reachable elsewhere: benchmarks/province_day.py and
# its test start a primary and a streaming replica of their own.

_pg_url="${MOTCUA_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

_pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

_pg_start_cluster() {
  command -v pg_ctlcluster >/dev/null 2>&1 || return 1
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do _pg_ready && return 0; sleep 1; done
  return 1
}

_pg_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  echo "ensure_postgres: installing PostgreSQL from Debian's packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || return 1
  v=$(ls /etc/postgresql | head -n 1)
  sed -i 's/^\(local\|host\)\(.*\)\(peer\|scram-sha-256\|md5\)$/\1\2trust/' "/etc/postgresql/$v/main/pg_hba.conf"
  _pg_start_cluster
}

_pg_server_binaries() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

_pg_install_server_binaries() {
  _pg_server_binaries && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  echo "ensure_postgres: installing PostgreSQL's server binaries from Debian's packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1
}

_pg_create_db() {
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
}

if [ -z "${MOTCUA_TEST_POSTGRES_URL:-}" ]; then
  if ! command -v pg_isready >/dev/null 2>&1 || ! _pg_ready; then
    _pg_start_cluster || _pg_install || true
  fi
  if command -v pg_isready >/dev/null 2>&1 && _pg_ready; then
    _pg_create_db
    export MOTCUA_TEST_POSTGRES_URL="$_pg_url"
  elif [ "${CI:-}" = "true" ]; then
    echo "ensure_postgres: PostgreSQL is required in CI and could not be reached or started" >&2
    return 1 2>/dev/null || exit 1
  else
    echo "ensure_postgres: no PostgreSQL here; its tests will be reported as skipped" >&2
  fi
fi
_pg_install_server_binaries || [ "${CI:-}" != "true" ] || {
  echo "ensure_postgres: PostgreSQL's server binaries (initdb, pg_basebackup) are required in CI" >&2
  return 1 2>/dev/null || exit 1
}
