#!/usr/bin/env bash
# ONNX Runtime's session options, the pruned landmark models and int8 quantization on the pose
# models, measured (bench/pose_ort_options.py; figures in README's Pose section).
#   bash bench/pose_ort_options.sh [N]
# Installs onnx, onnxruntime and pillow from PyPI in a venv under target/; the landmark models
# as converted are taken from this repository's history (commit fdecf72).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/pose-models-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnx==1.23.2 onnxruntime==1.31.1 numpy==2.4.6
fi
"$venv/bin/python" -c 'import PIL' 2>/dev/null || "$venv/bin/pip" install -q pillow
orig=target/pose-models-orig
mkdir -p "$orig"
for v in lite full; do git show "fdecf72:models/pose_landmark_$v.onnx" > "$orig/pose_landmark_$v.onnx"; done
"$venv/bin/python" bench/pose_ort_options.py "$orig" "${1:-60}"
