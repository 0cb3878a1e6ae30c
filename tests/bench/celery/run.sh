#!/usr/bin/env bash
# Celery 5 + Redis reference figures. Usage:
#   run.sh [jobs] [rounds]              the drain benchmark (celery_drain.py)
#   run.sh delivery ARGS...             one delivery measurement (celery_delivery.py; the
#                                       delivery bench, `cargo bench --bench delivery`, runs it)
#   run.sh setup                        only make the virtualenv
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${CELERY_VENV:-/var/tmp/herald/celery-venv}"
if [ ! -x "$venv/bin/celery" ] || ! "$venv/bin/python" -c "import requests, gevent" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "celery[redis]==5.5.3" "kombu==5.5.4" "redis==5.2.1" "requests==2.32.3" \
        "gevent==26.9.0" packaging
fi
cd "$here"
case "${1:-}" in
    setup) exit 0 ;;
    delivery) shift; exec "$venv/bin/python" celery_delivery.py "$@" ;;
    *) exec "$venv/bin/python" celery_drain.py "$@" ;;
esac
