"""Copy the finished 40-epoch zoo from zoo40/ into assets/weights/ (median seed shipped)."""
import shutil, sys
from pathlib import Path
from a2core.models import ARCHS
from a2core.seeds import median_index
from a2core.weights import read_meta

Z, W = Path("zoo40"), Path("assets/weights")
SEEDED = {"resnet": [0, 1, 2], "a2_resnet": [0, 1, 2]}

def run_dir(seed):
    return Z if seed == 0 else Z / "seeds" / f"seed{seed}"

missing = [f"{a} s{s}" for a in ARCHS for s in SEEDED.get(a, [0])
           if not (run_dir(s) / f"{a}.safetensors").is_file()]
if missing:
    sys.exit(f"unfinished: {', '.join(missing)}")
shutil.rmtree(W / "seeds", ignore_errors=True)
for arch in ARCHS:
    seeds = SEEDED.get(arch, [0])
    accs = [read_meta(run_dir(s) / f"{arch}.safetensors").val_accuracy for s in seeds]
    med = seeds[median_index(accs)]
    for s, acc in zip(seeds, accs):
        dest = W if s == med else W / "seeds" / f"seed{s}"
        (dest / "logs").mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir(s) / f"{arch}.safetensors", dest / f"{arch}.safetensors")
        shutil.copy2(run_dir(s) / "logs" / f"{arch}.jsonl", dest / "logs" / f"{arch}.jsonl")
        print(f"{arch} seed {s}: {acc:.4f} -> {dest}" + (" (shipped, median)" if s == med else ""))
