#!/usr/bin/env bash
# Makes examples/media/rider.mp4: 10 s of the synthetic BikeFit rider (640x480, 30 fps,
# H.264 High, yuv420p) for examples/bikefit_video.toml. Needs ffmpeg (Debian: apt install
# ffmpeg). The video is generated, not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-300}"
mkdir -p examples/media
cargo run -q -p framebus-media --example rider_frames -- "$frames" |
  ffmpeg -hide_banner -loglevel error -y \
    -f rawvideo -pix_fmt rgb24 -s 640x480 -r 30 -i - \
    -c:v libx264 -pix_fmt yuv420p -crf 18 -movflags +faststart \
    examples/media/rider.mp4
echo "wrote examples/media/rider.mp4 ($frames frames)"
