#!/usr/bin/env bash
# Land one finished arch of a zoo: its weights and log move to the zoo's folder, its checkpoint goes, and the
# card, the measured attention and the docs are regenerated from them. Run with the zoo's training paused
# (kill -STOP) so that the card's timings are taken on a quiet machine.
#   bash staging/land.sh cifar10 cc_resnet
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=$1 arch=$2
data=../shared/data/$zoo
shipped=assets/weights; [[ $zoo == cifar10 ]] || shipped=assets/weights/$zoo
[[ -e staging/$zoo/$arch.safetensors ]] || { echo "staging/$zoo/$arch.safetensors: not finished" >&2; exit 1; }
# The run writes the weights, then checks them in float16 and says so: paused before that line, it would write
# the file again once resumed, after it has been moved.
grep -q "^$arch: val top-1 .* → staging/$zoo/$arch.safetensors" "staging/$zoo/train.out" \
  || { echo "$arch: the run has not said its last line yet (staging/$zoo/train.out); let it finish" >&2; exit 1; }
git mv -f "staging/$zoo/logs/$arch.jsonl" "$shipped/logs/$arch.jsonl" 2>/dev/null || mv "staging/$zoo/logs/$arch.jsonl" "$shipped/logs/"
mv "staging/$zoo/$arch.safetensors" "$shipped/"
git rm -q --cached "staging/$zoo/checkpoints/$arch.pt" 2>/dev/null || true
rm -f "staging/$zoo/checkpoints/$arch.pt"
if [[ $zoo == cifar10 ]]; then
  python3 -m a2core.metrics --zoo cifar10 --data "$data/val" --limit 50 --auc-steps 0 --no-progress --json "$shipped/attention_val.json"
else
  python3 -m a2core.metrics --zoo "$zoo" --data "$data/val" --boxes "$data/boxes.csv" --no-progress --json "$shipped/attention_val.json"
  python3 -m a2core.metrics --zoo "$zoo" --data "$data/train" --boxes "$data/boxes.csv" --auc-steps 0 --no-progress --json "$shipped/attention_train.json"
fi
# the card after the attention JSON, so that its Measured attention section is the new one; write_docs fills
# docs/measured-attention.md's block from the same JSON
python3 -m a2core.training.evaluate --data "$data" --weights "$shipped" --card "$shipped/MODEL_CARD.md" --no-progress
python3 -m tools.write_docs
git add "$shipped" docs README.md
echo "landed $zoo/$arch; now check the card's targets, run the tests and commit with staging/"
