#!/usr/bin/env bash
# Train (or resume) the series' six archs of one zoo, one after another, on one core.
#   bash staging/train_series.sh cifar10      # → staging/cifar10/
#   bash staging/train_series.sh imagenette   # → staging/imagenette/
# Exact resume needs the same recipe, --workers 0 and the checkpoint under staging/<zoo>/checkpoints/.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=$1
archs=${2:-cc_resnet,cbam_resnet,bam_resnet,triplet_resnet,resnest,sk_resnet}
export OMP_NUM_THREADS=1
exec python3 -m a2core.training.train --arch "$archs" --data "../shared/data/$zoo" --zoo "$zoo" \
  --out "staging/$zoo" --workers 0 --threads 1 --no-progress
