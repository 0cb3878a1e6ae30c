"""Celery 5 + Redis side of the delivery benchmark (`cargo bench -p herald-tests --bench
delivery`, see BENCHMARKS.md, *Delivery*): one measurement per call, driven by that bench,
against ITS webhook receiver and SMTP sink (the same ones Herald delivers to, in the
same run). Uses Redis database 15 on REDIS_URL and empties only that database.

One call: start the Celery worker processes in the chosen configuration, wait until
every process has run a ready task, then enqueue N tasks one by one (`apply_async`;
Celery has no batch enqueue), each carrying its enqueue time (epoch microseconds) in
the request (webhook body / e-mail Subject), and wait until the bench's receiver or
sink has counted N deliveries. Prints one JSON line: the worker processes' CPU seconds
(utime + stime of every worker process and its pool children, from /proc) over the
enqueue-to-last-delivery window, and the enqueue time. Deliveries/s and latency are
computed by the bench from the receiver's timestamps, as for Herald.

Webhooks: a `requests.Session` per worker process (its connection pool sized to the
concurrency). E-mail: `smtplib`, either one connection per task (`--smtp per-task`) or
one kept per process (per thread in the threads pool, per greenlet in the gevent pool,
whose monkey-patching makes `threading.local` greenlet-local; `--smtp reuse`),
reconnecting once when the relay has closed it. The gevent pool (`-P gevent`, what
Celery recommends for I/O-bound tasks) needs the `gevent` package (`run.sh setup`
installs it).
"""

import argparse
import json
import os
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from email.message import EmailMessage

import redis
from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = "herald-delivery-bench"

app = Celery("celery_delivery", broker=REDIS_URL)
app.conf.update(
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    # Ack on receipt (Celery's default, the fastest) and the default prefetch unless
    # the bench asks otherwise.
    task_acks_late=False,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_PREFETCH", "4")),
)

_process = {"pid": None, "session": None}
_local = threading.local()


def http_session():
    """One requests.Session per worker process (re-made after a fork)."""
    import requests

    if _process["pid"] != os.getpid():
        s = requests.Session()
        size = int(os.environ.get("BENCH_CONCURRENCY", "10"))
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(size, 1))
        s.mount("http://", adapter)
        _process.update(pid=os.getpid(), session=s)
    return _process["session"]


@app.task(name="ready")
def ready():
    redis.Redis.from_url(REDIS_URL).incr("bench:ready")


@app.task(name="webhook")
def webhook(url, enqueued_us, n):
    r = http_session().post(
        url,
        json={"enqueued_at": enqueued_us},
        headers={"webhook-id": f"celery-{n}"},
        timeout=10,
    )
    r.raise_for_status()


def message(to, enqueued_us, n):
    msg = EmailMessage()
    msg["From"] = "Bench <bench@example.com>"
    msg["To"] = to
    msg["Subject"] = f"bench {enqueued_us}"
    msg["Message-ID"] = f"<celery-{n}@bench.example>"
    msg.set_content(f"Delivery benchmark message {n}.\n")
    return msg


def smtp_connection(host, port):
    conn = getattr(_local, "smtp", None)
    if conn is None or getattr(_local, "pid", None) != os.getpid():
        conn = smtplib.SMTP(host, port, timeout=30)
        _local.smtp, _local.pid = conn, os.getpid()
    return conn


@app.task(name="email")
def email(host, port, to, enqueued_us, n, reuse):
    msg = message(to, enqueued_us, n)
    if not reuse:
        with smtplib.SMTP(host, port, timeout=30) as conn:
            conn.send_message(msg)
        return
    try:
        smtp_connection(host, port).send_message(msg)
    except smtplib.SMTPServerDisconnected:
        _local.smtp = None
        smtp_connection(host, port).send_message(msg)


def descendants(pid):
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    out.extend(descendants(int(child)))
    except OSError:
        pass
    return out


def cpu_seconds(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in pids:
        for pid in descendants(root):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
    return total / ticks


def count(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return int(r.read())


def wait_until(done, seconds, failure):
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"celery_delivery: {failure} within {seconds} s")
        time.sleep(0.02)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=["webhook", "email"], required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--url", help="webhook endpoint")
    p.add_argument("--smtp-host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int)
    p.add_argument("--smtp", choices=["per-task", "reuse"], default="per-task")
    p.add_argument("--pool", choices=["prefork", "threads", "solo", "gevent"], default="prefork")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--count-url", required=True, help="GET: deliveries counted so far")
    p.add_argument("--timeout", type=int, default=600)
    a = p.parse_args()

    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, BENCH_CONCURRENCY=str(a.concurrency))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_delivery", "worker", "-Q", QUEUE,
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING", "-n", f"delivery{i}@%h", "-P", a.pool,
             "--concurrency", str(a.concurrency)],
            cwd=here, env=env, stdout=subprocess.DEVNULL,
        )
        for i in range(a.processes)
    ]
    try:
        for _ in range(a.processes * max(a.concurrency, 1)):
            ready.apply_async(queue=QUEUE)
        wait_until(lambda: int(r.get("bench:ready") or 0) >= a.processes * max(a.concurrency, 1),
                   120, "the celery workers did not start")
        time.sleep(0.5)
        base = count(a.count_url)
        cpu0 = cpu_seconds([p.pid for p in procs])
        started = time.monotonic()
        for n in range(a.n):
            enqueued_us = time.time_ns() // 1000
            if a.kind == "webhook":
                webhook.apply_async((a.url, enqueued_us, n), queue=QUEUE)
            else:
                email.apply_async((a.smtp_host, a.smtp_port, f"user{n}@example.com",
                                   enqueued_us, n, a.smtp == "reuse"), queue=QUEUE)
        enqueue_secs = time.monotonic() - started
        wait_until(lambda: count(a.count_url) - base >= a.n, a.timeout,
                   f"{a.n} deliveries did not arrive")
        cpu = cpu_seconds([p.pid for p in procs]) - cpu0
        print(json.dumps({"cpu_secs": cpu, "enqueue_secs": enqueue_secs}))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        r.flushdb()


if __name__ == "__main__":
    main()
