#!/usr/bin/env bash
# framebus beside GStreamer, OpenCV and GNU Radio on this machine, in one run, printed as one
# table.
#
#   bash bench/compare.sh [--quick] [--only sensor]
#
# Installs what it needs when missing: Debian gstreamer1.0-tools + plugins-base/good/bad/libav,
# ffmpeg, PyPI opencv-python-headless + numpy, and GNU Radio 3.10 from Debian (its runtime
# libraries, with the Python bindings unpacked from the `gnuradio` package into
# target/gr_py, as /work/shared/tools/gnuradio describes; no Qt), and the GStreamer and FFmpeg
# headers. Builds framebus in release with allocation counting (`--features bench-alloc`, and
# `gstreamer,ffmpeg` for the decode rows), runs `framebus bench`, the GStreamer
# pipelines, the OpenCV script on the same frames and the GNU Radio sensor flowgraph, and prints
# the machine and the table. `--only sensor` runs only the sensor benchmark and GNU Radio.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=""
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK="--quick" ;;
        --only) ONLY="$2"; shift ;;
        *) echo "usage: bash bench/compare.sh [--quick] [--only sensor]" >&2; exit 2 ;;
    esac
    shift
done
if [[ -n "$ONLY" && "$ONLY" != "sensor" ]]; then
    echo "--only: only \`sensor\` is supported (GNU Radio); run \`framebus bench --only $ONLY\` alone" >&2
    exit 2
fi
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

if [[ -z "$ONLY" ]]; then
    if ! command -v gst-launch-1.0 >/dev/null 2>&1; then
        echo "installing GStreamer (apt)…" >&2
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gstreamer1.0-tools gstreamer1.0-plugins-base >&2
    fi
    # The decode benchmark: ffmpeg makes the H.264 file and is a peer; GStreamer needs qtdemux
    # (good), h264parse (bad) and avdec_h264 (libav).
    if ! command -v ffmpeg >/dev/null 2>&1 || ! gst-inspect-1.0 avdec_h264 >/dev/null 2>&1 \
       || ! gst-inspect-1.0 h264parse >/dev/null 2>&1 || ! gst-inspect-1.0 qtdemux >/dev/null 2>&1; then
        echo "installing ffmpeg and GStreamer H.264 plugins (apt)…" >&2
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg gstreamer1.0-plugins-good \
            gstreamer1.0-plugins-bad gstreamer1.0-libav >&2
    fi
    # framebus's own decode rows through GStreamer and libavcodec (features `gstreamer` and
    # `ffmpeg`): their build headers.
    if ! dpkg -s libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libavcodec-dev \
         libavformat-dev libavutil-dev libswscale-dev libclang-dev pkg-config >/dev/null 2>&1; then
        echo "installing GStreamer and FFmpeg headers (apt)…" >&2
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libgstreamer1.0-dev \
            libgstreamer-plugins-base1.0-dev libavcodec-dev libavformat-dev libavutil-dev \
            libswscale-dev libclang-dev pkg-config >&2
    fi
    if ! python3 -c "import cv2, numpy" >/dev/null 2>&1; then
        echo "installing OpenCV (pip)…" >&2
        python3 -m pip install -q opencv-python-headless numpy >&2
    fi
fi

# The full run also builds the `gstreamer` and `ffmpeg` features (the decode bench's rows for
# framebus's GStreamer source and its libavcodec decoder).
FEATURES="bench-alloc"
[[ -z "$ONLY" ]] && FEATURES="bench-alloc,gstreamer,ffmpeg"
echo "building framebus (release, $FEATURES)…" >&2
cargo build -q --release -p framebus --features "$FEATURES" >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
FRAMEBUS="$TARGET_DIR/release/framebus"

# GNU Radio 3.10: Debian has no python3-gnuradio without the whole Qt stack, so install the
# runtime libraries and unpack the bindings of the blocks the flowgraph uses. They are built
# for Debian's /usr/bin/python3 and numpy 1.x: run without the user site (a pip numpy 2 there
# breaks them).
GR_PY="$TARGET_DIR/gr_py"
gr_python() { PYTHONNOUSERSITE=1 PYTHONPATH="$GR_PY" /usr/bin/python3 "$@"; }
if ! gr_python -c 'from gnuradio import gr, blocks, filter, fft' >/dev/null 2>&1; then
    echo "installing GNU Radio 3.10 (apt, into $GR_PY)…" >&2
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libgnuradio-runtime3.10.5 libgnuradio-pmt3.10.5 libgnuradio-blocks3.10.5 \
        libgnuradio-analog3.10.5 libgnuradio-filter3.10.5 libgnuradio-fft3.10.5 \
        python3-numpy libvolk2-bin >&2
    T=$(mktemp -d)
    (cd "$T" && apt-get download -qq gnuradio >&2 && dpkg-deb -x gnuradio_*.deb x)
    P=$T/x/usr/lib/python3/dist-packages
    rm -rf "$GR_PY" && mkdir -p "$GR_PY/gnuradio"
    cp "$P"/gnuradio/*.py "$GR_PY/gnuradio/"
    for m in gr blocks analog filter fft; do cp -r "$P/gnuradio/$m" "$GR_PY/gnuradio/"; done
    cp -r "$P/pmt" "$GR_PY/"
    rm -rf "$T"
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PEERS=()
if [[ -z "$ONLY" ]]; then
    echo "running framebus bench $QUICK…" >&2
    "$FRAMEBUS" bench --json $QUICK --frames-dir "$OUT/frames" > "$OUT/framebus.json"
    echo "running GStreamer…" >&2
    python3 bench/gst_bench.py $QUICK > "$OUT/gst.json"
    echo "running OpenCV…" >&2
    python3 bench/opencv_blob.py "$OUT/frames" $QUICK > "$OUT/opencv.json"
    PEERS+=("$OUT/gst.json" "$OUT/opencv.json")
else
    echo "running framebus bench --only sensor $QUICK…" >&2
    "$FRAMEBUS" bench --json $QUICK --only sensor > "$OUT/framebus.json"
fi
echo "running GNU Radio (sensor chain)…" >&2
gr_python bench/sensor_gnuradio.py $QUICK > "$OUT/gnuradio.json"
PEERS+=("$OUT/gnuradio.json")

mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)
peers=$(python3 - "${PEERS[@]}" <<'PY'
import json, sys
out = []
for f in sys.argv[1:]:
    p = json.load(open(f))
    if "identity_ns" in p:
        out.append("GStreamer " + p["version"].split()[-1])
    elif "sizes" in p:
        out.append("OpenCV " + p["version"])
    elif "chain_one_core_msps" in p:
        out.append("GNU Radio " + p["version"])
print(", ".join(out))
PY
)
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, ${mem_gib} GiB RAM," \
     "Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2), $peers;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Mode: ${QUICK:-full}${ONLY:+, only $ONLY}"
echo
python3 bench/table.py "$OUT/framebus.json" "${PEERS[@]}"
