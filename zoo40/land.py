"""Copy the finished 40-epoch zoo from zoo40/ into assets/weights/, shipping each arch's median seed.

zoo40/ has the weights-dir layout (seed 0 at the top, seed k under seeds/seedk/), so the runs of an
arch are what ``a2core.seeds.seed_runs`` finds there: no list of seeds to keep in step by hand.
"""
import shutil, sys
from pathlib import Path
from a2core.models import ARCHS
from a2core.seeds import SEEDS_SUBDIR, median_index, seed_runs

Z, W = Path("zoo40"), Path("assets/weights")

missing = [a for a in ARCHS if not (Z / f"{a}.safetensors").is_file()]
if missing:
    sys.exit(f"unfinished (seed 0): {', '.join(missing)}")
shutil.rmtree(W / SEEDS_SUBDIR, ignore_errors=True)
for arch in ARCHS:
    runs = seed_runs(arch, Z)
    med = runs[median_index([r.val_accuracy for r in runs])]
    for r in runs:
        dest = W if r is med else W / SEEDS_SUBDIR / f"seed{r.seed}"
        (dest / "logs").mkdir(parents=True, exist_ok=True)
        shutil.copy2(r.path, dest / f"{arch}.safetensors")
        shutil.copy2(r.path.parent / "logs" / f"{arch}.jsonl", dest / "logs" / f"{arch}.jsonl")
        print(f"{arch} seed {r.seed}: {r.val_accuracy:.4f} -> {dest}" + (" (shipped, median)" if r is med else ""))
