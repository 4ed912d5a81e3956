"""MediaPipe Hands (mediapipe==0.10.14, legacy `solutions.hands`, full models) on still images:
writes the hand keypoints framebus's hands tests compare with.

Usage: python hands_mediapipe.py OUT.json IMAGE[@X0,Y0,N]...

`IMAGE@X0,Y0,N` is the N×N crop of IMAGE at (X0, Y0) (pixels copied, no resampling): the palm
detector, MediaPipe's as ours, finds no palm on the whole photos (hands of 40–80 px), so the
fixtures are crops around the players' hands. The JSON key is `NAME@X0,Y0,N`.

`model_complexity=1` is `hand_landmark_full` with `palm_detection_full` (both ship in the wheel).
Static-image mode: the palm detector runs on every image, up to two hands.
"""
import json, os, sys
import numpy as np
from PIL import Image
import mediapipe as mp

NAMES = [l.name.lower() for l in mp.solutions.hands.HandLandmark]
out = {"mediapipe": mp.__version__, "model": "full", "images": {}}
with mp.solutions.hands.Hands(static_image_mode=True, model_complexity=1, max_num_hands=2,
                              min_detection_confidence=0.5) as hands:
    for arg in sys.argv[2:]:
        path, _, crop = arg.partition("@")
        img = np.asarray(Image.open(path).convert("RGB"))
        if crop:
            x0, y0, n = map(int, crop.split(","))
            img = np.ascontiguousarray(img[y0:y0 + n, x0:x0 + n])
        h, w = img.shape[:2]
        r = hands.process(img)
        entry = {"width": w, "height": h, "hands": []}
        for lms, world, hd in zip(r.multi_hand_landmarks or [], r.multi_hand_world_landmarks or [],
                                  r.multi_handedness or []):
            c = hd.classification[0]
            entry["hands"].append({
                "handedness": c.label, "handedness_score": c.score,
                "keypoints": [{"id": n, "x": l.x * w, "y": l.y * h, "z": l.z * w}
                              for n, l in zip(NAMES, lms.landmark)],
                "world": [{"id": n, "x": l.x, "y": l.y, "z": l.z} for n, l in zip(NAMES, world.landmark)],
            })
        out["images"][os.path.basename(path) + ("@" + crop if crop else "")] = entry
        print(arg, len(entry["hands"]), "hands", file=sys.stderr)
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
