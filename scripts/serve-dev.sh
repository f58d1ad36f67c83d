#!/bin/sh
# `make run`: the job worker in the background and the app on 127.0.0.1:$PORT in the foreground.
# Stopping the server (Ctrl-C) stops the worker too.
#
# The server is Flask's development server, threaded, with the reloader off: one process that
# prints tracebacks and stops cleanly on Ctrl-C. A reloader would restart the app after each edit
# but not the worker beside it, which would go on running the old code. Production runs gunicorn
# (see README); the development server keeps this script to one process we can watch.
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-5000}"
export PORTAL_ENV="${PORTAL_ENV:-development}"
# Links in mail (access links, notifications) must point at this server, not the default port.
export BASE_URL="${BASE_URL:-http://127.0.0.1:$PORT}"

# Without SECRET_KEY there are no sessions (no sign-in, no CSRF). Keep a random development key
# in the instance folder, so restarting the server does not sign everyone out.
if [ -z "${SECRET_KEY:-}" ]; then
  keyfile="${INSTANCE_PATH:-instance}/dev-secret-key"
  if [ ! -s "$keyfile" ]; then
    mkdir -p "$(dirname "$keyfile")"
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_hex(32))' > "$keyfile")
  fi
  SECRET_KEY="$(cat "$keyfile")"
  export SECRET_KEY
fi

"$PY" -m flask --app wsgi worker &
worker=$!

stop_worker() {
  if kill -0 "$worker" 2>/dev/null; then
    kill "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
}
# A shell killed by a signal skips its EXIT trap: turn INT and TERM into an ordinary exit.
# (A background job of a non-interactive shell ignores Ctrl-C, so the worker needs this kill.)
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat <<EOF

  Customer portal (development): $BASE_URL/
  Back-office sign-in:           $BASE_URL/staff/login
    demo staff (from 'flask demo'): demo@example.com / demo-password-123
  Portal as a demo contact (Emily Clarke, single-use link):
    $("$PY" -m flask --app wsgi access-link emily@demo.example 2>/dev/null || echo "(run 'flask demo' first)")
    more: .venv/bin/flask --app wsgi access-link ana@demo.example
  Job worker: pid $worker, stops with the server. Stop both with Ctrl-C.

EOF

"$PY" -m flask --app wsgi run --host 127.0.0.1 --port "$PORT" --no-reload --no-debugger --with-threads
