#!/usr/bin/env bash
# usage: worker.sh   (start two: one per core). Takes arch:seed jobs, one at a time, from zoo40/queue.txt;
# each is a 1-thread run of the 40-epoch recipe that resumes from its checkpoint.
cd /work/main
Z=/work/main/zoo40
while true; do
  job=$(flock $Z/queue.lock bash -c "head -n1 $Z/queue.txt; sed -i 1d $Z/queue.txt")
  [ -z "$job" ] && exit 0
  arch=${job%%:*}; seed=${job##*:}
  if [ "$seed" = 0 ]; then out=$Z; else out=$Z/seeds/seed$seed; fi
  mkdir -p "$out"
  if [ -f "$out/$arch.safetensors" ]; then echo "$(date +%T) skip $job" >> $Z/lanes.log; continue; fi
  echo "$(date +%T) start $job" >> $Z/lanes.log
  python -m a2core.train --arch "$arch" --data /work/shared/data/cifar10 --out "$out" --seed "$seed" \
    --epochs 40 --early-fraction 0.5 --workers 0 --threads 1 --no-progress >> "$Z/${arch}_s${seed}.log" 2>&1
  echo "$(date +%T) end $job rc=$?" >> $Z/lanes.log
done
