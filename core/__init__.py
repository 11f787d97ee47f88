"""Isolde's engine: audio, spectra, pitch, beats, models, separation, adaptation, training.

This package never imports Qt; the editor in ``app`` is one client of it, the ``isolde`` CLI another.
"""

__version__ = "0.1.0"
