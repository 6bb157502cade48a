"""Kitty graphics in Ghostty: the process-wide PNG decoder and log hooks, a terminal's image options, and
reading a terminal's images and placements into ``images_model`` shapes.

Ghostty parses the protocol and keeps images and placements per screen; PNG needs a decoder from the host,
installed once for the whole process (``install_hooks``). The decoder does not know which terminal it
decodes for, so ``VTerm.feed`` names the terminal being fed on this thread (``feeding``): the decoder takes
that terminal's limits, and refusals Ghostty logs during the feed are attributed to it. Ghostty answers a
refused image with the protocol's error reply itself (``EINVAL: ...``, ``ENOMEM: ...``), as kitty does.

Nothing here is thread-safe per terminal: the caller holds the terminal's lock, as for every terminal call.
"""

from __future__ import annotations

import tempfile
import threading
from typing import TYPE_CHECKING, Any

from dullahan.images_codec import ImageRefused, decode_png
from dullahan.images_model import (
    BYTES_PER_PIXEL,
    MAX_IMAGE_DIMENSION,
    NO_IMAGES,
    PLACEHOLDER_Z,
    ImageConfig,
    ImagePixels,
    PaneImages,
    Placement,
    drawing_order,
    has_placeholders,
    placeholder_runs,
    virtual_grid,
    virtual_piece,
)
from dullahan.log import log
from dullahan.shapes import Row, StyleTable
from dullahan.term.ghostty import Terminal, check, ffi, init_sized, lib

if TYPE_CHECKING:
    from dullahan.term.vt import VTerm

MAX_REFUSALS_PER_FEED = 16
_REFUSED_PREFIX = "erroneous kitty graphics response: "
_FORMATS = {0: "rgb", 1: "rgba", 3: "gray_alpha", 4: "gray"}


class ImageSink:
    """One terminal's side of the process-wide hooks: the decoder's limits, and the refusals of a feed."""

    def __init__(self, config: ImageConfig) -> None:
        self.config = config
        self.refusals: list[tuple[str, bool]] = []     # (reply message with our reason, over a limit)
        self.decoder_refusal: ImageRefused | None = None

    def refused(self, message: str) -> None:
        reason = self.decoder_refusal
        self.decoder_refusal = None
        over_limit = reason.limit if reason is not None else (
            message.startswith("ENOMEM") or "too large" in message)
        if reason is not None:
            message = f"{message} ({reason})"
        if len(self.refusals) < MAX_REFUSALS_PER_FEED:
            self.refusals.append((message, over_limit))


_feeding = threading.local()


def feeding(sink: ImageSink | None) -> None:
    """Name the terminal this thread is about to feed (None once the feed is over)."""
    _feeding.sink = sink


def _current() -> ImageSink | None:
    return getattr(_feeding, "sink", None)


# -- process-wide hooks ----------------------------------------------------------------------------------
_hooks: list[Any] = []      # the cffi callbacks, alive for the whole process
_hooks_lock = threading.Lock()


def install_hooks() -> None:
    """Install the PNG decoder and the log hook, once per process."""
    with _hooks_lock:
        if _hooks:
            return
        decoder = ffi.callback("GhosttySysDecodePngFn", _decode_png, onerror=_on_hook_error)
        logger = ffi.callback("GhosttySysLogFn", _on_log, onerror=_on_hook_error)
        check(lib.ghostty_sys_set(lib.GHOSTTY_SYS_OPT_DECODE_PNG, decoder), "png decoder")
        check(lib.ghostty_sys_set(lib.GHOSTTY_SYS_OPT_LOG, logger), "log hook")
        _hooks.extend((decoder, logger))


def _on_hook_error(exc: Any, val: Any, tb: Any) -> None:
    log.error("images", "libghostty hook raised", error=repr(val))


