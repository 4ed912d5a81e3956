#!/usr/bin/env python3
"""GStreamer side of `bench/compare.sh`: times gst-launch-1.0 pipelines by wall clock and
subtracts start-up, printing JSON. Each pipeline runs 3 times; the fastest run is kept (the
least disturbed by the rest of the machine).

  python3 bench/gst_bench.py [--quick]
"""
import json
import subprocess
import sys
import time

QUICK = "--quick" in sys.argv
N = 200_000 if QUICK else 1_000_000
FRAMES = 2_000 if QUICK else 10_000
RUNS = 3


def timed(pipeline: str) -> float:
    best = float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], check=True,
                       stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ident10 = " ! ".join(["identity"] * 10)
    startup = timed("fakesrc num-buffers=0 ! fakesink sync=false")
    bare = timed(f"fakesrc num-buffers={N} ! fakesink sync=false")
    ten = timed(f"fakesrc num-buffers={N} ! {ident10} ! fakesink sync=false")
    queue = timed(f"fakesrc num-buffers={N} ! queue ! fakesink sync=false")
    caps = "video/x-raw,format=RGB,width=640,height=480"
    video = "videotestsrc num-buffers={n} pattern=black ! " + caps + \
        " ! queue ! identity ! identity ! identity ! queue ! fakesink sync=false"
    v_startup = timed(video.format(n=1))
    v_run = timed(video.format(n=FRAMES))
    version = subprocess.run(["gst-launch-1.0", "--version"], capture_output=True,
                             text=True).stdout.splitlines()
    out = {
        "version": version[1] if len(version) > 1 else "?",
        "buffers": N,
        "frames": FRAMES,
        "startup_s": startup,
        # Per identity per buffer: (10 identities − none) / 10.
        "identity_ns": max(ten - bare, 0.0) / (10 * N) * 1e9,
        # Per buffer through fakesrc → 10 identities → fakesink, start-up subtracted.
        "ten_identities_per_buffer_ns": max(ten - startup, 0.0) / N * 1e9,
        # What a queue (a thread hop) adds per buffer.
        "queue_hop_ns": max(queue - bare, 0.0) / N * 1e9,
        # videotestsrc 640×480 RGB → queue → 3 identities → queue → fakesink.
        "video_fps": (FRAMES - 1) / max(v_run - v_startup, 1e-9),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
