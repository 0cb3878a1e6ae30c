#!/usr/bin/env bash
# Celery 5 + Redis reference figures (see celery_drain.py). Usage: run.sh [jobs] [rounds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${CELERY_VENV:-/var/tmp/herald/celery-venv}"
if [ ! -x "$venv/bin/celery" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "celery[redis]==5.5.3" "kombu==5.5.4" "redis==5.2.1" packaging
fi
cd "$here"
exec "$venv/bin/python" celery_drain.py "$@"
