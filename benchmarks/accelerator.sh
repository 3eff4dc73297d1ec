#!/usr/bin/env bash
# The accelerator check: bf16 throughput and training MFU of NesT-B, ViT-B/16, CCT-14/7x2 and
# DVT against the chip's peak, within 8 minutes; a CSV and a PNG in --out-dir
# (benchmarks/results by default). All arguments go to benchmarks/accelerator.py (--help).
#
#   benchmarks/accelerator.sh                  # on a machine with a GPU or TPU
#   benchmarks/accelerator.sh --dry-run        # on a CPU, tiny models: checks every code path
#
# KERAS_BACKEND defaults to jax; PYTHON picks the interpreter (default: python). The last line
# printed names the files written.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND="${KERAS_BACKEND:-jax}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
exec "${PYTHON:-python}" -m benchmarks.accelerator "$@"
