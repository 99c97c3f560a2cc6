#!/usr/bin/env bash
# Build kinsave's sdist and wheel (and the demo store's, the `kinsave[demo]` extra), install them
# into a fresh virtual environment, and run them from a folder with no source tree:
# `kinsave migrate`, `kinsave serve` (/readyz, /app, /docs answer 200), `kinsave demo` (/store
# answers 200), then `kinsave demo` without the demo store says so and does not advertise /store.
# Dependencies come the way pip is configured on this machine (pip config list).
# Usage: scripts/check_wheel.sh [PYTHON]   (default: python3; needs the `build` package)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${1:-${PYTHON:-python3}}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kinsave-wheel.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'check_wheel: FAILED: %s\n' "$*" >&2; exit 1; }

step "build the sdists and wheels (the wheels are built from the sdists)"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || {
    tail -30 "$WORK/build.log"; fail "python -m build (kinsave)"; }
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT/examples/store" >>"$WORK/build.log" 2>&1 || {
    tail -30 "$WORK/build.log"; fail "python -m build (demo store)"; }
ls "$WORK/dist"
WHEEL=$(ls "$WORK"/dist/kinsave-*.whl)
STORE_WHEEL=$(ls "$WORK"/dist/kinsave_demo_store-*.whl)
"$PYTHON" - "$WHEEL" <<'PY' || fail "files missing from the wheel"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = ["migrations/env.py", "migrations/script.py.mako", "web/templates/start.html",
          "web/templates/app/home.html", "web/static/app.css", "web/messages/zh-CN.json",
          "sharing/templates/landing.html", "py.typed"]
missing = [name for name in wanted if "kinsave/" + name not in names]
sys.exit(f"missing: {missing}" if missing else 0)
PY

step "install them into a fresh virtual environment"
"$PYTHON" -m venv "$WORK/venv"
VENV_BIN=$WORK/venv/bin
"$VENV_BIN/pip" install --quiet --find-links "$WORK/dist" "$WHEEL[demo]" "$STORE_WHEEL" \
    || fail "pip install the wheels"

# Run from an empty folder, without this source tree on the path.
mkdir "$WORK/run"
cd "$WORK/run"
unset PYTHONPATH
export KINSAVE_DATABASE_URL="sqlite:///$WORK/run/kinsave.db"
export COLUMNS=200  # Rich wraps at the terminal width; keep the banner lines whole
"$VENV_BIN/python" -c 'import kinsave, sys; sys.exit("/src/" in kinsave.__file__)' \
    || fail "kinsave imported from a source tree, not the wheel"

free_port() {
    "$VENV_BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {  # $1 port: /readyz answers 200 within 60 s, or the server died
    for _ in $(seq 1 120); do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; fail "the server stopped"; }
        if [ "$(status "$1" /readyz)" = 200 ]; then return 0; fi
        sleep 0.5
    done
    cat "$WORK/server.log"; fail "/readyz did not answer 200"
}

status() {  # $1 port, $2 path: the HTTP status
    "$VENV_BIN/python" - "$1" "$2" <<'EOF'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as error:
    print(error.code)
except OSError:
    print(0)
EOF
}

expect() {  # $1 port, $2 path, $3 status
    local got
    got=$(status "$1" "$2")
    [ "$got" = "$3" ] || { cat "$WORK/server.log"; fail "GET $2 answered $got, not $3"; }
    echo "GET $2 -> $got"
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

step "kinsave migrate"
"$VENV_BIN/kinsave" migrate

step "kinsave serve"
PORT=$(free_port)
"$VENV_BIN/kinsave" serve --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$PORT"
expect "$PORT" /readyz 200
expect "$PORT" /app 200
expect "$PORT" /docs 200
stop_server

step "kinsave demo (with the demo store)"
export KINSAVE_DATABASE_URL="sqlite:///$WORK/run/demo.db"
PORT=$(free_port)
"$VENV_BIN/kinsave" demo --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$PORT"
expect "$PORT" /store 200
expect "$PORT" /app 200
grep -q "Demo store .*/store" "$WORK/server.log" || fail "the demo banner does not show /store"
stop_server

step "kinsave demo without the demo store says so"
"$VENV_BIN/pip" uninstall --quiet --yes kinsave-demo-store
export KINSAVE_DATABASE_URL="sqlite:///$WORK/run/bare.db"
"$VENV_BIN/kinsave" demo --seed-only >"$WORK/server.log" 2>&1 || {
    cat "$WORK/server.log"; fail "kinsave demo without the demo store"; }
grep -q "pip install 'kinsave\[demo\]'" "$WORK/server.log" \
    || { cat "$WORK/server.log"; fail "no word that the demo store is missing"; }
if grep -q "http://[^ ]*/store" "$WORK/server.log"; then
    cat "$WORK/server.log"; fail "/store advertised without the demo store"
fi

printf '\ncheck_wheel: OK\n'
