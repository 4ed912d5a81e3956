#!/usr/bin/env bash
# The whole test suite: Rust tests for every crate, the Python SDK's tests, the web UI's unit
# tests, and the end-to-end test in a real headless Chromium against `framebus demo` (and
# `framebus run` on examples, the pose one with a fake camera playing photos through ffmpeg).
# Installs what it needs (Debian chromium and ffmpeg, npm packages, a venv for the Python SDK)
# when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }
# Cargo's target directory (CI may share one between runs through CARGO_TARGET_DIR).
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# ffmpeg makes the test videos of the video_file tests (H.264 with a frame counter in the pixels).
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
# nasm lets openh264-sys2 build OpenH264's assembly (its build script silently falls back to C
# without it; the decoder is then about 7 % slower). Installed before the first cargo build.
command -v nasm >/dev/null 2>&1 || need_apt+=(nasm)
# The GStreamer feature's build (headers, pkg-config files) and tests (decoders, the RTSP server
# through Debian's python3-gi, openh264enc in plugins-bad).
dpkg -s libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base \
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav \
  gir1.2-gst-rtsp-server-1.0 python3-gi >/dev/null 2>&1 \
  || need_apt+=(libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base
                gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
                gir1.2-gst-rtsp-server-1.0 python3-gi)
# The ffmpeg feature's build: ffmpeg-next's bindings are generated against the system's FFmpeg
# headers (pkg-config finds them, bindgen needs libclang).
dpkg -s libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libclang-dev pkg-config \
  >/dev/null 2>&1 \
  || need_apt+=(libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libclang-dev pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  say "npm ci (web)"
  (cd web && npm ci --no-audit --no-fund)
fi

# ONNX Runtime for the pose tests (loaded at run time): the PyPI wheel's libonnxruntime.so.
# Exported, so the end-to-end pose check's server (examples/pose.toml) finds it too.
if [ -z "${ORT_DYLIB_PATH:-}" ] && ! python3 -c "import onnxruntime" >/dev/null 2>&1; then
  if [ ! -x "$TARGET/ort-venv/bin/python" ]; then
    say "installing onnxruntime==1.31.1 (pip, venv in $TARGET/ort-venv)"
    mkdir -p "$TARGET"
    python3 -m venv "$TARGET/ort-venv"
    "$TARGET/ort-venv/bin/pip" install -q onnxruntime==1.31.1
  fi
  ORT_DYLIB_PATH="$(ls "$TARGET"/ort-venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)"
  export ORT_DYLIB_PATH
fi

# The Python SDK in a venv (reinstalled every run: it is small, and the tests then use the SDK
# as committed). Rust tests that run Python stages find that interpreter in FRAMEBUS_TEST_PYTHON.
if [ ! -x "$TARGET/py-venv/bin/python" ]; then
  say "python venv for the SDK ($TARGET/py-venv)"
  mkdir -p "$TARGET"
  python3 -m venv "$TARGET/py-venv"
fi
"$TARGET/py-venv/bin/pip" install -q --disable-pip-version-check ./python pytest jsonschema numpy
export FRAMEBUS_TEST_PYTHON="$TARGET/py-venv/bin/python"

say "python SDK tests (pytest)"
FRAMEBUS_REQUIRE_WIRE_SCHEMA=1 "$FRAMEBUS_TEST_PYTHON" -m pytest -q python/tests

say "cargo test --workspace"
cargo test --workspace

# The optional GStreamer sources and libavcodec decoder: only the media crate with both
# features, in one build (small added CI time). The video_file tests run again here with
# libavcodec (`decoder = "auto"` picks it in this build).
say "GStreamer and ffmpeg features (framebus-media --features gstreamer,ffmpeg)"
cargo clippy -p framebus-media --features gstreamer,ffmpeg --all-targets -- -D warnings
cargo test -p framebus-media --features gstreamer,ffmpeg --test gstreamer --test ffmpeg_decode \
  --test video_file --test no_alloc
# The binary's feature-gated code (bench rows for the GStreamer source and libavcodec).
cargo clippy -p framebus --features gstreamer,ffmpeg --all-targets -- -D warnings

say "web unit tests (vitest)"
(cd web && npm test)

say "end-to-end (headless Chromium)"
cargo build -p framebus
(cd web && FRAMEBUS_BIN="$TARGET/debug/framebus" npm run e2e)

say "all tests passed"
