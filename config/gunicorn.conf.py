"""The production web server: gunicorn with threaded workers (``gthread``).

``gunicorn -c config/gunicorn.conf.py config.wsgi:application`` with
``DJANGO_SETTINGS_MODULE=config.settings.production``.

A checkout request spends most of its time waiting on Spectra and Stripe (150-300 ms an
answer), not on the CPU. A sync worker waits with it, one request at a time; a thread
costs little while it waits, so each worker serves ``GUNICORN_THREADS`` requests at once
and the CPU, not the API's latency, sets the box's capacity. The threads of a worker
share one database connection pool (``DATABASE_POOL``, production's default) and the
Spectra and Stripe clients. Figures: docs/performance.md ("Latency"); sizing:
docs/install.md ("Deployment").
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core: the threads cover the waiting; the processes cover the CPU (the
# GIL lets one thread of a process run Python at a time).
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Keep-alive connections each hold a thread's slot in gthread's poller, not a thread.
keepalive = 5
# Connections queued in the kernel while every thread is busy.
backlog = 2048
# Above the longest request: POST /orders may take CHECKOUT_SPECTRA_ORDER_TIMEOUT (30 s).
timeout = 60
graceful_timeout = 30
# Recycle workers now and then, staggered, so no slow leak lives for ever.
max_requests = 20_000
max_requests_jitter = 2_000
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
