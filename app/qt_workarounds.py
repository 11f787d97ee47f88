"""Work-arounds for bugs in the Qt bindings, each applied only where the bug exists.

PySide6 6.12.0, CPython before 3.12: wrapped functions return ``None``, ``True`` or ``False``
without taking a new reference. ``SignalInstance.emit()`` returns ``True`` that way, and every
void C++ method (``QLabel.setText``, ``QTimer.start``...) returns ``None`` that way, so each call
whose result is dropped takes one reference from the singleton. pyqtgraph makes thousands of such
calls per redraw; after some 10^5 the count reaches zero and the interpreter aborts with
"none_dealloc: deallocating None" or "bool_dealloc" (seen here at the end of a test run; an
editing session would hit it within minutes of scrolling). PySide6 6.11.3 does not have the bug;
CPython 3.12+ makes these objects immortal, so nothing can happen there. The work-around gives
``None``, ``True`` and ``False`` a reference count no session can exhaust, which is what 3.12 does
for them anyway. The better fix is not to install 6.12.0 (``PySide6-Essentials!=6.12.0``).
"""
from __future__ import annotations

import sys

#: Leaked references one session could afford (~1000 per second for 30 years).
_SPARE_REFERENCES = 1 << 40


def _affected() -> bool:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    try:
        import PySide6
    except ImportError:
        return False
    return PySide6.__version__ == "6.12.0"


def protect_singletons() -> bool:
    """Apply the work-around if this interpreter and PySide6 need it; True if applied.

    Call it before any Qt object exists (importing :mod:`app` does).
    """
    if not _affected():
        return False
    import ctypes

    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Py_ssize_t).
        ctypes.c_ssize_t.from_address(id(singleton)).value += _SPARE_REFERENCES
    return True
