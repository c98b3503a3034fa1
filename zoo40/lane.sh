#!/usr/bin/env bash
# usage: lane.sh arch:seed ...  (sequential 1-thread runs, 40 epochs, first half on 24-px windows)
cd /work/main
Z=/work/main/zoo40
for job in "$@"; do
  arch=${job%%:*}; seed=${job##*:}
  if [ "$seed" = 0 ]; then out=$Z; else out=$Z/seeds/seed$seed; fi
  mkdir -p "$out"
  if [ -f "$out/$arch.safetensors" ]; then echo "$(date +%T) skip $job" >> $Z/lanes.log; continue; fi
  echo "$(date +%T) start $job" >> $Z/lanes.log
  python -m a2core.train --arch "$arch" --data /work/shared/data/cifar10 --out "$out" --seed "$seed" \
    --epochs 40 --early-fraction 0.5 --workers 0 --threads 1 --no-progress >> "$Z/${arch}_s${seed}.log" 2>&1
  echo "$(date +%T) end $job rc=$?" >> $Z/lanes.log
done
