"""The Celery application of the demo site, configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery

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
