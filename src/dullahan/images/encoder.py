"""Images encoded for the wire off the event loop: one worker thread, a cache per image version.

``encoded(pixels)`` answers from the cache, or queues the image for encoding (``codec.encode_image``: PNG
and its content key) and answers None; when it is done, ``on_ready`` runs on the loop and the caller asks
again. Ghostty's generation names an image's pixels (it changes with every transmission), so it is the
cache key: an image shown in several panes, to many clients, scrolled or redrawn, is encoded once.

At most ``max_pending`` images wait for the worker (each holds a copy of its pixels): under a burst, an
image asked for beyond that is asked for again when one is done (its pane's state is built again then),
so only what is still on screen by then is encoded. An image whose decoded size is over ``max_decoded``
(what a browser accepts) is never encoded; it is logged once, and its placements are left out of frames.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from dullahan.images.codec import ImageRefused, encode_image
from dullahan.log import log
from dullahan.shapes import ImagePixels, WireImage

DEFAULT_CACHE_BYTES = 128 << 20       # PNG bytes kept
DEFAULT_CACHE_ENTRIES = 1024
MAX_PENDING = 4
MAX_DECODED = 64 << 20                # web/js/images.js DEFAULT_LIMITS.maxDecodedBytes
REFUSALS_KEPT = 1024


class ImageEncoder:
    def __init__(self, loop: asyncio.AbstractEventLoop, on_ready: Callable[[], None], *,
                 max_bytes: int = DEFAULT_CACHE_BYTES, max_entries: int = DEFAULT_CACHE_ENTRIES,
                 max_decoded: int = MAX_DECODED, max_pending: int = MAX_PENDING) -> None:
        self._loop = loop
        self._on_ready = on_ready
        self.max_bytes, self.max_entries, self.max_decoded = max_bytes, max_entries, max_decoded
        self.max_pending = max_pending
        self._done: OrderedDict[int, WireImage] = OrderedDict()      # by generation
        self._bytes = 0
        self._pending: set[int] = set()
        self._refused: OrderedDict[int, None] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None
        self.encoded_count = 0

    def encoded(self, pixels: ImagePixels) -> WireImage | None:
        """The image's wire form, or None while it is being encoded (or when it never will be)."""
        generation = pixels.generation
        done = self._done.get(generation)
        if done is not None:
            self._done.move_to_end(generation)
            return done
        if generation in self._pending or generation in self._refused:
            return None
        decoded = pixels.width * pixels.height * 4
        if decoded > self.max_decoded:
            self._refuse(generation, f"{pixels.width}x{pixels.height} pixels decode to {decoded} bytes, over the "
                         f"{self.max_decoded}-byte limit of a browser", pixels.image_id)
            return None
        if len(self._pending) >= self.max_pending:
            return None                       # asked for again when one of those is done
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dullahan-images")
        self._pending.add(generation)
        future = self._executor.submit(encode_image, pixels)
        future.add_done_callback(lambda f: self._from_thread(generation, f))
        return None

    def _from_thread(self, generation: int, future: Future[WireImage]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._finish, generation, future)
        except RuntimeError:
            pass                              # the loop is closed: the server is going away

    def _finish(self, generation: int, future: Future[WireImage]) -> None:
        """On the loop: keep the result, then let the caller ask again (for this image and any held back)."""
        self._pending.discard(generation)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            detail = str(error) if isinstance(error, ImageRefused) else repr(error)
            self._refuse(generation, f"encoding failed: {detail}"[:300], None)
        else:
            image = future.result()
            self._done[generation] = image
            self._bytes += len(image.data)
            self.encoded_count += 1
            while len(self._done) > 1 and (self._bytes > self.max_bytes or len(self._done) > self.max_entries):
                _gen, old = self._done.popitem(last=False)
                self._bytes -= len(old.data)
        self._on_ready()

    def _refuse(self, generation: int, why: str, image_id: int | None) -> None:
        self._refused[generation] = None
        if len(self._refused) > REFUSALS_KEPT:
            self._refused.popitem(last=False)
        log.warning("images", "image not sent to browsers", image=image_id, generation=generation, why=why)
