"""Kitty graphics through real Ghostty terminals: transmission (direct, chunked, file, temporary file, shared
memory), placement, unicode placeholders, deletion, reset and clear, limits and their error replies, query
truthfulness, capture, and real programs (chafa, timg) in real panes."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import io
import json
import shutil
import struct
import tempfile
import termios
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from dullahan.config import ConfigError, Settings
from dullahan.images.model import PLACEHOLDER, PLACEHOLDER_DIACRITICS, ImageConfig, strip_placeholders
from dullahan.log import log
from dullahan.session.pane import Pane
from dullahan.session.session import Session
from dullahan.shapes import PaneImages, PaneView, Placement, StyleTable, WireImage
from dullahan.term.ansi import styled_text
from dullahan.term.image_reader import ImageReader
from dullahan.term.images import storage_limit
from dullahan.term.screen import ScreenReader
from dullahan.term.view import read_view
from dullahan.term.vt import TermEffects, VTerm
from dullahan.wire.images import image_message, parse_image_message
from helpers import StartServer, async_wait_for, capture_until, run, wait_for
from wsclient import Client

RED, GREEN, BLUE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)


class Term:
    """A VTerm with its readers; ``images()`` reads the screen like a pane does."""

    def __init__(self, cols: int = 40, rows: int = 12, config: ImageConfig | None = None) -> None:
        self.vt = VTerm(cols, rows, 1000, config)
        self.styles = StyleTable()
        self.screen = ScreenReader(self.vt, self.styles)
        self.reader = ImageReader(self.vt, self.styles)
        self.view: PaneView | None = None
        self.seq = 0
        self.effects = TermEffects()

    def feed(self, data: str | bytes) -> list[bytes]:
        """Feed, and return the replies the terminal sent the program (all effects: ``self.effects``)."""
        self.vt.feed(data.encode() if isinstance(data, str) else data)
        self.effects = self.vt.take_effects()
        return self.effects.replies

    def read(self) -> PaneView:
        self.seq += 1
        self.view = read_view(self.vt, self.screen, self.view, self.seq, images=self.reader)
        return self.view

    def images(self) -> PaneImages:
        images = self.read().images
        assert images is not None
        return images

    def close(self) -> None:
        self.reader.close()
        self.screen.close()
        self.vt.close()


@pytest.fixture
def term() -> Iterator[Term]:
    t = Term()
    yield t
    t.close()


def png(width: int, height: int, color: tuple[int, int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def apc(control: str, payload: bytes = b"") -> str:
    return f"\x1b_G{control};{b64(payload)}\x1b\\" if payload else f"\x1b_G{control}\x1b\\"


def pixel(images: PaneImages, p: Placement, x: int, y: int) -> tuple[int, ...]:
    """The pixel at (x, y) of the image a placement shows, as RGBA."""
    px = images.images[p.generation]
    bpp = {"rgb": 3, "rgba": 4}[px.format]
    i = (y * px.width + x) * bpp
    value = tuple(px.data[i:i + bpp])
    return value if bpp == 4 else (*value, 255)


def mark(n: int) -> str:
    return chr(PLACEHOLDER_DIACRITICS[n])


# -- transmission and placement --------------------------------------------------------------------------
def test_png_transmitted_directly_is_placed_at_the_cursor(term: Term) -> None:
    assert term.feed("hi\r\n" + apc("f=100,a=T,i=7,t=d", png(40, 40, RED))) == [b"\x1b_Gi=7;OK\x1b\\"]
    images = term.images()
    (p,) = images.placements
    # 40x40 px at the terminal's 8x16 px cells: 5 columns, 3 rows, from the cursor's cell (0, 1).
    assert (p.image_id, p.col, p.row, p.cols, p.rows) == (7, 0, 1, 5, 3)
    assert (p.width, p.height, p.src, p.z, p.virtual, p.layer) == (40, 40, (0, 0, 40, 40), 0, False, "above_text")
    assert images.cell == (8, 16)
    px = images.images[p.generation]
    assert (px.format, px.width, px.height) == ("rgba", 40, 40)   # PNG is stored decoded
    assert px.data == bytes(RED) * 1600
    assert (images.placed_images, images.placements_total, images.placed_bytes) == (1, 1, 6400)


def test_raw_rgb_and_zlib_rgba_with_size_offsets_and_source_rect(term: Term) -> None:
    rgb = b"".join(bytes((x * 10, y * 10, 7)) for y in range(10) for x in range(20))
    assert term.feed(apc("f=24,s=20,v=10,a=T,i=1,q=1", rgb)) == []          # q=1: no OK
    rgba = bytes(BLUE) * 64
    term.feed("\x1b[5;10H" + apc("f=32,o=z,s=8,v=8,a=T,i=2,p=4,c=3,r=2,X=2,Y=3,x=1,y=2,w=5,h=4,z=-7,q=2",
                                 zlib.compress(rgba)))
    images = term.images()
    by_id = {p.image_id: p for p in images.placements}
    assert images.images[by_id[1].generation].format == "rgb"
    assert pixel(images, by_id[1], 19, 9) == (190, 90, 7, 255)
    p = by_id[2]
    assert (p.col, p.row, p.cols, p.rows, p.placement_id, p.z, p.layer) == (9, 4, 3, 2, 4, -7, "below_text")
    # Three by two cells of 8x16 minus the offsets into the first cell.
    assert (p.x_offset, p.y_offset, p.width, p.height, p.src) == (2, 3, 22, 29, (1, 2, 5, 4))
    assert images.images[p.generation].data == rgba
    assert [q.image_id for q in images.placements] == [2, 1]   # z -7 is drawn before z 0


def test_chunked_transfer_split_across_feeds(term: Term) -> None:
    data = b64(png(64, 32, GREEN))
    chunks = [data[i:i + 100] for i in range(0, len(data), 100)]
    stream = "".join(f"\x1b_G{'f=100,a=T,i=3,' if i == 0 else ''}m={int(i < len(chunks) - 1)};{c}\x1b\\"
                     for i, c in enumerate(chunks))
    replies: list[bytes] = []
    for i in range(0, len(stream), 37):   # the escape sequences cut anywhere
        replies += term.feed(stream[i:i + 37])
    assert replies == [b"\x1b_Gi=3;OK\x1b\\"]
    (p,) = term.images().placements
    assert (p.image_id, p.cols, p.rows) == (3, 8, 2)
    assert pixel(term.images(), p, 63, 31) == GREEN


def test_file_media_are_refused_unless_enabled(term: Term, tmp_path: Path) -> None:
    path = tmp_path / "img.png"
    path.write_bytes(png(8, 8, RED))
    assert term.feed(apc("f=100,a=T,i=5,t=f", str(path).encode())) == [
        b"\x1b_Gi=5;EINVAL: unsupported medium\x1b\\"]
    temp = Path(tempfile.gettempdir()) / f"tty-graphics-protocol-{uuid.uuid4().hex}.png"
    temp.write_bytes(png(8, 8, RED))
    try:
        assert term.feed(apc("f=100,a=T,i=6,t=t", str(temp).encode())) == [
            b"\x1b_Gi=6;EINVAL: unsupported medium\x1b\\"]
        assert temp.exists()
    finally:
        temp.unlink(missing_ok=True)
    assert term.images().placements == ()


def test_file_temporary_file_and_shared_memory_when_enabled(tmp_path: Path) -> None:
    t = Term(config=ImageConfig(file_media=True))
    try:
        path = tmp_path / "img.png"
        path.write_bytes(png(8, 8, RED))
        assert t.feed(apc("f=100,a=T,i=5,t=f", str(path).encode())) == [b"\x1b_Gi=5;OK\x1b\\"]
        assert path.exists()                       # a plain file is the program's: left alone
        temp = Path(tempfile.gettempdir()) / f"tty-graphics-protocol-{uuid.uuid4().hex}.png"
        temp.write_bytes(png(8, 8, GREEN))
        assert t.feed(apc("f=100,a=T,i=6,t=t", str(temp).encode())) == [b"\x1b_Gi=6;OK\x1b\\"]
        assert not temp.exists()                   # a temporary file is deleted once read
        name = f"dullahan-test-{uuid.uuid4().hex}"
        Path("/dev/shm", name).write_bytes(bytes(BLUE) * 4)   # shm_open("/name") on Linux
        assert t.feed(apc("f=32,s=2,v=2,a=T,i=8,t=s", f"/{name}".encode())) == [b"\x1b_Gi=8;OK\x1b\\"]
        assert not Path("/dev/shm", name).exists()            # unlinked once read
        images = t.images()
        colors = {p.image_id: pixel(images, p, 0, 0) for p in images.placements}
        assert colors == {5: RED, 6: GREEN, 8: BLUE}
    finally:
        t.close()


# -- scrolling, screens, deletion, reset -----------------------------------------------------------------
def test_scrolling_moves_a_placement_above_the_viewport_then_out(term: Term) -> None:
    term.feed(apc("f=100,a=T,i=1,q=2", png(16, 48, RED)))     # 2x3 cells at row 0
    assert term.images().placements[0].row == 0
    term.feed("\x1b[12;1H\n")                                  # one line scrolls off the top
    (p,) = term.images().placements
    assert (p.row, p.rows) == (-1, 3)                          # partly above: still drawn, clipped by the client
    term.feed("\n\n")
    images = term.images()
    assert images.placements == () and images.placements_total == 1   # in the scrollback, not on screen


def test_alternate_screen_has_its_own_images(term: Term) -> None:
    term.feed(apc("f=100,a=T,i=1,q=2", png(8, 16, RED)))
    term.feed("\x1b[?1049h" + apc("f=100,a=T,i=2,q=2", png(8, 16, GREEN)))
    assert [p.image_id for p in term.images().placements] == [2]
    term.feed("\x1b[?1049l")
    assert [p.image_id for p in term.images().placements] == [1]


def test_delete_by_placement_by_image_and_all(term: Term) -> None:
    term.feed(apc("f=100,a=t,i=9,q=2", png(8, 16, RED)))
    term.feed(apc("a=p,i=9,p=1,q=2") + "\x1b[1;10H" + apc("a=p,i=9,p=2,q=2"))
    term.feed(apc("f=100,a=T,i=10,q=2", png(8, 16, BLUE)))
    assert sorted((p.image_id, p.placement_id) for p in term.images().placements) == [(9, 1), (9, 2), (10, 0)]
    term.feed(apc("a=d,d=i,i=9,p=1,q=2"))
    assert sorted((p.image_id, p.placement_id) for p in term.images().placements) == [(9, 2), (10, 0)]
    term.feed(apc("a=d,d=I,i=9,q=2"))                          # the image and its data
    images = term.images()
    assert [p.image_id for p in images.placements] == [10]
    assert term.feed(apc("a=p,i=9,p=3")) == [b"\x1b_Gi=9,p=3;ENOENT: image not found\x1b\\"]
    term.feed(apc("a=d,d=A,q=2"))
    assert term.images().placements == ()


def test_reset_and_clear_remove_images(term: Term) -> None:
    term.feed(apc("f=100,a=T,i=1,q=2", png(8, 16, RED)))
    assert term.images().placements
    term.feed("\x1bc")
    images = term.images()
    assert images.placements == () and images.generation == 0
    term.feed(apc("f=100,a=T,i=1,q=2", png(8, 16, RED)))
    assert term.images().placements
    term.feed("\x1b[H\x1b[2J\x1b[3J")                        # what `clear` prints
    assert term.images().placements == ()


def test_images_follow_the_view_only_when_something_changed(term: Term) -> None:
    first = term.images()
    assert term.images() is first                              # nothing changed: the same object
    term.feed(apc("f=100,a=T,i=1,q=2", png(8, 16, RED)))
    second = term.images()
    assert second is not first and second.placements
    assert term.images() is second


# -- unicode placeholders --------------------------------------------------------------------------------
def test_unicode_placeholders_draw_pieces_of_a_virtual_placement(term: Term) -> None:
    image = Image.new("RGBA", (16, 32), GREEN)
    image.paste(RED, (0, 16, 16, 32))                         # bottom half red
    out = io.BytesIO()
    image.save(out, "PNG")
    # Image 300 (fg colour 0x00012C), virtual placement 5 of 2x2 cells; the program prints the cells.
    term.feed(apc("f=100,a=T,U=1,i=300,p=5,c=2,r=2,q=2", out.getvalue()))
    assert term.images().placements == ()                     # a virtual placement alone shows nothing
    style = "\x1b[38;2;0;1;44m\x1b[58;2;0;0;5m"
    term.feed("\x1b[3;4H" + style + PLACEHOLDER + mark(0) + mark(0) + PLACEHOLDER + "\x1b[0m"
              + "\x1b[4;4H" + style + PLACEHOLDER + mark(1) + PLACEHOLDER + "\x1b[0m")
    images = term.images()
    top, bottom = images.placements
    # 16x32 px fitted into 2x2 cells of 8x16 (16x32): exactly, one row of cells per half.
    assert (top.col, top.row, top.cols, top.rows, top.virtual) == (3, 2, 2, 1, True)
    assert (top.image_id, top.placement_id, top.width, top.height, top.src) == (300, 5, 16, 16, (0, 0, 16, 16))
    assert (bottom.col, bottom.row, bottom.src) == (3, 3, (0, 16, 16, 16))
    assert top.layer == "below_text"
    assert pixel(images, top, top.src[0], top.src[1]) == GREEN
    assert pixel(images, bottom, bottom.src[0], bottom.src[1]) == RED
    assert images.placed_images == 1 and images.placements_total == 1
    # Capture shows no placeholder characters.
    assert PLACEHOLDER not in term.vt.capture()
    private = StyleTable()
    ansi = strip_placeholders(styled_text(term.screen.screen_rows(False, private), term.vt.size[0], private))
    assert PLACEHOLDER not in ansi       # what Pane.capture(ansi=True) returns
    term.feed("\x1b[3;1H\x1b[2K\x1b[4;1H\x1b[2K")            # the program erases the cells
    assert term.images().placements == ()


# -- limits and truthfulness -----------------------------------------------------------------------------
def test_images_over_the_storage_limit_are_refused_with_the_error_reply() -> None:
    t = Term(config=ImageConfig(storage_per_screen=64 << 10))
    try:
        # PNG: refused by our decoder from the header, before anything is decoded.
        assert t.feed(apc("f=100,a=T,i=5", png(200, 200, RED))) == [b"\x1b_Gi=5;EINVAL: invalid data\x1b\\"]
        (message, over_limit), = t.effects.image_refusals
        assert over_limit and "160000 bytes decoded" in message and "65536-byte limit" in message
        # Raw pixels: refused by Ghostty's storage limit.
        assert t.feed(apc("f=32,s=200,v=200,a=T,i=6", bytes(160_000))) == [b"\x1b_Gi=6;ENOMEM: out of memory\x1b\\"]
        assert t.effects.image_refusals == [("ENOMEM: out of memory", True)]
        # Over the dimension limit.
        assert t.feed(apc("f=24,s=10001,v=1,a=T,i=7", bytes(30_003))) == [
            b"\x1b_Gi=7;EINVAL: dimensions too large\x1b\\"]
        assert t.effects.image_refusals == [("EINVAL: dimensions too large", True)]
        # Within the limit: accepted.
        assert t.feed(apc("f=100,a=T,i=8", png(100, 100, RED))) == [b"\x1b_Gi=8;OK\x1b\\"]
        assert [p.image_id for p in t.images().placements] == [8]
    finally:
        t.close()


def test_a_refused_image_is_one_refusal_even_when_quiet() -> None:
    t = Term(config=ImageConfig(storage_per_screen=64 << 10))
    try:
        assert t.feed(apc("f=100,a=T,i=5,q=2", png(200, 200, RED))) == []   # q=2: the program asked for silence
        assert len(t.effects.image_refusals) == 1 and t.effects.image_refusals[0][1]
        assert t.feed(apc("f=100,a=T,i=6", b"GIF89a not a png")) == [b"\x1b_Gi=6;EINVAL: invalid data\x1b\\"]
        assert t.effects.image_refusals == [("EINVAL: invalid data (not a PNG)", False)]
    finally:
        t.close()


def test_only_png_is_decoded(term: Term) -> None:
    for fmt in ("GIF", "JPEG", "BMP"):
        out = io.BytesIO()
        Image.new("RGB", (8, 8), (1, 2, 3)).save(out, fmt)
        assert term.feed(apc("f=100,a=T,i=4", out.getvalue())) == [b"\x1b_Gi=4;EINVAL: invalid data\x1b\\"], fmt
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>'
    assert term.feed(apc("f=100,a=T,i=4", svg)) == [b"\x1b_Gi=4;EINVAL: invalid data\x1b\\"]
    assert term.images().placements == ()


def test_queries_are_answered_only_when_images_are_shown() -> None:
    query = apc("a=q,i=31,s=1,v=1,f=24,t=d", b"\0\0\0") + apc("a=q,i=32,f=100,t=d", png(1, 1, RED)) + "\x1b[c"
    on = Term()
    off = Term(config=ImageConfig(enabled=False))
    try:
        assert on.feed(query) == [b"\x1b_Gi=31;OK\x1b\\", b"\x1b_Gi=32;OK\x1b\\", b"\x1b[?62;22c"]
        assert on.images().placements == ()                   # a query stores nothing
        # Off: like a terminal without the protocol, only the device attributes are answered.
        assert off.feed(query) == [b"\x1b[?62;22c"]
        assert off.feed(apc("f=100,a=T,i=1", png(8, 8, RED))) == []
        assert off.images().placements == ()
        assert storage_limit(off.vt.term) == 0
    finally:
        on.close()
        off.close()


def test_lowering_the_storage_evicts_the_oldest_images(term: Term) -> None:
    term.feed(apc("f=32,s=64,v=64,a=T,i=1,q=2", bytes(RED) * 4096))
    term.feed(apc("f=32,s=64,v=64,a=T,i=2,q=2", bytes(GREEN) * 4096))
    assert sorted(p.image_id for p in term.images().placements) == [1, 2]
    term.vt.set_image_storage(20_000)                         # room for one 16 KiB image
    assert storage_limit(term.vt.term) == 20_000
    assert [p.image_id for p in term.images().placements] == [2]


# -- panes, sessions and real programs -------------------------------------------------------------------
def with_session(settings: Settings, body: Callable[[Session], Awaitable[None]]) -> None:
    """Run ``body(session)`` on a fresh loop; the session is always shut down."""
    async def main() -> None:
        session = Session(settings, asyncio.get_running_loop())
        try:
            await body(session)
        finally:
            await session.shutdown()
    run(main())


def placed(pane: Pane) -> PaneImages | None:
    view = pane.view()
    return view.images if view is not None and view.images is not None and view.images.placements else None


def screen_text(pane: Pane) -> str:
    view = pane.view() or pane.latest_view()   # None while the terminal thread is still parsing
    return "\n".join(row[0] for row in view.lines)


@pytest.mark.usefixtures("isolated_xdg")
@pytest.mark.parametrize("program", ["chafa", "timg"])
def test_real_programs_show_an_image_in_a_pane(program: str, tmp_path: Path) -> None:
    assert shutil.which(program), f"{program} is not installed (scripts/test installs it)"
    source = tmp_path / "picture.png"
    picture = Image.new("RGB", (64, 48), (30, 200, 90))
    picture.paste((200, 30, 40), (0, 0, 32, 48))              # left half red, right half green
    picture.save(source)
    command = {"chafa": f"chafa -f kitty --size 10x5 {source}",
               "timg": f"timg -pk -g10x5 {source}"}[program]

    async def body(session: Session) -> None:
        window = session.new_window("single", 80, 25)
        pane = session.pane(window.slots[0])
        await async_wait_for(lambda: "$" in screen_text(pane) or "#" in screen_text(pane), 20,
                             message=lambda: screen_text(pane))
        pane.write(f"{command}; echo SHOWN-$((6*7))\r".encode())
        def shown() -> PaneImages | None:
            return placed(pane) if "SHOWN-42" in screen_text(pane) else None
        images = await async_wait_for(shown, 30, message=lambda: screen_text(pane))
        assert images is not None
        (p,) = images.placements
        assert p.row >= 1 and p.col == 0 and p.cols <= 10 and p.rows <= 5
        px = images.images[p.generation]
        left = pixel(images, p, px.width // 8, px.height // 2)
        right = pixel(images, p, px.width * 7 // 8, px.height // 2)
        assert all(abs(a - b) <= 24 for a, b in zip(left, (200, 30, 40, 255), strict=True)), left
        assert all(abs(a - b) <= 24 for a, b in zip(right, (30, 200, 90, 255), strict=True)), right
        info = session.pane_info(pane)
        assert (info["images"], info["image_placements"]) == (1, 1)
        assert info["image_bytes"] == len(px.data)
        assert PLACEHOLDER not in pane.capture()
    with_session(Settings(shell=["bash", "--noprofile", "--norc"]), body)


@pytest.mark.usefixtures("isolated_xdg")
def test_a_refused_image_is_logged_once_by_the_pane(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lines = io.StringIO()
    monkeypatch.setattr(log, "_out", lines)
    escapes = tmp_path / "big.kitty"
    escapes.write_text(apc("f=100,a=T,i=77,q=2", png(600, 600, RED)))  # 1.44 MB decoded: over 512 KiB a screen
    script = f"cat {escapes}; echo SENT-$((6*7))"

    async def body(session: Session) -> None:
        window = session.new_window("single", 80, 25)
        pane = session.pane(window.slots[0])
        pane.write((script + "\r").encode())
        await async_wait_for(lambda: "SENT-42" in screen_text(pane) and "image refused" in lines.getvalue(), 30,
                             message=lambda: screen_text(pane) + lines.getvalue())
        refused = [line for line in lines.getvalue().splitlines() if "image refused" in line]
        assert len(refused) == 1, refused
        assert f"pane={pane.id}" in refused[0] and "WARN" in refused[0] and "exceeds" in refused[0]
        assert placed(pane) is None
    settings = Settings(shell=["bash", "--noprofile", "--norc"], image_storage_per_pane=1 << 20)
    with_session(settings, body)


@pytest.mark.usefixtures("isolated_xdg")
def test_panes_share_the_server_image_budget() -> None:
    mib = 1 << 20

    async def body(session: Session) -> None:
        window = session.new_window("2x2", 80, 25)
        panes = [session.pane(i) for i in window.slots if i is not None]
        assert len(panes) == 4
        assert {storage_limit(p.vt.term) for p in panes} == {4 * mib}      # 32 MiB / 4 panes / 2 screens
        session.kill_pane(panes[0].id)
        assert {storage_limit(p.vt.term) for p in panes[1:]} == {5 * mib}  # 10 MiB a pane (> 32/3 / 2)
    settings = Settings(shell=["sh", "-c", "sleep 30"], image_storage_per_pane=10 * mib,
                        image_storage_total=32 * mib)
    with_session(settings, body)


@pytest.mark.usefixtures("isolated_xdg")
def test_images_off_in_settings_turns_the_protocol_off() -> None:
    async def body(session: Session) -> None:
        window = session.new_window("single", 80, 25)
        pane = session.pane(window.slots[0])
        assert storage_limit(pane.vt.term) == 0
    with_session(Settings(shell=["sh", "-c", "sleep 30"], images=False), body)


def test_settings_for_images_are_validated() -> None:
    with pytest.raises(ConfigError, match="image_storage_per_pane"):
        Settings.load({"image_storage_per_pane": 10}, "test")
    with pytest.raises(ConfigError, match="images"):
        Settings.load({"images": "yes"}, "test")
    assert Settings.load({"images": False}, "test").images is False


def test_cli_lists_image_counts_and_capture_leaves_images_out(server: StartServer, tmp_path: Path) -> None:
    source = tmp_path / "dot.png"
    Image.new("RGB", (32, 32), (250, 250, 0)).save(source)
    srv = server()
    srv.send(1, f"chafa -f kitty --size 4x2 {source}; echo DRAWN-$((6*7))")
    capture_until(srv, 1, lambda text: "DRAWN-42" in text.splitlines())

    def counts() -> dict[str, object] | None:
        result = srv.cli("panes", "--json")
        assert result.returncode == 0, result.stderr
        (pane,) = json.loads(result.stdout)
        return pane if pane["images"] == 1 else None
    pane = wait_for(counts, 20)
    assert pane is not None and pane["image_placements"] == 1
    assert isinstance(pane["image_bytes"], int) and pane["image_bytes"] > 0
    text = srv.capture(1)
    assert "\x1b_G" not in text and PLACEHOLDER not in text   # text only: images are left out


@pytest.mark.usefixtures("isolated_xdg")
def test_pty_reports_its_size_in_pixels_from_the_cell_size() -> None:
    async def body(session: Session) -> None:
        window = session.new_window("single", 80, 25)
        pane = session.pane(window.slots[0])
        assert pane.proc is not None
        rows, cols, xpixel, ypixel = struct.unpack("HHHH", fcntl.ioctl(pane.proc.fd, termios.TIOCGWINSZ, b"\0" * 8))
        assert (xpixel, ypixel) == (cols * 8, rows * 16)
        pane.resize(100, 30)
        assert struct.unpack("HHHH", fcntl.ioctl(pane.proc.fd, termios.TIOCGWINSZ, b"\0" * 8)) == (30, 100, 800, 480)
    with_session(Settings(shell=["sh", "-c", "sleep 30"]), body)


@pytest.mark.usefixtures("isolated_xdg")
def test_history_view_carries_the_images_of_rows_scrolled_back(tmp_path: Path) -> None:
    escapes = tmp_path / "img.kitty"
    escapes.write_text(apc("f=100,a=T,i=4,q=2", png(16, 32, BLUE)))   # 2x2 cells

    async def body(session: Session) -> None:
        window = session.new_window("single", 40, 11)
        pane = session.pane(window.slots[0])
        pane.write(f"clear; cat {escapes}; seq 1 40; echo SCROLLED-$((6*7))\r".encode())
        await async_wait_for(lambda: "SCROLLED-42" in screen_text(pane), 20, message=lambda: screen_text(pane))
        view = pane.view()
        assert view is not None and view.images is not None and view.images.placements == ()
        top, rows, images = pane.history_view(0, view.rows)
        assert top == 0 and images is not None
        (p,) = images.placements
        assert p.image_id == 4 and (p.cols, p.rows) == (2, 2) and 0 <= p.row < len(rows)
        assert pixel(images, p, 0, 0) == BLUE
        live = pane.view()                                    # the live screen is read in full again
        assert live is not None and live.images is not None and live.images.placements == ()
    with_session(Settings(shell=["bash", "--noprofile", "--norc"]), body)


def test_a_client_gets_each_image_once_in_a_binary_message_before_the_frame_that_places_it(
        server: StartServer, tmp_path: Path) -> None:
    picture = Image.new("RGB", (48, 32), (10, 120, 240))
    picture.paste((250, 250, 0), (0, 0, 24, 32))
    data = io.BytesIO()
    picture.save(data, "PNG")
    # The same picture twice, as two images (two ids): one content, so one image message.
    escapes = tmp_path / "twice.kitty"
    escapes.write_text(apc("f=100,a=T,i=1,q=2", data.getvalue()) + apc("f=100,a=T,i=2,q=2", data.getvalue()))
    srv = server()
    tokens = json.loads(srv.tokens_file.read_text())

    async def body() -> None:
        async with Client(f"http://127.0.0.1:{srv.port}/", token=tokens["master"]) as client:
            await client.wait_text(1, "$")
            srv.send(1, f"clear; cat {escapes}; echo PLACED-$((6*7))")
            await client.wait_text(1, "PLACED-42", timeout=20)

            def placed() -> list[list[object]] | None:
                img = client.replica.panes[1].img
                return img if len(img) == 2 else None
            img = await async_wait_for(placed, 20, message=lambda: repr(client.replica.panes[1].img))
            keys = {record[0] for record in img}
            (key,) = keys
            sent = [k for kind, k in client.order if kind == "img"]
            assert sent == [key]
            first_placing = next(i for i, (kind, placing) in enumerate(client.order) if kind == "f" and placing)
            assert client.order.index(("img", key)) < first_placing
            held = client.replica.images[key]
            assert (held.width, held.height, held.mime) == (48, 32, "image/png")
            with Image.open(io.BytesIO(held.data), formats=["PNG"]) as back:
                assert back.convert("RGB").tobytes() == picture.tobytes()
            assert client.replica.panes[1].cell == [8, 16]
            assert [r[1:5] for r in img] == [[0, 0, 6, 2], [6, 1, 6, 2]]    # side by side, the cursor moved
    run(body())


def test_the_image_message_layout() -> None:
    message = image_message(WireImage("ab" * 16, 3, 2, "image/png", b"\x89PNG..."))
    (length,) = struct.unpack(">I", message[:4])
    assert json.loads(message[4:4 + length]) == {"t": "img", "k": "ab" * 16, "m": "image/png", "w": 3, "h": 2}
    assert message[4 + length:] == b"\x89PNG..."
    assert parse_image_message(message) == ({"t": "img", "k": "ab" * 16, "m": "image/png", "w": 3, "h": 2},
                                            b"\x89PNG...")
    with pytest.raises(ValueError):
        parse_image_message(struct.pack(">I", 5000) + b"{}")
