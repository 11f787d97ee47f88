"""Isolde's engine, in layers that import only downwards (see ``docs/architecture.md``).

:mod:`core.audio` (song files, STFT, envelopes) < :mod:`core.music` (F0 grid, beats, MIDI) <
:mod:`core.separation` (networks, separation, corrections, Update DNN) < :mod:`core.document`
(the editor's session) and :mod:`core.training` (datasets, train, evaluate, simulate); the
``isolde`` command line in :mod:`core.cli`.

This package never imports Qt; the editor in ``app`` is one client of it, the ``isolde`` CLI another.
"""

__version__ = "0.1.0"
