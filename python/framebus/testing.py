"""Run a Python stage in a real worker process from Python: the host side of the worker
protocol, for tests and benchmarks of stages.

``WorkerHost`` starts ``python -m framebus.worker`` on a ``SOCK_SEQPACKET`` socket pair, as
framebus does, and speaks the protocol to it; ``SharedBuffer`` is a memfd mapped on the host
side, registered with the worker once and written between frames (the worker sees the change
without the buffer being sent again)::

    from framebus.testing import WorkerHost

    with WorkerHost("my_stages.brightness", "py_brightness") as w:
        w.handshake()
        w.init({"threshold": 200})
        result = w.process(np.full((480, 640), 255, np.uint8))
        assert result["signals"] == [{"name": "bright", "value": 1.0}]

``check`` (e.g. ``WireSchema.check``) sees every message in both directions.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .frames import frame_shape
from .protocol import PROTOCOL, WORKER_FD_ENV, Channel, ProtocolError, encode

__all__ = ["SharedBuffer", "WorkerHost", "WireSchema", "WORKER_TO_HOST", "HOST_TO_WORKER"]

#: Direction names ``check`` callbacks get.
WORKER_TO_HOST = "worker_to_host"
HOST_TO_WORKER = "host_to_worker"

#: Where the generated JSON Schema of every protocol message lives in the package.
WIRE_SCHEMA_PATH = Path(__file__).with_name("wire_schema.json")


class SharedBuffer:
    """A memfd of ``size`` bytes, mapped read-write on the host side."""

    def __init__(self, size: int, name: str = "framebus-frames") -> None:
        self.size = size
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.map = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED,
                             prot=mmap.PROT_READ | mmap.PROT_WRITE)

    def array(self, fmt: str, width: int, height: int, stride: int, offset: int = 0) -> np.ndarray:
        """A writable view of a frame in this buffer (the same layout the worker reads)."""
        shape, strides, extent = frame_shape(fmt, width, height, stride)
        if offset + extent > self.size:
            raise ValueError(f"frame does not fit the {self.size} byte buffer")
        return np.ndarray(shape, dtype=np.uint8, buffer=self.map, offset=offset, strides=strides)

    def close(self) -> None:
        """Unmaps and closes the memfd."""
        self.map.close()
        os.close(self.fd)


def _format_of(a: np.ndarray, fmt: Optional[str]) -> str:
    if fmt is not None:
        return fmt
    if a.ndim == 2:
        return "gray8"
    if a.ndim == 3 and a.shape[2] == 3:
        return "rgb8"
    if a.ndim == 3 and a.shape[2] == 2:
        return "yuyv"
    raise ValueError(f"cannot tell the pixel format of an array of shape {a.shape}: pass fmt=")


class WorkerHost:
    """A stage in a real worker process, driven over the worker protocol.

    ``module``/``stage`` are what a config's ``module``/``plugin`` name; ``path`` is prepended to
    the worker's ``PYTHONPATH`` (framebus prepends the config file's directory) and ``cwd`` is
    its working directory; ``pass_fds`` are more fds the worker inherits. ``timeout`` (seconds)
    bounds every wait, so a broken worker fails a test instead of hanging it.
    ``check(direction, message)`` sees every message.
    """

    def __init__(self, module: str, stage: str, *, python: Optional[str] = None,
                 cwd: Optional[str] = None, path: Iterable[str] = (),
                 env: Optional[Dict[str, str]] = None, timeout: float = 30.0,
                 check: Optional[Callable[[str, Dict[str, Any]], None]] = None,
                 pass_fds: Sequence[int] = (), start: bool = True) -> None:
        self.module = module
        self.stage = stage
        self.python = python or sys.executable
        self.cwd = cwd
        self.path = [str(p) for p in path]
        self.env = env
        self.timeout = timeout
        self.check = check
        self.pass_fds = tuple(pass_fds)
        self.proc: Optional[subprocess.Popen] = None
        self.ch: Optional[Channel] = None
        self.seq = 0
        self.next_buffer = 1
        self.buffers: Dict[int, SharedBuffer] = {}
        self._auto: Dict[Tuple[int, str], Tuple[int, SharedBuffer]] = {}
        self.frame_id = 0
        if start:
            self.start()

    # Process.
    def start(self) -> None:
        """Starts the worker with its end of a fresh socket pair."""
        host, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ if self.env is None else self.env)
        env[WORKER_FD_ENV] = str(child.fileno())
        pythonpath = self.path + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        try:
            self.proc = subprocess.Popen(
                [self.python, "-m", "framebus.worker", "--module", self.module, "--stage", self.stage],
                pass_fds=(child.fileno(), *self.pass_fds), env=env, cwd=self.cwd,
            )
        finally:
            child.close()
        host.settimeout(self.timeout)
        self.ch = Channel(host)

    @property
    def pid(self) -> int:
        """The worker's pid."""
        assert self.proc is not None
        return self.proc.pid

    def wait(self) -> int:
        """Waits for the worker to exit; returns its exit code."""
        assert self.proc is not None
        return self.proc.wait(self.timeout)

    def close_socket(self) -> None:
        """Closes the host's end (the worker sees EOF)."""
        if self.ch is not None:
            self.ch.sock.close()

    def close(self) -> None:
        """Shuts the worker down (``shutdown``, then SIGKILL if it lingers) and frees buffers."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                if self.ch is not None and self.ch.sock.fileno() >= 0:
                    self.ch.send({"type": "shutdown"})
                    self.ch.recv_msg()
                self.proc.wait(self.timeout)
            except (OSError, ProtocolError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.ch is not None:
            self.ch.sock.close()
        for buf in self.buffers.values():
            buf.close()
        self.buffers.clear()
        self._auto.clear()

    def __enter__(self) -> "WorkerHost":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # Messages.
    def send(self, msg: Dict[str, Any], fds: Sequence[int] = ()) -> None:
        """Sends one message (checked first)."""
        assert self.ch is not None
        if self.check is not None:
            self.check(HOST_TO_WORKER, msg)
        self.ch.send(msg, tuple(fds))

    def send_raw(self, data: bytes) -> None:
        """Sends one datagram as it is (to test how the worker takes garbage)."""
        assert self.ch is not None
        self.ch.send_bytes(data)

    def recv(self) -> Optional[Dict[str, Any]]:
        """The worker's next message (checked), or None at EOF."""
        assert self.ch is not None
        msg, fds = self.ch.recv_msg()
        for fd in fds:
            os.close(fd)
        if msg is not None and self.check is not None:
            self.check(WORKER_TO_HOST, msg)
        return msg

    def request(self, msg: Dict[str, Any]) -> Dict[str, Any]:
        """Sends a request and returns its answer; EOF raises ProtocolError."""
        self.send(msg)
        answer = self.recv()
        if answer is None:
            raise ProtocolError(f"the worker closed the socket instead of answering {msg['type']}")
        return answer

    def _expect(self, answer: Dict[str, Any], *types: str) -> Dict[str, Any]:
        if answer["type"] not in types:
            raise ProtocolError(f"expected {' or '.join(types)}, got {json.dumps(answer)}")
        return answer

    # Protocol steps.
    def handshake(self) -> Dict[str, Any]:
        """``ping`` then ``describe``; returns the description (raises on a mismatch)."""
        pong = self._expect(self.request({"type": "ping", "protocol": PROTOCOL, "stage": self.stage}), "pong")
        if pong["protocol"] != PROTOCOL or pong["stage"] != self.stage:
            raise ProtocolError(f"pong does not match: {json.dumps(pong)}")
        return self._expect(self.request({"type": "describe"}), "description")

    def init(self, params: Optional[Dict[str, Any]] = None, id: Optional[str] = None,  # noqa: A002
             source: str = "camera_0") -> Dict[str, Any]:
        """``init``; returns ``ready`` or ``error``."""
        return self.request({"type": "init", "id": id or self.stage, "source": source, "params": params or {}})

    def add_buffer(self, buf: SharedBuffer, buffer_id: Optional[int] = None) -> int:
        """Registers ``buf`` with the worker (its fd over SCM_RIGHTS); returns its id."""
        if buffer_id is None:
            buffer_id = self.next_buffer
            self.next_buffer += 1
        self.buffers[buffer_id] = buf
        self.send({"type": "buffer", "buffer": buffer_id, "len": buf.size}, [buf.fd])
        return buffer_id

    def drop_buffer(self, buffer_id: int) -> None:
        """Tells the worker to unmap buffer ``buffer_id``."""
        self.send({"type": "drop_buffer", "buffer": buffer_id})

    def frame(self, buffer_id: int, fmt: str, width: int, height: int, stride: int, *,
              offset: int = 0, frame_id: Optional[int] = None, t_ns: Optional[int] = None,
              points: Sequence[Dict[str, Any]] = (), state: str = "running",
              source: str = "camera_0") -> Dict[str, Any]:
        """Sends a ``frame`` in a registered buffer; returns its ``result`` (checked to be the
        answer to this frame)."""
        self.seq += 1
        if frame_id is None:
            self.frame_id += 1
            frame_id = self.frame_id
        msg = {"type": "frame", "seq": self.seq, "buffer": buffer_id, "offset": offset,
               "frame": {"frame_id": frame_id, "source": source, "source_index": 0,
                         "t_ns": t_ns if t_ns is not None else frame_id * 33_333_333,
                         "width": width, "height": height, "stride": stride, "format": fmt},
               "state": state, "points": list(points)}
        answer = self._expect(self.request(msg), "result")
        if answer["seq"] != self.seq or answer["frame_id"] != frame_id:
            raise ProtocolError(f"result for seq {answer['seq']} frame {answer['frame_id']}, "
                                f"sent seq {self.seq} frame {frame_id}")
        return answer

    def process(self, image: np.ndarray, fmt: Optional[str] = None, **kw: Any) -> Dict[str, Any]:
        """Copies ``image`` into a shared buffer of its size (registered once per size) and sends
        it as a frame; returns the ``result``."""
        fmt = _format_of(image, fmt)
        height = image.shape[0] if fmt != "nv12" else image.shape[0] * 2 // 3
        width = image.shape[1]
        stride = int(np.prod(image.shape[1:]))
        key = (image.nbytes, fmt)
        if key not in self._auto:
            buf = SharedBuffer(image.nbytes)
            self._auto[key] = (self.add_buffer(buf), buf)
        buffer_id, buf = self._auto[key]
        buf.array(fmt, width, height, stride)[...] = image
        return self.frame(buffer_id, fmt, width, height, stride, **kw)

    def set_params(self, params: Any) -> Dict[str, Any]:
        """``set_params``; returns ``params`` or ``error``."""
        return self.request({"type": "set_params", "params": params})

    def command(self, name: str, args: Any = None) -> Dict[str, Any]:
        """A custom command; returns ``reply`` or ``error``."""
        return self.request({"type": "command", "name": name, "args": {} if args is None else args})


