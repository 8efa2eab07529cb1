#!/usr/bin/env bash
# Every GPU result of the book, resumably: bash scripts/gpu_results.sh [--dry-run] OUT_DIR
#
# Runs on one CUDA GPU with the machine's own Python (torch, numpy, scipy, numba, matplotlib and
# tqdm; nothing is installed and nothing is downloaded). The helpers come from this checkout and
# tiny Shakespeare from $TINY_SHAKESPEARE (or ../shared/data/tinyshakespeare/input.txt). Each
# call stops cleanly before its budget (--budget SECONDS, default 510) and the next call resumes
# from the run folders under runs/gpu-results; finished results are written to OUT_DIR, ready to
# be copied into results/ and committed. --dry-run does it all at tiny sizes on a CPU. On a copy
# of the repository without .git, set BOOK_COMMIT to the commit for the results' provenance.
# See scripts/gpu_results.py for the stages and the expected times.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" BOOK_OFFLINE=1 PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" scripts/gpu_results.py "$@"
