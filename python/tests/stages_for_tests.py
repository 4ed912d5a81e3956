"""Stages the SDK's tests run in real worker processes."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import List, Literal, Optional

import numpy as np

import framebus as fb


@dataclass
class AimArgs:
    """Args of the `aim` command."""

    corners: int = fb.param(4, min=3, max=8, description="corners to find")
    mode: Literal["fast", "fine"] = "fast"


@dataclass
class BrightParams:
    """Params of the test brightness stage."""

    threshold: int = fb.param(128, min=0, max=255, description="bright level")
    gain: float = fb.param(1.0, min=0.0, max=4.0, description="multiplies the fraction")
    invert: bool = fb.param(False, description="count dark pixels instead")
    label: str = fb.param("bright", description="signal name")
    mode: Literal["mean", "count"] = fb.param("mean", description="what to publish")
    roi: Optional[List[int]] = fb.param(None, description="x, y, w, h")


class Brightness(fb.Stage):
    """Fraction of pixels at or above a threshold."""

    id = "test_brightness"
    Params = BrightParams

    def start(self) -> None:
        self.frames = 0
        self.calibrations = 0

    def process(self, frame, ctx):
        self.frames += 1
        p = self.params
        img = frame if frame.ndim == 2 else frame[:, :, 1]
        if p.roi is not None:
            x, y, w, h = p.roi
            img = img[y:y + h, x:x + w]
        mask = img < p.threshold if p.invert else img >= p.threshold
        value = float(mask.mean()) if p.mode == "mean" else float(mask.sum())
        ctx.signal(p.label, value * p.gain)
        ctx.output({"frames": self.frames, "frame_id": ctx.frame_id, "t_ns": ctx.t_ns,
                    "source": ctx.source, "shape": list(frame.shape), "format": ctx.format,
                    "state": ctx.state, "first": int(frame.flat[0]),
                    "points_in": [p.name for p in ctx.points], "view": id(frame)})
        hip = ctx.find_point("hip")
        if hip is not None:
            ctx.point("hip_shifted", hip.x + 1, hip.y + 2, hip.score)
        ctx.widget("level", "Bright level", value, unit="%", min=0, max=1)
        if value > 0.99:
            ctx.notify("warning", "Saturated", "almost every pixel is bright")
            ctx.skip()

    def reset(self) -> None:
        self.frames = 0

    @fb.command("calibrate", description="Counts calibrations; `fail` raises, `bad` is bad_args")
    def calibrate(self, args):
        if args.get("bad"):
            raise fb.BadArgs("`bad` was set")
        if args.get("fail"):
            raise RuntimeError("calibration failed")
        self.calibrations += 1
        return {"calibrations": self.calibrations, "threshold": self.params.threshold,
                "echo": args, "array": np.arange(3)}

    @fb.command(description="Replies with something that is not JSON")
    def not_json(self, args):
        return object()

    @fb.command("aim", description="Args as a dataclass", args_schema=AimArgs)
    def aim(self, args):
        return {"corners": args.corners, "mode": args.mode}

    @fb.command("zoom", description="Args as a JSON Schema",
                args_schema={"type": "object", "additionalProperties": False, "required": ["level"],
                             "properties": {"level": {"type": "number", "minimum": 1, "maximum": 8},
                                            "label": {"type": "string"}}})
    def zoom(self, args):
        return {"level": args["level"]}

    def stop(self) -> None:
        path = os.environ.get("TEST_STOP_FILE")
        if path:
            with open(path, "w") as f:
                f.write(f"stopped after {self.frames} frames")


@dataclass
class NoParams:
    pass


class Faulty(fb.Stage):
    """Misbehaves by the first pixel: 13 raises, 14 publishes NaN, 15 writes to the frame, 16
    outputs 5 MiB, 17 outputs 1 MiB, 18 outputs 300 KiB through a socket that takes 64 KiB."""

    id = "test_faulty"
    Params = NoParams

    def process(self, frame, ctx):
        first = int(frame.flat[0])
        if first == 13:
            raise ValueError(f"unlucky frame {ctx.frame_id}")
        if first == 14:
            ctx.signal("nan", float("nan"))
        if first == 15:
            frame[0, 0] = 0
        if first == 16:
            ctx.output({"big": "x" * (5 * 1024 * 1024)})
        if first == 17:
            ctx.output({"big": "y" * (1024 * 1024)})
        if first == 18:
            # Shrink the worker's own socket send buffer, then answer more than it takes.
            s = socket.socket(fileno=os.dup(int(os.environ["FRAMEBUS_WORKER_FD"])))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
            s.detach()
            ctx.output({"big": "z" * (300 * 1024)})
        ctx.signal("first", first)


class Hang(fb.Stage):
    """Writes one byte to the fd in TEST_PIPE_FD, then blocks in process() for ever."""

    id = "test_hang"

    def process(self, frame, ctx):
        os.write(int(os.environ["TEST_PIPE_FD"]), b"x")
        threading.Event().wait()


class StartFails(fb.Stage):
    """Its start hook raises."""

    id = "test_start_fails"

    def start(self) -> None:
        raise RuntimeError("camera not found")

    def process(self, frame, ctx):
        pass
