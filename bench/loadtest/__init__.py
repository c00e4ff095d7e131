"""The sale-day rush: ``make loadtest`` (``python -m bench.loadtest``).

Locust's virtual shoppers walk storefront -> cart -> information -> shipping -> payment
-> pay -> place against the demo site on the production server (gunicorn with
``config/gunicorn.conf.py``, ``bench.settings`` over plain http, PostgreSQL, Redis, a
Celery worker and beat), the Spectra sandbox answering in 150 ms and localstripe.
``stack`` starts and stops it, ``shopper`` is the Locust user (run in a child process,
so gevent's monkey-patching never reaches the orchestrator), ``report`` turns the
recorded requests and the servers' ledgers into figures, ``plot`` draws them.
docs/performance.md ("A sale-day rush") has the method and the latest figures.
"""
