"""The pure parts of persistence: the state container, its consistency checks, the caps, the keeper's request
validation, the fd-passing message format, /proc parsing and the restore marker."""

from __future__ import annotations

import zlib

import msgspec
import pytest

from dullahan.persist import fdpass, procinfo, state
from dullahan.persist.keeper import Request, RequestError, parse_request
from dullahan.persist.restore import marker
from dullahan.persist.state import (
    BlobWriter,
    PaneCost,
    PaneRecord,
    StateError,
    StateHeader,
    WindowRecord,
    plan_history_cuts,
    screens_to_drop,
)
from dullahan.session import layout


def pane(pane_id: int, **kw: object) -> PaneRecord:
    fields: dict[str, object] = {"pid": 100 + pane_id, "argv": ["bash"], "cwd": "/tmp", "cols": 80, "rows": 24}
    fields.update(kw)
    return PaneRecord(id=pane_id, **fields)  # type: ignore[arg-type]


def window(window_id: int, slots: list[int | None], hidden: list[int] | None = None, tree: object = "pane",
           **kw: object) -> WindowRecord:
    return WindowRecord(id=window_id, layout="custom", tree=tree, slots=slots, hidden=hidden or [],
                        active=slots[0], cols=80, rows=25, **kw)  # type: ignore[arg-type]


def header(windows: list[WindowRecord], panes: list[PaneRecord], **kw: object) -> StateHeader:
    fields: dict[str, object] = {"version": "0.1.0", "ghostty": "0.1.3", "saved_at": 1.0, "port": 7681,
                                 "purpose": "save", "next_pane": 10, "next_window": 10, "active_window": 1}
    fields.update(kw)
    return StateHeader(windows=windows, panes=panes, **fields)  # type: ignore[arg-type]


def two_col() -> tuple[StateHeader, bytes]:
    blobs = BlobWriter()
    screen = blobs.add(zlib.compress(b"GHOSTSNP screen of pane 1"), compressed=True)
    raw = blobs.add(b"raw input", compressed=False)
    tree = state.tree_to_json(layout.parse({"row": ["pane", "pane"], "sizes": [33.333333, 66.666667]}))
    h = header([window(1, [1, 2], tree=tree), window(2, [3], hidden=[4])],
               [pane(1, screen=screen, input=raw), pane(2), pane(3), pane(4, exit=state.ExitRecord(0, None))])
    return h, blobs.join()


# -- the container --------------------------------------------------------------------------------------------
def test_round_trip_keeps_header_and_blobs() -> None:
    h, blobs = two_col()
    decoded = state.decode(state.encode(h, blobs))
    assert decoded.header == h
    assert decoded.blob(h.panes[0].screen) == b"GHOSTSNP screen of pane 1"   # type: ignore[arg-type]
    assert decoded.blob(h.panes[0].input) == b"raw input"                     # type: ignore[arg-type]


def test_layout_sizes_survive_at_full_precision() -> None:
    tree = layout.parse({"column": ["pane", {"row": ["pane", "pane"], "sizes": [1, 2]}], "sizes": [37.77, 62.23]})
    again = layout.parse(state.tree_to_json(tree))
    assert again == tree


