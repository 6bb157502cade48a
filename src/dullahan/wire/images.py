"""Kitty graphics on the wire: placement records, the binary image message, and the mirror of a client's
image cache (pure: no I/O, no Pillow).

A pane's placements travel in frames as small records (``PlacementRecord``) naming an image by its content
key; the image itself goes to a client once, in a binary WebSocket message::

    u32 big-endian header length | header (JSON, UTF-8) | image bytes (PNG)
    header: {"t":"img","k":key,"m":"image/png","w":width,"h":height}

The server mirrors each client's image cache exactly, as it does the row cache (``ImageMirror``): the
client keeps every image it was sent until a frame's ``drop_img`` names it, and never evicts on its own.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson

from dullahan.shapes import ImagePixels, PaneImages, WireImage

# [key, col, row, cols, rows, x, y, w, h, sx, sy, sw, sh, z]: web/js/images.js ``parsePlacement``.
PlacementRecord = tuple[str, int, int, int, int, int, int, int, int, int, int, int, int, int]

IMAGE_HEADER = struct.Struct(">I")
MAX_HEADER_BYTES = 4096
NO_WIRE_IMAGES: Mapping[str, WireImage] = MappingProxyType({})

Encoded = Callable[[ImagePixels], WireImage | None]


class ImageFields(NamedTuple):
    """A pane's images as a client is told about them."""

    cell: tuple[int, int]                       # the terminal's cell size in pixels
    placements: tuple[PlacementRecord, ...]     # in drawing order; only placements whose image is encoded
    images: Mapping[str, WireImage]             # by key: what the placements show
    pending: bool                               # some placements wait for their image's encoding


NO_IMAGE_FIELDS = ImageFields((0, 0), (), NO_WIRE_IMAGES, False)


def image_fields(images: PaneImages | None, encoded: Encoded) -> ImageFields:
    """The wire form of a pane's images. ``encoded`` gives an image's ``WireImage`` once it is encoded, or
    None (not yet, or never: the placement is left out)."""
    if images is None:
        return NO_IMAGE_FIELDS
    if not images.placements:
        return ImageFields(images.cell, (), NO_WIRE_IMAGES, False)
    records: list[PlacementRecord] = []
    by_key: dict[str, WireImage] = {}
    by_generation: dict[int, WireImage | None] = {}
    pending = False
    for p in images.placements:
        if p.generation in by_generation:
            wire = by_generation[p.generation]
        else:
            pixels = images.images.get(p.generation)
            wire = by_generation[p.generation] = encoded(pixels) if pixels is not None else None
        if wire is None:
            pending = True
            continue
        by_key[wire.key] = wire
        records.append((wire.key, p.col, p.row, p.cols, p.rows, p.x_offset, p.y_offset, p.width, p.height,
                        *p.src, p.z))
    return ImageFields(images.cell, tuple(records), MappingProxyType(by_key), pending)


def image_message(image: WireImage) -> bytes:
    """The binary WebSocket message that carries one image to a client."""
    header = orjson.dumps({"t": "img", "k": image.key, "m": image.mime, "w": image.width, "h": image.height})
    return IMAGE_HEADER.pack(len(header)) + header + image.data


def parse_image_message(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and the image bytes of an image message (the reference client's reading of it)."""
    if len(data) < IMAGE_HEADER.size:
        raise ValueError("image message shorter than its header length")
    (length,) = IMAGE_HEADER.unpack_from(data)
    if length > MAX_HEADER_BYTES or IMAGE_HEADER.size + length > len(data):
        raise ValueError(f"image message header of {length} bytes")
    header = orjson.loads(data[IMAGE_HEADER.size:IMAGE_HEADER.size + length])
    if not isinstance(header, dict) or header.get("t") != "img":
        raise ValueError("not an image message")
    return header, data[IMAGE_HEADER.size + length:]


class ImageMirror:
    """The images one client holds: keys with their decoded size (RGBA), least recently used first,
    bounded in bytes and in count. Only the server decides what the client drops."""

    def __init__(self, max_bytes: int, max_count: int) -> None:
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.held: OrderedDict[str, int] = OrderedDict()
        self.bytes = 0

    def __contains__(self, key: object) -> bool:
        return key in self.held

    def __len__(self) -> int:
        return len(self.held)

    def touch(self, key: str) -> None:
        self.held.move_to_end(key)

    def add(self, key: str, size: int) -> None:
        if key in self.held:
            self.held.move_to_end(key)
            return
        self.held[key] = size
        self.bytes += size

    def ever_fits(self, size: int) -> bool:
        """Whether an image of ``size`` bytes can be held at all (an emptied cache)."""
        return size <= self.max_bytes and self.max_count > 0

    def has_room(self, size: int) -> bool:
        """Whether one more image of ``size`` bytes fits as the cache is."""
        return self.bytes + size <= self.max_bytes and len(self.held) < self.max_count

    def room_after_evicting(self, size: int, pinned: set[str]) -> bool:
        """Whether it would fit once every image not in ``pinned`` was dropped."""
        kept = [(k, n) for k, n in self.held.items() if k in pinned]
        return sum(n for _k, n in kept) + size <= self.max_bytes and len(kept) < self.max_count

    def evict(self, pinned: Iterable[str], reserve: int | None = None) -> list[str]:
        """Drop the least recently used images not in ``pinned`` until the cache is within its bounds, with
        room for one more image of ``reserve`` bytes when given. Returns the keys dropped."""
        keep = set(pinned)
        need_bytes = self.max_bytes - (reserve or 0)
        need_count = self.max_count - (1 if reserve is not None else 0)
        dropped: list[str] = []
        if self.bytes <= need_bytes and len(self.held) <= need_count:
            return dropped
        for key in list(self.held):
            if self.bytes <= need_bytes and len(self.held) <= need_count:
                break
            if key in keep:
                continue
            self.bytes -= self.held.pop(key)
            dropped.append(key)
        return dropped
