"""The Celery application of the demo site, configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def add_checkout_schedule(sender: Celery, **kwargs: object) -> None:
    """Add the checkout app's periodic work (outbox relay, sweep, reconciliation).

    Run exactly one beat process. checkout.tasks imports without Django set up.
    """
    from checkout.tasks import CHECKOUT_BEAT_SCHEDULE

    sender.conf.beat_schedule = {**CHECKOUT_BEAT_SCHEDULE, **(sender.conf.beat_schedule or {})}


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender: object = None, **kwargs: object) -> None:
    """Around each task, what Django does around each request: close a database connection
    that failed or outlived ``CONN_MAX_AGE``, keep a healthy one.

    Celery's Django fixup otherwise closes the connection before and after every task
    (unless ``CELERY_DB_REUSE_MAX`` is set, as our settings do), so each task paid for a
    new PostgreSQL session: a connection set up by the worker and a backend process
    started on the server each time. Eager tasks run inside the caller's request
    and transaction and are left alone, as the fixup leaves them.
    """
    from django.db import close_old_connections, connection

    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False) or connection.in_atomic_block:
        return
    close_old_connections()
