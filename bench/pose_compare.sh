#!/usr/bin/env bash
# MediaPipe Pose beside framebus's `pose` stage, same photo, same run: MediaPipe 0.10.14
# (full model) per-frame p50 in tracking and static mode, then `framebus bench --only pose`.
#   bash bench/pose_compare.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/mediapipe-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q mediapipe==0.10.14 pillow
fi
frames=50; [[ "${1:-}" == "--quick" ]] && frames=20
img=crates/stages/tests/fixtures/people/basketball1.png
"$venv/bin/python" bench/pose_mediapipe_time.py "$img" "$frames" 2>/dev/null
cargo run -q --release -p framebus -- bench --only pose ${1:-}
