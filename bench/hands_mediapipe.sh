#!/usr/bin/env bash
# MediaPipe Hands reference keypoints for the hands tests: makes a venv under target/ with
# mediapipe==0.10.14 and writes crates/stages/tests/fixtures/hands_mediapipe.json (full palm and
# landmark models, static-image mode) from crops of the fixture photos around the players' hands,
# the whole photos and the empty image. Re-run to regenerate; commit the JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/mediapipe-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q mediapipe==0.10.14 pillow
fi
p=crates/stages/tests/fixtures/people
"$venv/bin/python" bench/hands_mediapipe.py crates/stages/tests/fixtures/hands_mediapipe.json \
  "$p/basketball1.png@73,84,160" "$p/basketball1.png@29,62,200" \
  "$p/basketball2.png@60,65,200" "$p/basketball2.png@28,65,200" "$p/basketball2.png@48,85,160" \
  "$p"/*.png crates/stages/tests/fixtures/empty_gray.png
