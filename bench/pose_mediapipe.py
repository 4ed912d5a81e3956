"""MediaPipe Pose (mediapipe==0.10.14, legacy `solutions.pose`) on still images: writes the
keypoints framebus's pose tests compare with.

Usage: python pose_mediapipe.py OUT.json IMAGE[@pad=W,H]...

`IMAGE@pad=W,H` is IMAGE centred on a black W×H frame (pixels copied, offset
((W−w)//2, (H−h)//2), no resampling): the frame shapes on which the detector does or does not
find the person of `camera.png`. The JSON key is `NAME@pad=W,H`.

`model_complexity=1` is the full landmark model (it ships in the wheel; the lite one is
downloaded at first use, which fails offline). Static-image mode: the detector runs on every
image, as in our test with a reset stage.
"""
import json, os, sys
import numpy as np
from PIL import Image
import mediapipe as mp

NAMES = [l.name.lower() for l in mp.solutions.pose.PoseLandmark]
out = {"mediapipe": mp.__version__, "model": "full", "images": {}}
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False,
                            min_detection_confidence=0.5) as pose:
    for arg in sys.argv[2:]:
        path, _, pad = arg.partition("@pad=")
        img = np.asarray(Image.open(path).convert("RGB"))
        if pad:
            pw, ph = map(int, pad.split(","))
            h, w = img.shape[:2]
            frame = np.zeros((ph, pw, 3), np.uint8)
            ox, oy = (pw - w) // 2, (ph - h) // 2
            frame[oy:oy + h, ox:ox + w] = img
            img = frame
        h, w = img.shape[:2]
        r = pose.process(img)
        entry = {"width": w, "height": h, "valid": r.pose_landmarks is not None, "keypoints": [], "world": []}
        if r.pose_landmarks:
            for n, l in zip(NAMES, r.pose_landmarks.landmark):
                entry["keypoints"].append({"id": n, "x": l.x * w, "y": l.y * h, "z": l.z * w,
                                           "visibility": l.visibility, "presence": l.presence})
            for n, l in zip(NAMES, r.pose_world_landmarks.landmark):
                entry["world"].append({"id": n, "x": l.x, "y": l.y, "z": l.z, "visibility": l.visibility})
        out["images"][os.path.basename(path) + ("@pad=" + pad if pad else "")] = entry
        print(arg, "person" if entry["valid"] else "nobody", file=sys.stderr)
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