def _decode_png(userdata: Any, allocator: Any, data: Any, length: int, out: Any) -> bool:
    sink = _current()
    config = sink.config if sink is not None else ImageConfig()
    max_bytes = config.storage_per_screen
    try:
        if length > max_bytes:
            raise ImageRefused(f"{length} bytes of PNG exceed the {max_bytes}-byte limit", limit=True)
        image = decode_png(ffi.buffer(data, length)[:], max_bytes, config.max_dimension)
    except ImageRefused as e:
        if sink is not None:
            sink.decoder_refusal = e
        return False
    size = len(image.rgba)
    buf = lib.ghostty_alloc(allocator, size)
    if buf == ffi.NULL:
        return False
    ffi.memmove(buf, image.rgba, size)
    out.width, out.height, out.data, out.data_len = image.width, image.height, buf, size
    return True


def _on_log(userdata: Any, level: int, scope: Any, scope_len: int, message: Any, message_len: int) -> None:
    text = ffi.buffer(message, message_len)[:].decode("utf-8", "replace") if message_len else ""
    where = ffi.buffer(scope, scope_len)[:].decode("utf-8", "replace") if scope_len else ""
    sink = _current()
    if where == "kitty_gfx" and text.startswith(_REFUSED_PREFIX) and sink is not None:
        sink.refused(text[len(_REFUSED_PREFIX):])
    elif log.is_on("term"):
        log.debug("term", "libghostty", scope=where or "-", level=int(level), message=text)


# -- a terminal's options --------------------------------------------------------------------------------
def configure(term: Terminal, config: ImageConfig) -> None:
    """Turn the protocol on or off for a terminal and set its storage limit and transmission media.

    Off, Ghostty acts as a terminal without the protocol: queries get no answer (a program that asks and
    then sends a primary device attributes request sees only that answer), images are dropped.
    """
    if config.enabled:
        install_hooks()
    set_storage_limit(term, config.storage_per_screen if config.enabled else 0)
    t = term._t[0]
    allow = ffi.new("bool*", config.enabled and config.file_media)
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_FILE, allow), "file medium")
    check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_SHARED_MEM, allow), "shm medium")
    if config.enabled and config.file_media:
        directory = tempfile.gettempdir().encode()
        keep = ffi.new("uint8_t[]", directory)
        path = ffi.new("GhosttyString*")
        path.ptr, path.len = keep, len(directory)
        check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_TEMP_FILE, path), "temp medium")
    else:
        check(lib.ghostty_terminal_set(t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_MEDIUM_TEMP_FILE, ffi.NULL),
              "temp medium")


def set_storage_limit(term: Terminal, limit: int) -> None:
    """Ghostty's storage limit for each screen (0 turns the protocol off). Lowering it evicts the oldest
    images until the rest fit."""
    check(lib.ghostty_terminal_set(term._t[0], lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_STORAGE_LIMIT,
                                   ffi.new("uint64_t*", limit)), "image storage limit")


def storage_limit(term: Terminal) -> int:
    out = ffi.new("uint64_t*")
    check(lib.ghostty_terminal_get(term._t[0], lib.GHOSTTY_TERMINAL_DATA_KITTY_IMAGE_STORAGE_LIMIT, out),
          "image storage limit")
    return int(out[0])


# -- reading ---------------------------------------------------------------------------------------------
_PLACEMENT_KEYS = ("IMAGE_ID", "PLACEMENT_ID", "IS_VIRTUAL", "X_OFFSET", "Y_OFFSET", "COLUMNS", "ROWS", "Z")
_PLACEMENT_TYPES = ("uint32_t", "uint32_t", "bool", "uint32_t", "uint32_t", "uint32_t", "uint32_t", "int32_t")
_IMAGE_KEYS = ("WIDTH", "HEIGHT", "FORMAT", "DATA_LEN", "GENERATION")
_IMAGE_TYPES = ("uint32_t", "uint32_t", "GhosttyKittyImageFormat", "size_t", "uint64_t")


class _Multi:
    """Output slots for one ``*_get_multi`` call."""

    def __init__(self, enum_type: str, prefix: str, keys: tuple[str, ...], types: tuple[str, ...]) -> None:
        self.keys = ffi.new(f"{enum_type}[{len(keys)}]", [getattr(lib, prefix + k) for k in keys])
        self.outs = [ffi.new(t + "*") for t in types]
        self.values = ffi.new(f"void*[{len(keys)}]", [ffi.cast("void*", o) for o in self.outs])
        self.count = len(keys)

    def read(self) -> list[Any]:
        return [o[0] for o in self.outs]


