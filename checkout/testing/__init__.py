"""The merchant test kit: the Spectra sandbox, server launchers, pytest fixtures, signing.

Nothing heavy is imported here; import the submodule you need
(``checkout.testing.servers``, ``checkout.testing.signing``, ...). The sandbox itself
(``python -m checkout.testing.sandbox``) needs neither Django nor its settings.
"""
