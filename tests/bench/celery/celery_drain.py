"""Celery 5 + Redis reference for BENCHMARKS.md: the issue's "best Celery + Redis"
configurations measured on this machine, so the 8x target has a same-machine baseline.

Not part of `cargo bench` (it needs Python and Celery); run it with `run.sh` next to this
file, which makes a virtualenv with the pinned Celery. Uses Redis database 15 on
REDIS_URL (default redis://127.0.0.1:6379/15) and empties only that database.

Per round and configuration: N no-op tasks are enqueued one by one (`apply_async`, the
enqueue rate), then the workers start; drain rate = N / (time the queue became empty -
time it first shrank), polled every 5 ms, so worker start-up is not counted. Tasks a
worker has prefetched but not yet run when the queue empties (at most 4 per process
slot, Celery's default prefetch) are a < 0.2 % error at 20,000 jobs.
"""

import os
import signal
import statistics
import subprocess
import sys
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = "herald-bench"

app = Celery("celery_drain", broker=REDIS_URL)
app.conf.update(task_ignore_result=True, worker_hijack_root_logger=False)


@app.task(name="noop")
def noop():
    return None


CONFIGS = {
    "1 prefork worker, concurrency 2": [["-P", "prefork", "--concurrency", "2"]],
    "2 solo workers": [["-P", "solo"], ["-P", "solo"]],
    "4 solo workers": [["-P", "solo"]] * 4,
}


def enqueue(n):
    started = time.monotonic()
    for _ in range(n):
        noop.apply_async(queue=QUEUE)
    return n / (time.monotonic() - started)


def drain(r, n, workers):
    here = os.path.dirname(os.path.abspath(__file__))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_drain", "worker", "-Q", QUEUE,
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING", "-n", f"bench{i}@%h", *args],
            cwd=here,
            stdout=subprocess.DEVNULL,
        )
        for i, args in enumerate(workers)
    ]
    try:
        wait_until(lambda: r.llen(QUEUE) < n, 120, "no celery worker started consuming")
        first = time.monotonic()
        wait_until(lambda: r.llen(QUEUE) == 0, 600, "celery did not drain the queue")
        return n / (time.monotonic() - first)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_until(done, seconds, failure):
    """Polls `done` every 5 ms; exits with `failure` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"{failure} within {seconds} s")
        time.sleep(0.005)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    r = redis.Redis.from_url(REDIS_URL)
    rates = {name: [] for name in CONFIGS}
    enqueues = []
    for rnd in range(1, rounds + 1):
        for name, workers in CONFIGS.items():
            r.flushdb()
            enqueues.append(enqueue(n))
            rates[name].append(drain(r, n, workers))
            print(f"round {rnd}: {name}: {rates[name][-1]:.0f} jobs/s", file=sys.stderr)
    print(f"\n| Celery 5 + Redis, {n} no-op tasks | jobs/s (median) | each run |")
    print("|---|---:|---|")
    print(f"| enqueue one by one (apply_async) | {statistics.median(enqueues):.0f} | "
          + " / ".join(f"{e:.0f}" for e in enqueues) + " |")
    for name, values in rates.items():
        print(f"| drain: {name} | {statistics.median(values):.0f} | "
              + " / ".join(f"{v:.0f}" for v in values) + " |")
    r.flushdb()


if __name__ == "__main__":
    main()
