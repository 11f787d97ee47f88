"""Undo/redo over immutable snapshots (here: :class:`~core.separation.corrections.Corrections`).

Because a snapshot is never mutated, undo is just stepping back to an older object. A gesture that
edits continuously (dragging the pen) passes the same ``key`` on every step: each step then
replaces the top entry instead of adding one, so one drag is one undo step.
"""
from __future__ import annotations

from typing import Generic, Hashable, TypeVar

T = TypeVar("T")

#: Oldest snapshots are dropped beyond this many (a snapshot of a fully corrected 5-minute song
#: is about 0.5 MB, so this bounds the history to a few hundred MB at worst).
MAX_ENTRIES = 500


class History(Generic[T]):
    """A linear history of snapshots with a current position."""

    def __init__(self, initial: T, *, max_entries: int = MAX_ENTRIES) -> None:
        self._states: list[T] = [initial]
        self._keys: list[Hashable | None] = [None]
        self._index = 0
        self._max = max(int(max_entries), 2)

    @property
    def current(self) -> T:
        return self._states[self._index]

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._states) - 1

    def base_for(self, key: Hashable | None) -> T:
        """The state an edit with ``key`` applies to: the one before the same gesture began."""
        if key is not None and self._index > 0 and self._keys[self._index] == key:
            return self._states[self._index - 1]
        return self.current

    def push(self, state: T, key: Hashable | None = None) -> None:
        """Make ``state`` current; drops the redo branch. Same ``key`` as the top: replace it."""
        del self._states[self._index + 1:]
        del self._keys[self._index + 1:]
        if key is not None and self._index > 0 and self._keys[self._index] == key:
            self._states[self._index] = state
            return
        self._states.append(state)
        self._keys.append(key)
        self._index += 1
        if len(self._states) > self._max:
            drop = len(self._states) - self._max
            del self._states[:drop]
            del self._keys[:drop]
            self._index -= drop

    def undo(self) -> T:
        if self.can_undo:
            self._index -= 1
            self._keys[self._index + 1] = None  # a later step of that gesture starts anew
        return self.current

    def redo(self) -> T:
        if self.can_redo:
            self._index += 1
        return self.current

    def reset(self, state: T) -> None:
        """Forget everything; ``state`` becomes the only entry."""
        self._states, self._keys, self._index = [state], [None], 0
