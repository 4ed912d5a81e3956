"""A Python stage's overhead per frame: the README's brightness stage driven through a real
worker process over the real protocol (SEQPACKET socket pair, frames in a memfd registered
once) against the same numpy code called in a plain Python loop, on the same frames.

    python python/bench/overhead.py [--frames 1000]

Prints, per frame size, p50/p99 of: the plain call; the round trip through the worker (frame
message out, result back, as the host sees it); the stage's own time inside the worker
(`process_us`); a no-op stage's round trip (the protocol alone). The overhead is round trip
minus plain call; the ratio is round trip over plain call. The host side here is Python
(framebus's host is Rust, whose side of a hop costs less).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stages import bright_share  # noqa: E402

from framebus.testing import SharedBuffer, WorkerHost  # noqa: E402

SIZES = [
    ("640x480 gray8", "gray8", 640, 480),
    ("640x480 rgb8", "rgb8", 640, 480),
    ("1920x1080 rgb8", "rgb8", 1920, 1080),
]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def image(fmt, w, h):
    rng = np.random.default_rng(1)
    shape = (h, w) if fmt == "gray8" else (h, w, 3)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def plain(img, n):
    times = []
    for _ in range(n // 10):
        bright_share(img, 128)  # warm up
    for _ in range(n):
        t0 = time.perf_counter_ns()
        bright_share(img, 128)
        times.append(time.perf_counter_ns() - t0)
    return times


def through_worker(stage, fmt, w, h, img, n):
    host = WorkerHost("bench_stages", stage, path=[str(HERE)])
    try:
        host.handshake()
        assert host.init({"threshold": 128} if stage == "bench_brightness" else {})["type"] == "ready"
        stride = w * (1 if fmt == "gray8" else 3)
        buf = SharedBuffer(stride * h)
        buf.array(fmt, w, h, stride)[...] = img
        bid = host.add_buffer(buf)
        for _ in range(n // 10):
            host.frame(bid, fmt, w, h, stride)
        rtt, inside = [], []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            r = host.frame(bid, fmt, w, h, stride)
            rtt.append(time.perf_counter_ns() - t0)
            inside.append(r["process_us"] * 1000)
        if stage == "bench_brightness":
            assert r["signals"][0]["value"] == bright_share(img, 128), "worker and loop disagree"
        return rtt, inside
    finally:
        host.close()


def us(ns):
    return f"{ns / 1000:8.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    args = ap.parse_args()
    n = args.frames
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {n} frames per row; "
          f"times in µs (p50 / p99 / min)")
    for name, fmt, w, h in SIZES:
        img = image(fmt, w, h)
        p = plain(img, n)
        rtt, inside = through_worker("bench_brightness", fmt, w, h, img, n)
        noop, _ = through_worker("bench_noop", fmt, w, h, img, n)
        p50, r50 = statistics.median(p), statistics.median(rtt)
        print(f"{name}:")
        print(f"  plain numpy loop       {row(p)}")
        print(f"  through the worker     {row(rtt)}   (stage's own time in the worker p50 "
              f"{us(statistics.median(inside)).strip()})")
        print(f"  no-op stage round trip {row(noop)}")
        print(f"  overhead per frame     p50 {us(r50 - p50).strip()}, min {us(min(rtt) - min(p)).strip()}; "
              f"ratio worker/plain p50 {r50 / p50:.2f}, min {min(rtt) / min(p):.2f}")


def row(xs):
    return f"{us(statistics.median(xs))} / {us(pct(xs, 0.99))} / {us(min(xs))}"

if __name__ == "__main__":
    main()
