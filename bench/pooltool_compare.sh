#!/usr/bin/env bash
# Compare framebus-billiards with pooltool-billiards 0.6.0 (installed in a venv under target/).
# Usage: bench/pooltool_compare.sh [--shots 200] [--seed 1] [--write-fixtures PATH]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${POOLTOOL_VENV:-$ROOT/target/pooltool-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pooltool" 2>/dev/null; then
  # pooltool 0.6.0 pins an unpublished panda3d dev build (it only renders): install the pinned
  # dependencies, then pooltool itself with --no-deps.
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/bench/pooltool_requirements.txt"
  "$VENV/bin/pip" install -q --no-deps pooltool-billiards==0.6.0
fi
cargo build -q --release -p framebus-billiards --example simulate --manifest-path "$ROOT/Cargo.toml"
exec "$VENV/bin/python" "$ROOT/bench/pooltool_compare.py" --ours "$ROOT/target/release/examples/simulate" "$@"