def test_every_flipped_byte_is_detected() -> None:
    data = state.encode(*two_col())
    for i in range(0, len(data), max(1, len(data) // 97)):
        damaged = bytearray(data)
        damaged[i] ^= 0x5A
        with pytest.raises(StateError):
            state.decode(bytes(damaged))


@pytest.mark.parametrize("mangle", [
    lambda d: d[:len(d) // 2],
    lambda d: b"",
    lambda d: b"NOTSTATE" + d[8:],
    lambda d: d[:8] + b"\x09\x00" + d[10:],
], ids=["truncated", "empty", "magic", "format"])
def test_unusable_bytes_are_refused(mangle: object) -> None:
    data = state.encode(*two_col())
    with pytest.raises(StateError):
        state.decode(mangle(data))  # type: ignore[operator]


def test_a_header_with_the_right_checksum_but_wrong_schema_is_refused() -> None:
    body = msgspec.json.encode({"version": "x", "surprise": 1})
    import struct
    data = struct.pack("<8sHI", state.MAGIC, state.FORMAT, len(body)) + body
    data += struct.pack("<I", zlib.crc32(data))
    with pytest.raises(StateError, match="header is invalid"):
        state.decode(data)


def test_compressed_blob_that_does_not_inflate_is_an_error() -> None:
    blobs = BlobWriter()
    ref = blobs.add(b"this is not zlib", compressed=True)
    h = header([window(1, [1])], [pane(1, screen=ref)])
    decoded = state.decode(state.encode(h, blobs.join()))
    with pytest.raises(StateError, match="decompress"):
        decoded.blob(ref)


# -- consistency --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("windows", "panes", "extra", "message"), [
    ([window(1, [1])], [pane(1), pane(1)], {}, "repeated"),
    ([window(1, [1]), window(2, [1])], [pane(1)], {}, "another window"),
    ([window(1, [1])], [pane(1), pane(2)], {}, "in no window"),
    ([window(1, [1, 2])], [pane(1), pane(2)], {}, "slots for a layout"),
    ([window(1, [1], tree={"row": ["pane"]})], [pane(1)], {}, "layout"),
    ([window(1, [7])], [pane(1)], {}, "unknown"),
    ([window(1, [1])], [pane(1, cols=0)], {}, "impossible size"),
    ([window(1, [1])], [pane(1, argv=[])], {}, "no command"),
    ([window(1, [1])], [pane(1)], {"next_pane": 1}, "reuse"),
    ([window(1, [1])], [pane(1)], {"active_window": 5}, "active window"),
    ([window(1, [1])], [pane(1, screen=state.BlobRef(0, 10, True))], {}, "outside"),
    ([window(1, [1])], [pane(1, screen=state.BlobRef(0, 0, False), same_screen=True)], {}, "claims to keep"),
], ids=["dup-pane", "two-windows", "orphan", "slots", "bad-tree", "unknown-pane", "size", "argv", "ids",
        "active", "blob-range", "same-screen"])
def test_inconsistent_headers_are_refused(windows: list[WindowRecord], panes: list[PaneRecord],
                                          extra: dict[str, object], message: str) -> None:
    with pytest.raises(StateError, match=message):
        state.decode(state.encode(header(windows, panes, **extra), b""))


# -- caps ---------------------------------------------------------------------------------------------------------
def test_history_cuts_only_when_over_budget_and_proportionally() -> None:
    costs = [PaneCost(1, 600, 6000), PaneCost(2, 400, 1000), PaneCost(3, 100, 0)]
    assert plan_history_cuts(costs, 1100) == {}
    cuts = plan_history_cuts(costs, 550)
    assert set(cuts) == {1, 2}                     # pane 3 has no history to give
    assert cuts[1] < 6000 // 2 and cuts[2] < 1000 // 2
    assert cuts[1] / 6000 == pytest.approx(cuts[2] / 1000, abs=0.01)


def test_screens_are_dropped_largest_first_until_they_fit() -> None:
    costs = [PaneCost(1, 500, 0), PaneCost(2, 300, 0), PaneCost(3, 100, 0)]
    assert screens_to_drop(costs, 1000) == set()
    assert screens_to_drop(costs, 450) == {1}
    assert screens_to_drop(costs, 50) == {1, 2, 3}


# -- keeper requests -----------------------------------------------------------------------------------------
SPAWN = {"op": "spawn", "argv": ["bash", "-l"], "env": {"TERM": "xterm"}, "cwd": "/tmp", "cols": 80, "rows": 24,
         "cell_px": [8, 16]}


def test_valid_requests_parse() -> None:
    assert parse_request({"op": "hello", "protocol": 1}) == Request("hello", protocol=1)
    assert parse_request({"op": "status", "pid": 42}).pid == 42
    spawn = parse_request(SPAWN)
    assert spawn.argv == ("bash", "-l") and spawn.env == {"TERM": "xterm"} and (spawn.cols, spawn.rows) == (80, 24)
    assert spawn.cell_px == (8, 16)
    assert parse_request({"op": "shutdown"}).op == "shutdown"


@pytest.mark.parametrize("bad", [
    {"op": "explode"},
    {"op": 3},
    {},
    {"op": "status"},
    {"op": "status", "pid": "12"},
    {"op": "status", "pid": True},
    {"op": "status", "pid": -1},
    {"op": "status", "pid": 1, "extra": 0},
    {**SPAWN, "argv": []},
    {**SPAWN, "argv": "bash"},
    {**SPAWN, "argv": ["", "x"]},
    {**SPAWN, "argv": ["ba\0sh"]},
    {**SPAWN, "argv": [1]},
    {**SPAWN, "env": {"A=B": "c"}},
    {**SPAWN, "env": {"A": 1}},
    {**SPAWN, "env": []},
    {**SPAWN, "cwd": ""},
    {**SPAWN, "cols": 0},
    {**SPAWN, "rows": 1001},
    {**SPAWN, "argv": ["x"] * 1000},
    {**SPAWN, "cell_px": [8]},
    {**SPAWN, "cell_px": [8, -1]},
    {**SPAWN, "cell_px": "8x16"},
], ids=lambda b: str(b)[:40])
def test_invalid_requests_are_refused_with_a_reason(bad: dict[str, object]) -> None:
    with pytest.raises(RequestError) as e:
        parse_request(bad)
    assert str(e.value)


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[1, 2]", b"not json", b"{" * 100_000, b'"string"'],
                         ids=["empty", "utf8", "array", "text", "deep", "string"])
def test_message_decoding_refuses_what_is_not_an_object(data: bytes) -> None:
    with pytest.raises(fdpass.MessageError):
        fdpass.decode(data)


def test_message_size_is_capped() -> None:
    with pytest.raises(fdpass.MessageError):
        fdpass.encode({"x": "y" * fdpass.MAX_MESSAGE})
    assert fdpass.decode(fdpass.encode({"op": "hello", "é": "ü"})) == {"op": "hello", "é": "ü"}


# -- /proc and OSC 7 -----------------------------------------------------------------------------------------
def test_cmdline_and_osc7_parsing() -> None:
    assert procinfo.parse_cmdline(b"vim\0notes.txt\0") == ["vim", "notes.txt"]
    assert procinfo.parse_cmdline(b"\0") == []
    assert procinfo.parse_cmdline(b"sh\0-c\0echo a\0\0") == ["sh", "-c", "echo a", ""]
    assert procinfo.cwd_from_osc7("file://host/home/me/my%20dir") == "/home/me/my dir"
    assert procinfo.cwd_from_osc7("/srv/x") == "/srv/x"
    assert procinfo.cwd_from_osc7("relative") is None
    assert procinfo.cwd_from_osc7("") is None


def test_marker_names_the_time_and_the_command_safely() -> None:
    text = marker(0.0, ["make", "test", "a b", "evil\x1b[2J"], 7).decode()
    assert "restored after restart at" in text and "the previous process has ended" in text
    assert "previous command: make test 'a b'" in text and "dullahan rerun 7" in text
    assert "\x1b[2J" not in text                     # the command's own escapes are neutralised
    assert "previous command" not in marker(0.0, None, 1).decode()
    assert len(marker(0.0, ["x" * 5000], 1)) < 1000
