"""Bounded in-memory histories: per-iteration and per-epoch records that never outgrow a fixed size.

A run of many hours appends a record per report; keeping them all grows memory without bound (1.6 MB
a minute in a 16-minute run). :class:`BoundedHistory` keeps at most ``capacity`` records spread evenly
over the whole run: every ``stride``-th record is kept, and when the list is full the stride doubles and
every other kept record goes. The newest record is always held (``history[-1]`` is the latest), so
charts and reporters see the present at once and the whole past at an even, coarser resolution.
"""

from __future__ import annotations

__all__ = ["BoundedHistory", "ITERATION_CAPACITY", "EPOCH_CAPACITY"]

ITERATION_CAPACITY = 4096
EPOCH_CAPACITY = 2048


class BoundedHistory(list):
    """A list of at most ``capacity`` records, evenly downsampled over everything appended.

    Parameters
    ----------
    records : iterable, optional
        Initial records, appended in order.
    capacity : int
        The most records held (>= 4).

    Attributes
    ----------
    stride : int
        One record in ``stride`` is kept (1 until the first downsampling), plus the newest.

    Notes
    -----
    Only :meth:`append` and :meth:`extend` enforce the bound (the ways the engine adds records);
    the list is otherwise a plain list (JSON, slicing, ``[-1]``).
    """

    def __init__(self, records=(), capacity: int = ITERATION_CAPACITY):
        super().__init__()
        if int(capacity) < 4:
            raise ValueError(
                f"Invalid value for `capacity`. Expected an integer >= 4. Received: {capacity!r}"
            )
        self.capacity = int(capacity)
        self.stride = 1
        self._seen = 0  # records appended so far
        self._index: list[int] = []  # the append number of each record held
        self.extend(records)

    def append(self, record) -> None:
        n, self._seen = self._seen, self._seen + 1
        if self._index and self._index[-1] % self.stride:  # the previous newest was off the stride
            super().pop()
            self._index.pop()
        super().append(record)
        self._index.append(n)
        if len(self) > self.capacity:
            self.stride *= 2
            last = len(self) - 1
            keep = [i for i, k in enumerate(self._index) if k % self.stride == 0 or i == last]
            self[:] = [self[i] for i in keep]
            self._index = [self._index[i] for i in keep]

    @property
    def seen(self) -> int:
        """How many records were appended in all (held or dropped)."""
        return self._seen

    def layout(self) -> list[int]:
        """``[seen, stride]``: with the records held, all an exact copy needs (checkpoints keep it)."""
        return [self._seen, self.stride]

    @classmethod
    def restored(cls, records, capacity: int, layout=None) -> BoundedHistory:
        """The history a checkpoint saved: ``records`` as held after ``layout`` = ``[seen, stride]``
        (see :meth:`layout`), so that later appends keep and drop exactly what the uninterrupted run
        does. Without a layout that describes ``records`` (a checkpoint older than it), the records are
        appended anew, as they were before layouts were saved."""
        records = list(records)
        if layout is not None:
            seen, stride = (int(v) for v in layout)
            index = list(range(0, seen, stride))  # held: every stride-th record, and the newest
            if seen and (seen - 1) % stride:
                index.append(seen - 1)
            if len(index) == len(records) and len(records) <= int(capacity):
                history = cls(capacity=capacity)
                list.extend(history, records)
                history._index, history.stride, history._seen = index, stride, seen
                return history
        return cls(records, capacity)

    def extend(self, records) -> None:
        for record in records:
            self.append(record)

    def clear(self) -> None:
        super().clear()
        self._index.clear()
        self.stride, self._seen = 1, 0
