"""The floor for a server that keeps terminal state: Ghostty alone parsing figure 1's output from memory.

    python -m bench.ghostty_parse LINES [COLS ROWS SCROLLBACK]

Builds exactly the bytes ``seq 1 LINES`` puts through the PTY (CR LF line ends), makes a terminal the way a
Dullahan pane does (``term.ghostty.new_terminal``: the same size, scrollback cap and modes), and feeds it in
64 KiB chunks: once straight into ``ghostty_terminal_vt_write``, once through ``VTerm.feed`` (what a pane
calls: the watched-sequence scan and the side-effect bookkeeping around Ghostty). Prints one JSON line with
the CPU seconds of each (this process's user + system time around the feeding only).
"""

from __future__ import annotations

import json
import resource
import sys

CHUNK = 64 * 1024


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def seq_output(lines: int) -> bytes:
    return b"".join(b"%d\r\n" % i for i in range(1, lines + 1))


def main(argv: list[str]) -> int:
    lines = int(argv[0])
    cols, rows, scrollback = (int(v) for v in argv[1:4]) if len(argv) >= 4 else (120, 40, 10_000)
    from dullahan.term.ghostty import lib, new_terminal
    from dullahan.term.vt import DEFAULT_BG, DEFAULT_FG, VTerm
    data = seq_output(lines)
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    term = new_terminal(cols, rows, scrollback, DEFAULT_FG, DEFAULT_BG)
    t = term._t[0]
    c0 = cpu()
    for chunk in chunks:
        lib.ghostty_terminal_vt_write(t, chunk, len(chunk))
    ghostty = cpu() - c0
    term.close()
    vt = VTerm(cols, rows, scrollback)
    c0 = cpu()
    for chunk in chunks:
        vt.feed(chunk)
    vterm = cpu() - c0
    vt.close()
    print(json.dumps({"bytes": len(data), "ghostty_cpu": ghostty, "vterm_cpu": vterm}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