class WireSchema:
    """The JSON Schema of every protocol message (``framebus/wire_schema.json``, generated from
    ``crates/protocol``), as a ``check`` for :class:`WorkerHost`.

    The file's root may validate any message, or hold one schema per direction (under
    ``properties``, ``$defs``/``definitions`` or top-level keys whose names say host-to-worker
    or worker-to-host); each message is checked against its direction's schema when found,
    else against the root. Needs the ``jsonschema`` package.
    """

    def __init__(self, schema: Dict[str, Any]) -> None:
        import jsonschema

        self.root = schema
        self._jsonschema = jsonschema
        self.validators: Dict[str, Any] = {}
        for direction in (WORKER_TO_HOST, HOST_TO_WORKER):
            sub = self._find(direction)
            self.validators[direction] = self._validator(sub if sub is not None else schema)
        self.split = all(self._find(d) is not None for d in (WORKER_TO_HOST, HOST_TO_WORKER))
        self.seen: Dict[str, set] = {WORKER_TO_HOST: set(), HOST_TO_WORKER: set()}

    @classmethod
    def load(cls, path: Path = WIRE_SCHEMA_PATH) -> "WireSchema":
        """Reads the schema file."""
        return cls(json.loads(Path(path).read_text()))

    _NAMES = {
        WORKER_TO_HOST: ("workertohost", "fromworker", "workermsg", "workermessage", "tohost",
                         "workerreply", "workeranswer", "workerresponse"),
        HOST_TO_WORKER: ("hosttoworker", "fromhost", "hostmsg", "hostmessage", "toworker",
                         "hostrequest"),
    }

    def _find(self, direction: str) -> Optional[Dict[str, Any]]:
        """The sub-schema for ``direction``, by name, wrapped so its ``$ref``s resolve."""
        places: List[Tuple[str, Dict[str, Any]]] = []
        for key in ("$defs", "definitions", "properties"):
            if isinstance(self.root.get(key), dict):
                places.append((key, self.root[key]))
        places.append(("", self.root))
        for wanted in self._NAMES[direction]:
            for where, table in places:
                for name, sub in table.items():
                    if not isinstance(sub, dict) or name.startswith("$"):
                        continue
                    norm = name.lower().replace("_", "").replace("-", "")
                    if norm == wanted or (len(wanted) > 6 and wanted in norm):
                        return self._wrap(where, name, sub)
        return None

    def _wrap(self, where: str, name: str, sub: Dict[str, Any]) -> Dict[str, Any]:
        if "$defs" in sub or "definitions" in sub or "$schema" in sub:
            return sub  # a whole schema of its own (its refs are its own)
        pointer = "#/" + (f"{where}/" if where else "") + name.replace("~", "~0").replace("/", "~1")
        wrapped = {k: v for k, v in self.root.items() if k in ("$schema", "$defs", "definitions", "properties")}
        wrapped["$ref"] = pointer
        return wrapped

    def _validator(self, schema: Dict[str, Any]) -> Any:
        cls = self._jsonschema.validators.validator_for(schema, default=self._jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        return cls(schema)

    def check(self, direction: str, msg: Dict[str, Any]) -> None:
        """Raises ``AssertionError`` naming the message and the schema error if ``msg`` does not
        fit its direction's schema."""
        errors = sorted(self.validators[direction].iter_errors(msg), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            raise AssertionError(
                f"{direction} message does not fit wire_schema.json: {e.message} at "
                f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {encode(msg)[:500]!r}"
            )
        self.seen[direction].add(msg.get("type"))

    def is_valid(self, direction: str, msg: Dict[str, Any]) -> bool:
        """Whether ``msg`` fits its direction's schema."""
        return self.validators[direction].is_valid(msg)
