"""Constants and helpers of the framebus worker protocol (version 2, ``docs/worker_protocol.md``):
one JSON object per ``SOCK_SEQPACKET`` datagram of at most 4 MiB, file descriptors as
``SCM_RIGHTS`` on ``buffer`` messages. Used by the worker and by :mod:`framebus.testing`'s host.
"""

from __future__ import annotations

import array
import json
import socket
from typing import Any, List, Tuple

__all__ = [
    "PROTOCOL",
    "MAX_DATAGRAM",
    "WORKER_FD_ENV",
    "ProtocolError",
    "encode",
    "json_default",
    "Channel",
]

#: The protocol version this SDK speaks.
PROTOCOL = 2
#: Largest datagram either side sends or accepts.
MAX_DATAGRAM = 4 * 1024 * 1024
#: Environment variable naming the worker's end of the socket pair.
WORKER_FD_ENV = "FRAMEBUS_WORKER_FD"
#: At most this many fds are accepted with one message.
MAX_FDS = 16


class ProtocolError(Exception):
    """A datagram that breaks the protocol (unparsable, over the limit, wrong fields)."""


def json_default(o: Any) -> Any:
    """JSON for numpy scalars and arrays, tuples' friends, and dataclasses in results."""
    item = getattr(o, "item", None)
    if item is not None and getattr(o, "shape", None) == ():
        return item()
    tolist = getattr(o, "tolist", None)
    if tolist is not None:
        return tolist()
    import dataclasses

    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, (set, frozenset)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=json_default)


def encode(msg: Any) -> bytes:
    """One message as compact UTF-8 JSON; raises ValueError/TypeError for NaN or non-JSON."""
    return _encoder.encode(msg).encode("utf-8")


class Channel:
    """One end of the SEQPACKET socket: whole datagrams in and out, fds alongside.

    Receives into one preallocated buffer, so a frame message costs no large allocation.
    """

    __slots__ = ("sock", "_buf", "_anc")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray(MAX_DATAGRAM + 1)
        self._anc = socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize)
        grow_send_buffer(sock)

    def recv(self) -> Tuple[bytes, List[int]]:
        """The next datagram and the fds that came with it; ``b""`` at EOF.

        Raises :class:`ProtocolError` for a datagram over the limit (its fds are closed).
        """
        n, anc, flags, _ = self.sock.recvmsg_into([self._buf], self._anc)
        fds: List[int] = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[: len(data) - len(data) % a.itemsize])
                fds.extend(a)
        if n > MAX_DATAGRAM or flags & socket.MSG_TRUNC:
            close_fds(fds)
            raise ProtocolError(f"a datagram over the {MAX_DATAGRAM} byte limit")
        if flags & socket.MSG_CTRUNC:
            close_fds(fds)
            raise ProtocolError(f"more than {MAX_FDS} file descriptors on one message")
        return bytes(memoryview(self._buf)[:n]), fds

    def recv_msg(self) -> Tuple[Any, List[int]]:
        """The next message parsed (None at EOF) and its fds.

        Raises :class:`ProtocolError` for unparsable JSON or a message without ``type``.
        """
        data, fds = self.recv()
        if not data:
            close_fds(fds)
            return None, []
        try:
            msg = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            close_fds(fds)
            raise ProtocolError(f"unparsable message ({e}): {data[:80]!r}") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            close_fds(fds)
            raise ProtocolError(f"a message must be a JSON object with a `type`: {data[:80]!r}")
        return msg, fds

    def send_bytes(self, data: bytes, fds: Tuple[int, ...] = ()) -> None:
        """Sends one datagram (with ``fds`` as SCM_RIGHTS)."""
        if len(data) > MAX_DATAGRAM:
            raise ProtocolError(f"message of {len(data)} bytes is over the {MAX_DATAGRAM} byte limit")
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.send(data)

    def send(self, msg: Any, fds: Tuple[int, ...] = ()) -> bytes:
        """Sends one message; returns its bytes."""
        data = encode(msg)
        self.send_bytes(data, fds)
        return data


def grow_send_buffer(sock: socket.socket) -> int:
    """Raises the socket's send buffer so a datagram up to MAX_DATAGRAM fits (a unix datagram
    larger than the sender's buffer fails with EMSGSIZE; Linux's default buffer takes ~200 KiB).
    Uses SO_SNDBUFFORCE when allowed, else SO_SNDBUF (capped by net.core.wmem_max).
    Returns the buffer size in force."""
    want = 2 * MAX_DATAGRAM + 64 * 1024
    force = getattr(socket, "SO_SNDBUFFORCE", 32)
    for opt in (force, socket.SO_SNDBUF):
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= want:
                break
            sock.setsockopt(socket.SOL_SOCKET, opt, want)
        except OSError:
            continue
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)


def close_fds(fds: List[int]) -> None:
    """Closes fds that arrived with a message nobody takes them from."""
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
