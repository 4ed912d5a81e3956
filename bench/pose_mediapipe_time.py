"""Times MediaPipe Pose (mediapipe==0.10.14, full model) per frame on one photo, in tracking
mode (video, the same frame again and again) and with the detector on every frame (static
images). Prints p50 in ms and the process's CPU time per frame (all threads), for
`bench/pose_compare.sh`.

Usage: python pose_mediapipe_time.py IMAGE [FRAMES]
"""
import sys, time
import numpy as np
from PIL import Image
import mediapipe as mp

img = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
for static, mode in [(False, "tracking"), (True, "with detector")]:
    with mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1, smooth_landmarks=True) as pose:
        times = []
        for i in range(n + 3):
            if i == 3:
                cpu0 = time.process_time()
            t0 = time.perf_counter()
            r = pose.process(img)
            dt = (time.perf_counter() - t0) * 1e3
            assert r.pose_landmarks is not None
            if i >= 3:
                times.append(dt)
        cpu = (time.process_time() - cpu0) / n * 1e3
        print(f"mediapipe full, {mode}: per frame p50 {np.median(times):.2f} ms, "
              f"process CPU per frame (mean) {cpu:.2f} ms")
