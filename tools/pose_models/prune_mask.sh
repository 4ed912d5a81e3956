#!/usr/bin/env bash
# Makes models/pose_landmark_{lite,full}.onnx without the segmentation-mask branch (see
# prune_mask.py and README.md here) from the original conversions.
#
#   bash tools/pose_models/prune_mask.sh [SRC_DIR]
#
# SRC_DIR holds the original pose_landmark_{lite,full}.onnx as made by
# ../shared/tools/posemodel/convert_blazepose.sh; without it they are taken from this
# repository's history (commit fdecf72, where they were added). Their sha256 is checked.
# Installs onnx and onnxruntime from PyPI in a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/pose-models-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnx==1.23.2 onnxruntime==1.31.1 numpy==2.4.6
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declare -A SHA=(
  [lite]=1743b0aa0b9f08a744d575792dbbe73013e60890734ea34f3f77ba0178ba1618
  [full]=59151d8cb46d162ae86bd5776581f72cf08f18598f6c49563b4494dc8cd59995
)
for v in lite full; do
  f=pose_landmark_$v.onnx
  if [ -n "${1:-}" ]; then cp "$1/$f" "$tmp/$f"; else git show "fdecf72:models/$f" > "$tmp/$f"; fi
  echo "${SHA[$v]}  $tmp/$f" | sha256sum -c --quiet
  "$venv/bin/python" tools/pose_models/prune_mask.py "$tmp/$f" "models/$f"
done
sha256sum models/pose_landmark_lite.onnx models/pose_landmark_full.onnx
