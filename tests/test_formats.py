"""tmux formats for display-message (pure)."""

from __future__ import annotations

import pytest

from dullahan.formats import MAX_FORMAT_CHARS, FormatError, expand

VALUES = {"pane_id": "%3", "window_id": "@1", "window_name": "build", "pane_title": "vim a,b}", "pane_dead": "0",
          "pane_index": "2", "session_name": "dullahan-7681", "window_zoomed_flag": "1", "empty": ""}


@pytest.mark.parametrize(("fmt", "expected"), [
    ("#{pane_id}", "%3"),
    ("pane #{pane_id} in #{window_id}: #{window_name}", "pane %3 in @1: build"),
    ("[#{no_such_variable}]", "[]"),
    ("#{pane_title}", "vim a,b}"),               # values are never expanded again
    ("#D #P #T #W #S", "%3 2 vim a,b} build dullahan-7681"),
    ("100## done, #{pane_id}##", "100# done, %3#"),
    ("#{?pane_dead,dead,alive}", "alive"),
    ("#{?window_zoomed_flag,Z,}", "Z"),
    ("#{?empty,yes,no}", "no"),
    ("#{?missing,yes,no}", "no"),
    ("#{?window_zoomed_flag,#{pane_id} zoomed,-}", "%3 zoomed"),
    ("#{?window_zoomed_flag,a#,b,c}", "a,b"),     # an escaped comma stays in its branch
    ("#{?pane_dead,x,#{?window_zoomed_flag,nested,no}}", "nested"),
    ("#{pane_id", "#{pane_id"),                  # unclosed: kept as written
    ("#x #", "#x #"),
    ("", ""),
    ("no formats at all", "no formats at all"),
])
def test_expand(fmt: str, expected: str) -> None:
    assert expand(fmt, VALUES) == expected


def test_limits() -> None:
    with pytest.raises(FormatError, match="at most"):
        expand("x" * (MAX_FORMAT_CHARS + 1), VALUES)
    deep = "#{?pane_index," * 20 + "y" + "}" * 20
    with pytest.raises(FormatError, match="nest"):
        expand(deep, VALUES)
    assert expand("#{?pane_index," * 5 + "y" + "}" * 5, VALUES) == "y"
