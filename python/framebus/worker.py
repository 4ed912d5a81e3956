"""The worker: ``python -m framebus.worker --module M --stage ID`` runs one Python stage for a
framebus host over the worker protocol (``docs/worker_protocol.md``).

It takes its socket from ``FRAMEBUS_WORKER_FD``, imports module ``M``, finds the ``Stage``
subclass whose ``id`` is ``ID``, and answers the host's requests one by one until ``shutdown``
(exit 0) or EOF (exit 0). A handshake mismatch (protocol version, stage id, a module that does
not import) or a message that breaks the protocol answers ``fatal`` and exits with code 2.
An exception in the stage's ``process`` becomes the frame's ``error``; the worker goes on.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Union

from .context import Context, FrameInfo, Point
from .frames import Buffers, FrameError
from .params import ParamError, check_args, merge_params, params_to_json
from .protocol import (
    MAX_DATAGRAM,
    PROTOCOL,
    WORKER_FD_ENV,
    Channel,
    ProtocolError,
    close_fds,
    encode,
)
from .stage import CommandError, Stage, find_stage

__all__ = ["Worker", "main"]

#: Exit code after a ``fatal`` answer.
EXIT_FATAL = 2


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _error_text(e: BaseException) -> str:
    """``ValueError: bad frame``, as a stage's error reads in the snapshot."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Worker:
    """One stage served over one channel. ``run()`` returns the exit code."""

    def __init__(self, channel: Channel, module: str, stage_id: str) -> None:
        self.ch = channel
        self.module = module
        self.stage_id = stage_id
        self.cls: Optional[type] = None
        self.load_error: Optional[str] = None
        self.stage: Optional[Stage] = None
        self.buffers = Buffers()
        self.bad_buffers: Dict[int, str] = {}
        self.ctx = Context()
        self.greeted = False
        self.description: Dict[str, Any] = {}
        self.handlers: Dict[str, Callable[[Dict[str, Any], List[int]], Any]] = {
            "ping": self.on_ping,
            "describe": self.on_describe,
            "init": self.on_init,
            "buffer": self.on_buffer,
            "drop_buffer": self.on_drop_buffer,
            "frame": self.on_frame,
            "set_params": self.on_set_params,
            "command": self.on_command,
            "reset": self.on_reset,
            "heartbeat": self.on_heartbeat,
            "shutdown": self.on_shutdown,
        }
        self._load()

    def _load(self) -> None:
        try:
            mod = importlib.import_module(self.module)
        except BaseException as e:  # noqa: BLE001 - any import failure is reported to the host
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            self.load_error = f"cannot import module `{self.module}`: {tb}"
            # The whole traceback on stderr: the host quotes its last lines in the error.
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            return
        try:
            cls = find_stage(mod, self.stage_id)
        except LookupError as e:
            self.load_error = str(e.args[0] if e.args else e)
            return
        try:
            self.description = {"type": "description", "info": cls.info(), "params_schema": cls.schema(),
                                "params": cls.defaults()}
        except Exception as e:  # noqa: BLE001 - e.g. Params is not a dataclass
            self.load_error = f"stage `{self.stage_id}` is not usable: {_error_text(e)}"
            return
        self.cls = cls

    # The loop.
    def run(self) -> int:
        """Serves requests until shutdown or EOF; returns the exit code."""
        try:
            while True:
                try:
                    msg, fds = self.ch.recv_msg()
                except ProtocolError as e:
                    self.fatal(f"protocol error: {e}")
                if msg is None:
                    return 0
                kind = msg["type"]
                handler = self.handlers.get(kind)
                if handler is None:
                    close_fds(fds)
                    self.fatal(f"protocol error: unknown message type `{kind}`")
                if kind != "buffer":
                    close_fds(fds)
                if not self.greeted and kind != "ping":
                    close_fds(fds)
                    self.fatal(f"protocol error: `{kind}` before the `ping` handshake")
                try:
                    answer = handler(msg, fds)
                except (KeyError, TypeError, ValueError) as e:
                    self.fatal(f"protocol error: malformed `{kind}` message: {_error_text(e)}")
                if answer is not None:
                    self.answer(kind, msg, answer)
                if kind == "shutdown":
                    return 0
        except _Exit as e:
            return e.code
        except (BrokenPipeError, ConnectionResetError):
            return 0
        finally:
            self.buffers.close()

    def answer(self, kind: str, request: Dict[str, Any], answer: Any) -> None:
        """Sends an answer (a message or its encoded bytes). One the socket refuses as too big
        for its buffer (EMSGSIZE) is answered as the request's error instead."""
        data = answer if isinstance(answer, bytes) else encode(answer)
        try:
            self.ch.send_bytes(data)
        except OSError as e:
            if e.errno != errno.EMSGSIZE:
                raise
            limit = self.ch.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            why = (f"the answer to `{kind}` is {len(data)} bytes, more than the socket takes "
                   f"(send buffer {limit} bytes)")
            if kind == "frame":
                f = request.get("frame") or {}
                self.ch.send_bytes(self._result(request.get("seq"), f.get("frame_id", 0), why, 0))
            else:
                self.send({"type": "error", "kind": "failed", "message": why})

    def send(self, msg: Dict[str, Any]) -> None:
        """Sends one answer."""
        self.ch.send_bytes(encode(msg))

    def fatal(self, message: str) -> None:
        """Answers ``fatal`` and exits with code 2."""
        try:
            self.send({"type": "fatal", "message": message})
        except OSError:
            pass
        print(f"framebus worker ({self.stage_id}): {message}", file=sys.stderr)
        raise _Exit(EXIT_FATAL)

    # Handshake.
    def on_ping(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        protocol = msg.get("protocol")
        stage = msg.get("stage")
        if protocol != PROTOCOL or isinstance(protocol, bool):
            self.fatal(f"protocol {protocol!r} is not supported: this worker speaks protocol {PROTOCOL}")
        if stage != self.stage_id:
            self.fatal(f"asked for stage `{stage}`, but this worker was started for `{self.stage_id}`")
        if self.load_error is not None:
            self.fatal(self.load_error)
        self.greeted = True
        # No optional features: this SDK sleeps on the socket (no `spin` doorbell).
        return {"type": "pong", "protocol": PROTOCOL, "stage": self.stage_id, "runtime": "python",
                "pid": os.getpid(), "features": []}

    def on_describe(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        return self.description

    def _cls(self) -> Any:
        assert self.cls is not None  # the ping checked it
        return self.cls

    def on_init(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        cls = self._cls()
        instance_id = str(msg["id"])
        source = str(msg.get("source") or "")
        try:
            params = merge_params(cls.Params, None, msg.get("params"))
        except ParamError as e:
            return {"type": "error", "kind": "bad_args", "message": str(e)}
        if self.stage is not None:
            self._stop()
        try:
            stage = cls()
            stage.instance_id = instance_id
            stage.source = source
            stage.params = params
            stage.start()
        except Exception as e:  # noqa: BLE001 - the stage's own failure, reported
            return {"type": "error", "kind": "failed", "message": _error_text(e)}
        self.stage = stage
        return {"type": "ready", "params": params_to_json(stage.params)}

    # Frames.
    def on_buffer(self, msg: Dict[str, Any], fds: List[int]) -> None:
        buffer_id = int(msg["buffer"])
        length = int(msg["len"])
        if len(fds) != 1:
            close_fds(fds)
            self.fatal(f"protocol error: `buffer` {buffer_id} came with {len(fds)} file descriptors, not 1")
        self.bad_buffers.pop(buffer_id, None)
        try:
            self.buffers.add(buffer_id, fds[0], length)
        except (OSError, ValueError) as e:
            # No answer to a `buffer`: frames naming it get this as their error.
            self.buffers.drop(buffer_id)
            self.bad_buffers[buffer_id] = f"buffer {buffer_id} could not be mapped: {_error_text(e)}"
        return None

    def on_drop_buffer(self, msg: Dict[str, Any], fds: List[int]) -> None:
        buffer_id = int(msg["buffer"])
        self.buffers.drop(buffer_id)
        self.bad_buffers.pop(buffer_id, None)
        return None

    def on_frame(self, msg: Dict[str, Any], fds: List[int]) -> bytes:
        seq = msg["seq"]
        f = msg["frame"]
        info = FrameInfo(int(f["frame_id"]), str(f["source"]), int(f.get("source_index", 0)),
                         int(f["t_ns"]), int(f["width"]), int(f["height"]), int(f["stride"]),
                         str(f["format"]))
        points = [Point(str(p["name"]), float(p["x"]), float(p["y"]), float(p.get("score", 1.0)))
                  for p in msg.get("points") or ()]
        ctx = self.ctx
        ctx.begin(info, points, str(msg.get("state", "running")))
        error: Optional[str] = None
        t0 = time.perf_counter_ns()
        if self.stage is None:
            error = "the stage is not initialised (no `init` yet)"
        else:
            buffer_id = int(msg["buffer"])
            try:
                frame = self.buffers.view(buffer_id, int(msg.get("offset", 0)), info.format,
                                          info.width, info.height, info.stride)
            except FrameError as e:
                error = self.bad_buffers.get(buffer_id) or str(e)
            else:
                try:
                    self.stage.process(frame, ctx)
                except Exception as e:  # noqa: BLE001 - the stage's error for this frame
                    error = _error_text(e)
        process_us = (time.perf_counter_ns() - t0) // 1000
        return self._result(seq, info.frame_id, error, process_us)

    def _result(self, seq: Any, frame_id: int, error: Optional[str], process_us: int) -> bytes:
        """The encoded ``result``. NaN, objects json cannot write and oversize results become
        the stage's error rather than an answer the host cannot parse."""
        ctx = self.ctx
        if error is not None:
            return encode({"type": "result", "seq": seq, "frame_id": frame_id, "flow": "continue",
                           "output": None, "signals": [], "points": [], "widgets": [],
                           "notifications": [], "error": error, "process_us": process_us})
        result = {"type": "result", "seq": seq, "frame_id": frame_id, "flow": ctx.flow,
                  "output": ctx.result, "signals": ctx.signals, "points": ctx.published,
                  "widgets": ctx.widgets, "notifications": ctx.notifications, "error": None,
                  "process_us": process_us}
        try:
            data = encode(result)
        except (TypeError, ValueError) as e:
            return self._result(seq, frame_id, f"the stage's result is not JSON: {_error_text(e)}",
                                process_us)
        if len(data) > MAX_DATAGRAM:
            return self._result(seq, frame_id, f"the stage's result is {len(data)} bytes, over the "
                                f"{MAX_DATAGRAM} byte limit", process_us)
        return data

    # Commands.
    def _no_stage(self) -> Dict[str, Any]:
        return {"type": "error", "kind": "failed", "message": "the stage is not initialised (no `init` yet)"}

    def on_set_params(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        if self.stage is None:
            return self._no_stage()
        cls = self._cls()
        try:
            params = merge_params(cls.Params, self.stage.params, msg.get("params"))
        except ParamError as e:
            return {"type": "error", "kind": "bad_args", "message": str(e)}
        try:
            self.stage.set_params(params)
        except Exception as e:  # noqa: BLE001
            return {"type": "error", "kind": "failed", "message": _error_text(e)}
        return {"type": "params", "params": params_to_json(self.stage.params)}

    def on_command(self, msg: Dict[str, Any], fds: List[int]) -> Union[bytes, Dict[str, Any]]:
        name = str(msg["name"])
        args = msg.get("args")
        if args is None:
            args = {}
        if self.stage is None:
            return self._no_stage()
        spec = self._cls().commands.get(name)
        if spec is None:
            return {"type": "error", "kind": "unknown_command",
                    "message": f"`{self.stage.instance_id}` has no command `{name}`"}
        if not isinstance(args, dict):
            return {"type": "error", "kind": "bad_args",
                    "message": f"`{name}` needs an object of args, not {encode(args).decode()}"}
        try:
            if spec.args_type is not None:
                args = merge_params(spec.args_type, None, args)
            else:
                check_args(spec.args_schema, args)
        except ParamError as e:
            return {"type": "error", "kind": "bad_args", "message": f"`{name}`: {e}"}
        try:
            value = getattr(self.stage, spec.method)(args)
        except CommandError as e:
            return {"type": "error", "kind": e.kind, "message": str(e)}
        except Exception as e:  # noqa: BLE001
            return {"type": "error", "kind": "failed", "message": _error_text(e)}
        try:
            data = encode({"type": "reply", "value": value})
        except (TypeError, ValueError) as e:
            return {"type": "error", "kind": "failed",
                    "message": f"`{name}` replied with something that is not JSON: {_error_text(e)}"}
        if len(data) > MAX_DATAGRAM:
            return {"type": "error", "kind": "failed",
                    "message": f"`{name}`'s reply is {len(data)} bytes, over the {MAX_DATAGRAM} byte limit"}
        return data

    def on_reset(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        if self.stage is not None:
            try:
                self.stage.reset()
            except Exception as e:  # noqa: BLE001
                return {"type": "error", "kind": "failed", "message": _error_text(e)}
        return {"type": "ok"}

    def on_heartbeat(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        return {"type": "heartbeat", "n": msg["n"]}

    def on_shutdown(self, msg: Dict[str, Any], fds: List[int]) -> Dict[str, Any]:
        self._stop()
        return {"type": "ok"}

    def _stop(self) -> None:
        stage, self.stage = self.stage, None
        if stage is None:
            return
        try:
            stage.stop()
        except Exception:  # noqa: BLE001 - stopping goes on; the error is logged
            print(f"framebus worker ({self.stage_id}): stop failed:", file=sys.stderr)
            traceback.print_exc()


def _die_with_parent() -> None:
    """Asks Linux to SIGKILL this process when its parent dies (as a Rust worker does)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m framebus.worker``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m framebus.worker",
                                     description="Run one framebus Python stage for a framebus host.")
    parser.add_argument("--module", required=True, help="module that defines the stage (my_stages.brightness)")
    parser.add_argument("--stage", required=True, help="the stage's id (py_brightness)")
    args = parser.parse_args(argv)
    fd_text = os.environ.get(WORKER_FD_ENV)
    if not fd_text or not fd_text.isdigit():
        print(f"framebus worker: {WORKER_FD_ENV} must name the socket's file descriptor "
              "(the framebus host starts workers; see docs/worker_protocol.md)", file=sys.stderr)
        return EXIT_FATAL
    try:
        sock = socket.socket(fileno=int(fd_text))
    except OSError as e:
        print(f"framebus worker: fd {fd_text} from {WORKER_FD_ENV} is not a socket: {e}", file=sys.stderr)
        return EXIT_FATAL
    if sock.type != socket.SOCK_SEQPACKET or sock.family != socket.AF_UNIX:
        print(f"framebus worker: fd {fd_text} is not an AF_UNIX SOCK_SEQPACKET socket", file=sys.stderr)
        return EXIT_FATAL
    # The host stops workers through the protocol; Ctrl-C in a terminal is for the host.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    sys.stdout = sys.stderr  # a stage's print() must never reach the host's stdout stream
    worker = Worker(Channel(sock), args.module, args.stage)
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