class ImageReader:
    """Reads one terminal's images and placements (relative to its current viewport) into ``PaneImages``.

    Pixels are copied once per image content (Ghostty's generation) and kept while a visible placement
    shows them. ``read`` returns the previous result when neither the storage nor the screen changed.
    """

    def __init__(self, vt: VTerm, styles: StyleTable) -> None:
        self.vt = vt
        self.styles = styles
        self._graphics = ffi.new("GhosttyKittyGraphics*")
        self._generation = ffi.new("uint64_t*")
        it = ffi.new("GhosttyKittyGraphicsPlacementIterator*")
        check(lib.ghostty_kitty_graphics_placement_iterator_new(ffi.NULL, it), "placement iterator")
        self._it_p = it
        self._placement = _Multi("GhosttyKittyGraphicsPlacementData", "GHOSTTY_KITTY_GRAPHICS_PLACEMENT_DATA_",
                                 _PLACEMENT_KEYS, _PLACEMENT_TYPES)
        self._image = _Multi("GhosttyKittyGraphicsImageData", "GHOSTTY_KITTY_IMAGE_DATA_", _IMAGE_KEYS,
                             _IMAGE_TYPES)
        self._data_ptr = ffi.new("uint8_t**")
        self._info = init_sized("GhosttyKittyGraphicsPlacementRenderInfo")
        self._pixels: dict[int, ImagePixels] = {}
        self._last: PaneImages = NO_IMAGES
        self._last_key: tuple[Any, ...] | None = None
        self._last_lines: tuple[Row, ...] | None = None

    def close(self) -> None:
        if self._it_p is not None:
            lib.ghostty_kitty_graphics_placement_iterator_free(self._it_p[0])
            self._it_p = None
        self._pixels.clear()

    def generation(self) -> int:
        """The active screen's storage stamp: it changes with every transmission, placement and deletion."""
        check(lib.ghostty_terminal_get(self.vt.term._t[0], lib.GHOSTTY_TERMINAL_DATA_KITTY_GRAPHICS,
                                       self._graphics), "kitty graphics")
        check(lib.ghostty_kitty_graphics_get(self._graphics[0], lib.GHOSTTY_KITTY_GRAPHICS_DATA_GENERATION,
                                             self._generation), "graphics generation")
        return int(self._generation[0])

    def read(self, lines: tuple[Row, ...]) -> PaneImages:
        """The images of the screen whose rows are ``lines`` (read at the same moment, same lock)."""
        generation = self.generation()
        cell = tuple(self.vt.cell_px)
        key = (generation, cell, self.vt.size)
        if key == self._last_key and self._last_lines is lines:
            return self._last
        placeholders = has_placeholders(lines)
        if generation == 0 and not placeholders:
            result = PaneImages(0, (cell[0], cell[1]), (), {})
        else:
            result = self._read(generation, lines, placeholders)
        self._last, self._last_key, self._last_lines = result, key, lines
        return result

    def _read(self, generation: int, lines: tuple[Row, ...], placeholders: bool) -> PaneImages:
        g = self._graphics[0]
        term = self.vt.term._t[0]
        cell_w, cell_h = self.vt.cell_px
        cols, _rows = self.vt.size
        it = self._it_p[0]
        check(lib.ghostty_kitty_graphics_get(g, lib.GHOSTTY_KITTY_GRAPHICS_DATA_PLACEMENT_ITERATOR, self._it_p),
              "placement iterator")
        images: dict[int, tuple[Any, tuple[int, int, str, int, int]]] = {}   # id -> (handle, meta)
        placements: list[Placement] = []
        targets: dict[int, dict[int, tuple[int, int]]] = {}                  # image id -> placement id -> c, r
        placed_ids: set[int] = set()
        total = 0
        pm, info = self._placement, self._info
        while lib.ghostty_kitty_graphics_placement_next(it):
            if lib.ghostty_kitty_graphics_placement_get_multi(it, pm.count, pm.keys, pm.values, ffi.NULL) != 0:
                continue
            image_id, placement_id, virtual, x_off, y_off, p_cols, p_rows, z = pm.read()
            image = images.get(image_id)
            if image is None:
                image = self._image_meta(g, image_id)
                if image is None:
                    continue
                images[image_id] = image
            total += 1
            placed_ids.add(image_id)
            if virtual:
                targets.setdefault(image_id, {})[placement_id] = (p_cols, p_rows)
                continue
            if lib.ghostty_kitty_graphics_placement_render_info(it, image[0], term, info) != 0:
                continue
            if not info.viewport_visible or info.pixel_width == 0 or info.pixel_height == 0:
                continue
            image_gen = image[1][4]
            placements.append(Placement(
                image_gen, image_id, placement_id, int(info.viewport_col), int(info.viewport_row),
                int(info.grid_cols), int(info.grid_rows), min(x_off, cell_w - 1), min(y_off, cell_h - 1),
                int(info.pixel_width), int(info.pixel_height),
                (int(info.source_x), int(info.source_y), int(info.source_width), int(info.source_height)), z))
        if placeholders and targets:
            placements += self._virtual(lines, cols, targets, images, cell_w, cell_h)
        shown: dict[int, ImagePixels] = {}
        kept: list[Placement] = []
        for p in placements:
            pixels = shown.get(p.generation) or self._pixels_of(p.image_id, images[p.image_id])
            if pixels is None:
                continue
            shown[p.generation] = pixels
            kept.append(p)
        self._pixels = dict(shown)
        placed_bytes = sum(images[i][1][3] for i in placed_ids)
        return PaneImages(generation, (cell_w, cell_h), drawing_order(kept), shown, len(placed_ids), total,
                          placed_bytes)

    def _image_meta(self, g: Any, image_id: int) -> tuple[Any, tuple[int, int, str, int, int]] | None:
        handle = lib.ghostty_kitty_graphics_image(g, image_id)
        if handle == ffi.NULL:
            return None
        im = self._image
        if lib.ghostty_kitty_graphics_image_get_multi(handle, im.count, im.keys, im.values, ffi.NULL) != 0:
            return None
        width, height, fmt, length, generation = im.read()
        name = _FORMATS.get(int(fmt))
        if name is None:
            return None
        return handle, (int(width), int(height), name, int(length), int(generation))

    def _pixels_of(self, image_id: int, image: tuple[Any, tuple[int, int, str, int, int]]) -> ImagePixels | None:
        handle, (width, height, fmt, length, generation) = image
        cached = self._pixels.get(generation)
        if cached is not None:
            return cached
        if (not 0 < width <= MAX_IMAGE_DIMENSION or not 0 < height <= MAX_IMAGE_DIMENSION
                or length != width * height * BYTES_PER_PIXEL[fmt]):
            return None
        if lib.ghostty_kitty_graphics_image_get(handle, lib.GHOSTTY_KITTY_IMAGE_DATA_DATA_PTR, self._data_ptr) != 0:
            return None   # metadata is known, pixels are still on their way
        return ImagePixels(generation, image_id, fmt, width, height, ffi.buffer(self._data_ptr[0], length)[:])

    def _virtual(self, lines: tuple[Row, ...], cols: int, targets: dict[int, dict[int, tuple[int, int]]],
                 images: dict[int, tuple[Any, tuple[int, int, str, int, int]]], cell_w: int,
                 cell_h: int) -> list[Placement]:
        """Placements for the runs of unicode placeholders on screen."""
        out: list[Placement] = []
        for run in placeholder_runs(lines, self.styles.styles, cols):
            by_placement = targets.get(run.image_id)
            image = images.get(run.image_id)
            if not by_placement or image is None:
                continue
            # No placement id in the cells: the image's virtual placement with the lowest id.
            placement_id = run.placement_id if run.placement_id else min(by_placement)
            target = by_placement.get(placement_id)
            if target is None:
                continue
            width, height, _fmt, _length, generation = image[1]
            grid_cols, grid_rows = virtual_grid(width, height, target[0], target[1], cell_w, cell_h)
            piece = virtual_piece(run, width, height, grid_cols, grid_rows, cell_w, cell_h)
            if piece is None:
                continue
            x_off, y_off, w, h, src = piece
            out.append(Placement(generation, run.image_id, placement_id, run.x, run.y, run.width, 1, x_off, y_off,
                                 w, h, src, PLACEHOLDER_Z, virtual=True))
        return out
