"""spectra-checkout: a reusable Django checkout for the Spectra commerce API."""

__version__ = "0.1.0"
