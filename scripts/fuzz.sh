#!/bin/sh
# `make fuzz`: schemathesis against the OpenAPI document of a real `motcua serve` on 127.0.0.1,
# with a seeded SQLite database (Hà Nội's communes, the process library, demo dossiers) and an
# API token of a reception desk. Fails when any generated request gets a 5xx.
#   FUZZ_EXAMPLES  test cases per operation and phase (default 100)
#   FUZZ_PORT      port of the served app (default 5099)
#   FUZZ_DIR       where the database, the server log and the report go (default a temporary dir)
#   FUZZ_DATABASE_URL  an empty PostgreSQL database to use instead of SQLite
set -eu
BIN=${BIN:-.venv/bin}
EXAMPLES=${FUZZ_EXAMPLES:-100}
PORT=${FUZZ_PORT:-5099}
DIR=${FUZZ_DIR:-$(mktemp -d /tmp/motcua-fuzz.XXXXXX)}
mkdir -p "$DIR"
export DATABASE_URL="${FUZZ_DATABASE_URL:-sqlite:///$DIR/fuzz.sqlite3}"
export MOTCUA_SECRET_KEY="fuzz-$(date +%s)"

"$BIN/motcua" db upgrade
"$BIN/motcua" seed >/dev/null
TOKEN=$("$BIN/motcua" api-token create --user mot_cua_00070_1 --name "schemathesis" --expires-in 1d 2>/dev/null)

"$BIN/motcua" serve --host 127.0.0.1 --port "$PORT" >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT INT TERM

status=0
"${SCHEMATHESIS:-$BIN/schemathesis}" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --wait-for-schema 60 \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error \
  --max-examples "$EXAMPLES" \
  --generation-allow-x00 true \
  --workers 1 \
  --no-color \
  --report junit --report-dir "$DIR/report" || status=$?
echo "fuzz: database, server log and report in $DIR"
echo "fuzz: server errors logged: $(grep -c 'unexpected error' "$DIR/server.log" || true)"
exit "$status"
