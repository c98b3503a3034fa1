#!/usr/bin/env bash
# Train (or resume) the series' six archs of one zoo, one after another, on one core.
#   bash staging/train_series.sh cifar10      # → staging/cifar10/
#   bash staging/train_series.sh imagenette   # → staging/imagenette/
# Exact resume needs the same recipe, --workers 0 and the checkpoint under staging/<zoo>/checkpoints/.
# An arch whose weights have landed in the zoo's folder (its checkpoint deleted with it) is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=$1
shipped=assets/weights; [[ $zoo == cifar10 ]] || shipped=assets/weights/$zoo
todo=()
IFS=, read -ra wanted <<< "${2:-cc_resnet,cbam_resnet,bam_resnet,triplet_resnet,resnest,sk_resnet}"
for arch in "${wanted[@]}"; do
  [[ -e $shipped/$arch.safetensors ]] || todo+=("$arch")
done
if (( ${#todo[@]} == 0 )); then echo "$zoo: every arch has landed in $shipped"; exit 0; fi
export OMP_NUM_THREADS=1
exec python3 -m a2core.training.train --arch "$(IFS=,; echo "${todo[*]}")" --data "../shared/data/$zoo" --zoo "$zoo" \
  --out "staging/$zoo" --workers 0 --threads 1 --no-progress
