#!/usr/bin/env bash
# framebus beside GStreamer and OpenCV on this machine, in one run, printed as one table.
#
#   bash bench/compare.sh [--quick]
#
# Installs what it needs (Debian gstreamer1.0-tools + plugins-base/good/bad/libav, ffmpeg, PyPI
# opencv-python-headless + numpy) when missing, builds framebus in release with allocation
# counting (`--features bench-alloc`), runs `framebus bench`, the GStreamer pipelines and
# the OpenCV script on the same frames, and prints the machine and the table.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=""
[[ "${1:-}" == "--quick" ]] && QUICK="--quick"

if ! command -v gst-launch-1.0 >/dev/null 2>&1; then
    echo "installing GStreamer (apt)…" >&2
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gstreamer1.0-tools gstreamer1.0-plugins-base >&2
fi
# The decode benchmark: ffmpeg makes the H.264 file and is a peer; GStreamer needs qtdemux
# (good), h264parse (bad) and avdec_h264 (libav).
if ! command -v ffmpeg >/dev/null 2>&1 || ! gst-inspect-1.0 avdec_h264 >/dev/null 2>&1 \
   || ! gst-inspect-1.0 h264parse >/dev/null 2>&1 || ! gst-inspect-1.0 qtdemux >/dev/null 2>&1; then
    echo "installing ffmpeg and GStreamer H.264 plugins (apt)…" >&2
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg gstreamer1.0-plugins-good \
        gstreamer1.0-plugins-bad gstreamer1.0-libav >&2
fi
if ! python3 -c "import cv2, numpy" >/dev/null 2>&1; then
    echo "installing OpenCV (pip)…" >&2
    python3 -m pip install -q opencv-python-headless numpy >&2
fi

echo "building framebus (release, bench-alloc)…" >&2
cargo build -q --release -p framebus --features bench-alloc >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
FRAMEBUS="$TARGET_DIR/release/framebus"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "running framebus bench $QUICK…" >&2
"$FRAMEBUS" bench --json $QUICK --frames-dir "$OUT/frames" > "$OUT/framebus.json"
echo "running GStreamer…" >&2
python3 bench/gst_bench.py $QUICK > "$OUT/gst.json"
echo "running OpenCV…" >&2
python3 bench/opencv_blob.py "$OUT/frames" $QUICK > "$OUT/opencv.json"

mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, ${mem_gib} GiB RAM," \
     "Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)," \
     "$(python3 -c 'import json,sys; print("GStreamer", json.load(open(sys.argv[1]))["version"].split()[-1])' "$OUT/gst.json")," \
     "$(python3 -c 'import json,sys; print("OpenCV", json.load(open(sys.argv[1]))["version"])' "$OUT/opencv.json")"
echo "Mode: ${QUICK:-full}"
echo
python3 bench/table.py "$OUT/framebus.json" "$OUT/gst.json" "$OUT/opencv.json"
