"""Reading a terminal's kitty graphics (images and placements) into ``dullahan.shapes`` data.

The caller holds the terminal's lock, as for every terminal call.
"""

from __future__ import annotations

from typing import Any

from dullahan.images.model import (
    BYTES_PER_PIXEL,
    MAX_IMAGE_DIMENSION,
    PLACEHOLDER_Z,
    drawing_order,
    has_placeholders,
    placeholder_runs,
    virtual_grid,
    virtual_piece,
)
from dullahan.shapes import NO_IMAGES, ImagePixels, PaneImages, Placement, Row, StyleTable
from dullahan.term.ghostty import check, ffi, init_sized, lib
from dullahan.term.images import FORMATS
from dullahan.term.vt import VTerm

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
        name = FORMATS.get(int(fmt))
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
