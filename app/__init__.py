"""Isolde's desktop editor: Qt views that observe a :class:`core.document.session.Session`.

Nothing here computes anything that takes longer than a frame; long work runs as
:class:`app.workers.JobThread` around the session's generators.
"""
from .qt_workarounds import protect_singletons

protect_singletons()  # before any signal is emitted; see qt_workarounds
