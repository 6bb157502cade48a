"""Ghostty's snapshot encoder and decoder: a terminal's exact state as bytes, and back.

A snapshot (libghostty-vt's ``GHOSTSNP`` record stream, CRC-protected) carries text, scrollback, cursor,
modes, palette, title, pwd, kitty keyboard flags, scroll region and any unfinished escape sequence, provided
continuation tracking was on before that input arrived (``ghostty.new_terminal`` turns it on for every
terminal). History pages follow the READY marker newest first, which is what lets ``decode`` keep only the
most recent rows without decoding the rest.

Not in a snapshot: kitty images, the callbacks and the options a terminal was created with beyond its
scrollback caps and colours (``VTerm`` sets them again on a decoded terminal).

Nothing here is thread-safe for one terminal: the caller holds the pane's lock while encoding a live one.
Decoding creates a new terminal and may run on any thread.
"""

from __future__ import annotations

import weakref

from dullahan.term.ghostty import CONTINUATION_MAX_BYTES, Terminal, ffi, get, lib


class SnapshotError(Exception):
    """A terminal could not be encoded, or bytes are not a decodable snapshot."""


def encode(term: Terminal) -> bytes:
    """The terminal's complete snapshot. Fails (SnapshotError) only while an escape sequence longer than the
    continuation limit is unfinished."""
    t = term._t[0]
    size = ffi.new("size_t*")
    lib.ghostty_snapshot_encode_buf(t, ffi.NULL, 0, size)
    buf = ffi.new("uint8_t[]", max(size[0], 1))
    result = lib.ghostty_snapshot_encode_buf(t, buf, len(buf), size)
    if result != 0:
        raise SnapshotError(f"the terminal cannot be encoded (libghostty-vt error {result}); an unfinished escape "
                            f"sequence is probably longer than {CONTINUATION_MAX_BYTES} bytes")
    return bytes(ffi.buffer(buf, size[0]))


def adopt(handle: object) -> Terminal:
    """Wrap a raw ``GhosttyTerminal*`` (which we now own) in pyghostty's ``Terminal``."""
    term: Terminal = Terminal.__new__(Terminal)
    term._t = handle
    term._unknown_cb = term._reply_cb = term._cb_err = None
    term._free = weakref.finalize(term, lib.ghostty_terminal_free, handle[0])  # type: ignore[index]
    return term


def decode(blob: bytes, max_history_rows: int | None = None) -> Terminal:
    """A new terminal from a snapshot. With ``max_history_rows``, history pages stop being restored once that
    many rows are there (whole pages: a few hundred rows more may come along; ``trim`` cuts exactly)."""
    if not blob.startswith(b"GHOSTSNP"):
        raise SnapshotError("not a Ghostty snapshot (bad magic)")
    decoder = ffi.new("GhosttySnapshotDecoder*")
    source = ffi.from_buffer(blob)
    _check(lib.ghostty_snapshot_decoder_new_buf(ffi.NULL, decoder, source, len(blob)), "open")
    handle = ffi.new("GhosttyTerminal*")
    try:
        # Keep continuation tracking on the restored terminal, so that it can be snapshotted mid-escape again.
        _check(lib.ghostty_snapshot_decoder_set(decoder[0], lib.GHOSTTY_SNAPSHOT_DECODER_OPT_MAX_CONTINUATION_BYTES,
                                                ffi.new("size_t*", CONTINUATION_MAX_BYTES)), "set continuation limit")
        _check(lib.ghostty_snapshot_decoder_set(decoder[0], lib.GHOSTTY_SNAPSHOT_DECODER_OPT_RETAIN_CONTINUATION,
                                                ffi.new("bool*", True)), "retain continuation")
        if max_history_rows is None:
            _check(lib.ghostty_snapshot_decoder_decode(decoder[0], handle), "decode")
            return adopt(handle)
        _check(lib.ghostty_snapshot_decoder_ready(decoder[0], handle), "decode")
        term = adopt(handle)
        while history_rows(term) < max_history_rows:
            result = lib.ghostty_snapshot_decoder_next(decoder[0])
            if result == lib.GHOSTTY_NO_VALUE:
                break
            _check(result, "decode history")
        return term
    finally:
        lib.ghostty_snapshot_decoder_free(decoder[0])


def trim(blob: bytes, max_history_rows: int) -> tuple[bytes, int]:
    """The snapshot with its newest ``max_history_rows`` rows of history, and how many it keeps: whole
    history pages, so up to a page (a few hundred rows) more than asked for, never fewer than there are."""
    term = decode(blob, max_history_rows)
    try:
        return encode(term), history_rows(term)
    finally:
        term.close()


def history_rows(term: Terminal) -> int:
    return int(get(term, "SCROLLBACK_ROWS", "size_t"))


def _check(result: int, what: str) -> None:
    if result != 0:
        raise SnapshotError(f"snapshot {what} failed (libghostty-vt error {result}): damaged or incompatible data")
