#!/usr/bin/env bash
# The full-scale recursive-training experiment of Chapter 15 on one CUDA GPU.
#
# Each command below resumes the same run folder, so the experiment can be split over several
# sessions (a GPU lent for 10 minutes at a time, a Colab runtime that disconnects): run this
# script again until it prints the published results file. Stage timings are printed at the end
# of every call and stored in the published file's provenance.
#
#   bash scripts/full_scale_transformer.sh              # seed 0: Figure 5, then the rest
#   SEEDS="1 2" bash scripts/full_scale_transformer.sh  # more seeds, for bands across seeds
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
for SEED in ${SEEDS:-0}; do
  OUT=runs/recursive-full-seed$SEED
  NAME=transformer-recursive-full
  if [ "$SEED" != 0 ]; then NAME=$NAME-seed$SEED; fi
  # Figure 5 first (the paper's three settings), then the settings beyond the paper.
  $PY -m helpers.experiments --scale full --seed "$SEED" --out "$OUT" --no-progress \
      --settings synthetic mix-50 mix-20
  $PY -m helpers.experiments --scale full --seed "$SEED" --out "$OUT" --no-progress \
      --settings accumulate temperature-0.8 top-k-10 --publish "$NAME"
done
