"""Shared-memory frame buffers on the worker side: each ``buffer`` message's memfd is mapped
once, read-only and shared, and kept by id; a frame is a read-only numpy view into it at the
frame's offset with its stride (no pixel is copied). Views are cached per buffer id, offset
and geometry, so a steady stream of frames from the host's pool builds no new arrays.
"""

from __future__ import annotations

import mmap
import os
from typing import Dict, Tuple

import numpy as np

__all__ = ["Buffers", "FrameError", "frame_shape"]


class FrameError(ValueError):
    """A frame that does not fit its buffer, or names an unknown buffer or format."""


def frame_shape(fmt: str, width: int, height: int, stride: int) -> Tuple[Tuple[int, ...], Tuple[int, ...], int]:
    """Shape, strides and byte extent of a frame of format ``fmt`` in a buffer.

    ``gray8`` (h, w), ``rgb8``/``bgr8`` (h, w, 3), ``yuyv`` (h, w, 2), ``nv12`` (h + h/2 rows
    of w: the Y plane then the interleaved UV plane).
    """
    if width <= 0 or height <= 0:
        raise FrameError(f"frame size {width}x{height} is empty")
    if fmt == "gray8":
        shape, strides, row = (height, width), (stride, 1), width
    elif fmt in ("rgb8", "bgr8"):
        shape, strides, row = (height, width, 3), (stride, 3, 1), width * 3
    elif fmt == "yuyv":
        shape, strides, row = (height, width, 2), (stride, 2, 1), width * 2
    elif fmt == "nv12":
        rows = height + (height + 1) // 2
        shape, strides, row = (rows, width), (stride, 1), width
    else:
        raise FrameError(f"unknown pixel format `{fmt}` (gray8, rgb8, bgr8, yuyv, nv12)")
    if stride < row:
        raise FrameError(f"stride {stride} is below the row size {row} of {width}px {fmt}")
    extent = stride * (shape[0] - 1) + row
    return shape, strides, extent


class Buffers:
    """The buffers the host registered, by id, and cached frame views into them."""

    __slots__ = ("_maps", "_views")

    def __init__(self) -> None:
        self._maps: Dict[int, mmap.mmap] = {}
        self._views: Dict[Tuple[int, int, str, int, int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._maps)

    def add(self, buffer_id: int, fd: int, length: int) -> None:
        """Maps ``fd`` read-only and shared as buffer ``buffer_id``; closes ``fd``."""
        try:
            if length <= 0:
                raise FrameError(f"buffer {buffer_id} has length {length}")
            size = os.fstat(fd).st_size
            if size < length:
                raise FrameError(f"buffer {buffer_id}: fd holds {size} bytes, not {length}")
            m = mmap.mmap(fd, length, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        self.drop(buffer_id)
        self._maps[buffer_id] = m

    def drop(self, buffer_id: int) -> bool:
        """Unmaps buffer ``buffer_id``; returns whether it was known."""
        m = self._maps.pop(buffer_id, None)
        if m is None:
            return False
        for key in [k for k in self._views if k[0] == buffer_id]:
            del self._views[key]
        try:
            m.close()
        except BufferError:
            # A stage kept a view of this buffer: the mapping goes when that view does.
            pass
        return True

    def view(self, buffer_id: int, offset: int, fmt: str, width: int, height: int, stride: int) -> np.ndarray:
        """A read-only numpy view of a frame in buffer ``buffer_id`` (cached)."""
        key = (buffer_id, offset, fmt, width, height, stride)
        v = self._views.get(key)
        if v is not None:
            return v
        m = self._maps.get(buffer_id)
        if m is None:
            raise FrameError(f"unknown buffer {buffer_id} (registered: {sorted(self._maps)})")
        shape, strides, extent = frame_shape(fmt, width, height, stride)
        if offset < 0 or offset + extent > len(m):
            raise FrameError(
                f"a {width}x{height} {fmt} frame (stride {stride}) at offset {offset} does not fit "
                f"buffer {buffer_id} of {len(m)} bytes"
            )
        v = np.ndarray(shape, dtype=np.uint8, buffer=m, offset=offset, strides=strides)
        v.flags.writeable = False
        if len(self._views) >= 256:
            self._views.clear()
        self._views[key] = v
        return v

    def close(self) -> None:
        """Unmaps every buffer."""
        for buffer_id in list(self._maps):
            self.drop(buffer_id)
