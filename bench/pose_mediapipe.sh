#!/usr/bin/env bash
# MediaPipe Pose reference keypoints for the pose tests: makes a venv under target/ with
# mediapipe==0.10.14 and writes crates/stages/tests/fixtures/pose_mediapipe.json from the
# fixture photos (full landmark model, static-image mode), and pose_mediapipe_padded.json from
# camera.png centred on black frames of other shapes. Re-run to regenerate; commit the JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/mediapipe-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q mediapipe==0.10.14 pillow
fi
"$venv/bin/python" bench/pose_mediapipe.py crates/stages/tests/fixtures/pose_mediapipe.json \
  crates/stages/tests/fixtures/people/*.png crates/stages/tests/fixtures/empty_gray.png
c=crates/stages/tests/fixtures/people/camera.png
"$venv/bin/python" bench/pose_mediapipe.py crates/stages/tests/fixtures/pose_mediapipe_padded.json \
  "$c@pad=640,512" "$c@pad=768,512" "$c@pad=1024,512" "$c@pad=512,640" "$c@pad=512,768"
