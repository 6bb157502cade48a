"""Rows on the wire: content-keyed ids, payload encoding and compact id lists.

A row's id stands for its *content* (``term.screen.Row``): the ``RowInterner`` hands out a new id the
first time some content is seen and the same id whenever that content shows up again (on another pane,
after scrolling, after the alternate screen returns). Ids are never reused during a server's life, so a
client that holds an id holds exactly that content; Ghostty's own row ids cannot promise this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from dullahan.shapes import Row

DEFAULT_INTERNER_CAPACITY = 32_768


class RowInterner:
    """Content -> id, remembering the most recently used ``capacity`` rows (older ones get new ids)."""

    def __init__(self, capacity: int = DEFAULT_INTERNER_CAPACITY) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[Row, int] = OrderedDict()
        self._next = 1

    def intern(self, row: Row) -> int:
        ids = self._ids
        rid = ids.get(row)
        if rid is None:
            rid = self._next
            self._next += 1
            ids[row] = rid
            if len(ids) > self.capacity:
                ids.popitem(last=False)
        else:
            ids.move_to_end(row)
        return rid

    def clear(self) -> None:
        """Forget every row (ids are still never reused: the counter goes on)."""
        self._ids.clear()

    def __len__(self) -> int:
        return len(self._ids)


def encode_row(row: Row) -> list[Any]:
    """``[text, runs, cells, links, wrapped]`` with empty trailing parts left off: ``["hello"]``."""
    text, runs, cells, links, wrapped = row
    out: list[Any] = [text, list(runs), list(cells), [list(link) for link in links], 1 if wrapped else 0]
    while len(out) > 1 and not out[-1]:
        out.pop()
    return out


def decode_row(payload: Sequence[Any]) -> Row:
    """Inverse of ``encode_row`` (used by the reference client)."""
    text = payload[0] if payload else ""
    runs = tuple(payload[1]) if len(payload) > 1 else ()
    cells = tuple(payload[2]) if len(payload) > 2 else ()
    links = tuple((int(a), int(b), str(c)) for a, b, c in payload[3]) if len(payload) > 3 else ()
    wrapped = bool(payload[4]) if len(payload) > 4 else False
    return (text, runs, cells, links, wrapped)


def pack_ids(ids: Sequence[int]) -> list[Any]:
    """Compress an id list: runs of consecutive ids become ``[first, n]``, repeats ``[id, n, 0]``."""
    out: list[Any] = []
    i, n = 0, len(ids)
    while i < n:
        first = ids[i]
        j = i + 1
        if j < n and ids[j] == first:
            while j < n and ids[j] == first:
                j += 1
            out.append([first, j - i, 0])
        elif j < n and ids[j] == first + 1:
            while j < n and ids[j] == ids[j - 1] + 1:
                j += 1
            out.append([first, j - i])
        else:
            out.append(first)
        i = j
    return out


def unpack_ids(packed: Sequence[Any]) -> list[int]:
    out: list[int] = []
    for item in packed:
        if isinstance(item, int):
            out.append(item)
        elif len(item) == 2:
            out.extend(range(item[0], item[0] + item[1]))
        else:
            out.extend([item[0]] * item[1])
    return out
