"""The checkout benchmark: every figure is a ratio against a hello view in the same run.

``python -m bench.run`` (``make bench``) starts the demo stack on PostgreSQL and Redis
with production settings (``bench.settings``) under gunicorn, a fast stub of Spectra and
Stripe (``bench.stubs``), measures each target against a hello floor measured just
before it, and writes ``bench/results/latest.json``. See docs/performance.md.
"""
