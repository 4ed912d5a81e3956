#!/usr/bin/env python3
"""OpenCV side of benchmark 4 in `bench/compare.sh`: threshold + connectedComponentsWithStats
on exactly the frames framebus used (raw `blob_<w>x<h>_<i>.gray` files written by
`framebus bench --only blob --frames-dir DIR`), printing JSON with the median ms per frame,
single-threaded and with OpenCV's default thread count, and (for reference) threshold +
`connectedComponents` without the stats, single-threaded.

  python3 bench/opencv_blob.py DIR [--quick]
"""
import glob
import json
import os
import re
import sys
import time

import cv2
import numpy as np

THRESHOLD = 200  # framebus keeps pixels >= 200; OpenCV's THRESH_BINARY keeps > 199
MIN_AREA, MAX_AREA, MAX_BLOBS = 10, 5000, 64


def load(folder: str) -> dict:
    sizes = {}
    for path in sorted(glob.glob(os.path.join(folder, "blob_*x*_*.gray"))):
        m = re.search(r"blob_(\d+)x(\d+)_(\d+)\.gray$", path)
        w, h = int(m.group(1)), int(m.group(2))
        img = np.fromfile(path, dtype=np.uint8).reshape(h, w)
        sizes.setdefault(f"{w}x{h}", []).append(img)
    return sizes


def detect(img):
    _, binary = cv2.threshold(img, THRESHOLD - 1, 255, cv2.THRESH_BINARY)
    return cv2.connectedComponentsWithStats(binary, connectivity=8)


def labels_only(img):
    _, binary = cv2.threshold(img, THRESHOLD - 1, 255, cv2.THRESH_BINARY)
    return cv2.connectedComponents(binary, connectivity=8)


def kept(stats) -> int:
    areas = stats[1:, cv2.CC_STAT_AREA]
    return min(int(((areas >= MIN_AREA) & (areas <= MAX_AREA)).sum()), MAX_BLOBS)


def median_ms(frames, iters: int, fn=detect) -> float:
    for img in frames:
        fn(img)
    times = []
    for i in range(iters):
        img = frames[i % len(frames)]
        t0 = time.perf_counter()
        fn(img)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3


def main() -> None:
    folder = sys.argv[1]
    iters = 200 if "--quick" in sys.argv else 1000
    default_threads = cv2.getNumThreads()
    out = {"version": cv2.__version__, "default_threads": default_threads, "sizes": {}}
    for size, frames in load(folder).items():
        blobs = sum(kept(detect(f)[2]) for f in frames) / len(frames)
        cv2.setNumThreads(1)
        one = median_ms(frames, iters)
        labels = median_ms(frames, iters, labels_only)
        cv2.setNumThreads(default_threads)
        many = median_ms(frames, iters)
        out["sizes"][size] = {"ms_1_thread": one, "ms_default_threads": many,
                             "ms_labels_only_1_thread": labels, "blobs": blobs}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
