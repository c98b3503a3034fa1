"""Hostile photos: the largest pictures the app accepts, small files that decode to 64 million pixels, and what
each costs the server's memory.

    python -m bench.hostile                       # every file, in-process check + Explore and Compare (AppTest)
    python -m bench.hostile --only rgba_8000.png  # one of them

Each file is at most ``MAX_PIXELS`` (8000 × 8000) and a few hundred kB: a flat picture with a little
pattern, which PNG, WebP and GIF squeeze to almost nothing. Each measurement runs in a fresh Python process:
its resident memory just before the step, and the high-water mark of resident memory during it (``VmHWM``,
reset through ``/proc/self/clear_refs`` before the step), so ``peak − before`` is what the step costs at most.

- ``check``: the upload check alone (``app.upload.check``: decode and reduce; the picture kept);
- ``explore`` / ``compare``: the page opened in Streamlit's AppTest on the photo zoo, models loaded, then
  the file uploaded and the page run to the end (the model's view, the maps, Grad-CAM).

The load test's worst-case class (30 sessions uploading such a file at once, on a real server) is
``python -m bench.load --worst``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from bench._util import parser, table, write_json

ROOT = Path(__file__).resolve().parents[1]


def _flat(mode: str, side: int, seed: int) -> Image.Image:
    # A flat picture with a few bars (so it is not one colour) and one pixel set by ``seed`` (so the bytes differ).
    colour = {"RGBA": (200, 40, 40, 128), "RGB": (40, 120, 200), "L": 90, "I;16": 30_000, "P": 3}[mode]
    image = Image.new(mode, (side, side), colour)
    bar = {"RGBA": (20, 200, 20, 255), "RGB": (250, 250, 20), "L": 200, "I;16": 60_000, "P": 7}[mode]
    for k in range(1, 8):
        image.paste(bar, (k * side // 8, 0, k * side // 8 + side // 64, side))
    image.putpixel((seed % side, (seed // side) % side), colour if seed == 0 else bar)
    return image


def worst(name: str, seed: int = 0) -> bytes:
    """The file ``name`` of :data:`NAMES` (kind_side.format), its bytes varied by ``seed``."""
    kind, side, fmt = name.split("_")[0], int(name.split("_")[1].split(".")[0]), name.rsplit(".", 1)[1]
    buffer = io.BytesIO()
    if kind == "rgba":
        _flat("RGBA", side, seed).save(buffer, "PNG" if fmt == "png" else "WEBP", **(
            {"optimize": False, "compress_level": 9} if fmt == "png" else {"lossless": True, "quality": 0}))
    elif kind == "rgb":
        _flat("RGB", side, seed).save(buffer, "PNG", compress_level=9)
    elif kind == "grey16":
        _flat("I;16", side, seed).save(buffer, "PNG", compress_level=9)
    elif kind == "palette":
        image = _flat("P", side, seed)
        image.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
        image.save(buffer, "PNG" if fmt == "png" else "GIF", **({"compress_level": 9} if fmt == "png" else {}))
    elif kind == "progressive":
        # 4:4:4 progressive: libjpeg keeps every coefficient of the whole image while it decodes
        _flat("RGB", side, seed).save(buffer, "JPEG", quality=95, progressive=True, subsampling=0)
    else:
        raise KeyError(name)
    return buffer.getvalue()


#: The largest of each kind the app accepts (WebP: a2core.images.MAX_PIXELS_BY_FORMAT, 24 million pixels).
NAMES = ("rgba_8000.png", "rgb_8000.png", "grey16_8000.png", "palette_8000.png", "palette_8000.gif",
         "rgba_4898.webp", "progressive_8000.jpg")


def cached(name: str, seed: int = 0, folder: Path = Path("/tmp/a2lens_hostile")) -> bytes:
    """:func:`worst`, kept in ``folder`` (they take seconds each to encode)."""
    path = folder / f"{seed}_{name}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(worst(name, seed))
    return path.read_bytes()


# ---------------------------------------------------------------- inside the measuring process

def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


def _measure(step: str, path: str) -> dict:
    import gc

    data = Path(path).read_bytes()
    if step == "check":
        from app.upload import check

        gc.collect()
        before = _status("VmRSS")
        _reset_peak()
        result = check(data)
        return {"before": before, "peak": _status("VmHWM"), "after": _status("VmRSS"), "error": result.error,
                "kept_pixels": result.picture.image.size if result.picture else None}
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    at.session_state["a2lens_zoo"] = "imagenette"
    at.run()
    at.switch_page(f"views/{step}.py").run()
    at.run()  # twice: every model and cache the page uses is loaded before the measured run
    gc.collect()
    before = _status("VmRSS")
    _reset_peak()
    at.file_uploader[0].upload(Path(path).name, data, "image/png").run()
    peak = _status("VmHWM")
    gc.collect()
    return {"before": before, "peak": peak, "after": _status("VmRSS"),
            "exception": [e.value for e in at.exception], "error": [e.value for e in at.error],
            "rendered": any(Path(path).name in m.value for m in at.markdown) or bool(at.get("bidi_component"))}


def measure(step: str, name: str) -> dict:
    """One measurement in a fresh process (see the module docstring)."""
    path = Path("/tmp/a2lens_hostile") / f"0_{name}"
    cached(name)
    code = f"import json, bench.hostile as h; print('RESULT' + json.dumps(h._measure({step!r}, {str(path)!r})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        return {"failed": done.stderr[-2000:]}
    return json.loads(line[len("RESULT"):])


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None, help="these files of NAMES")
    p.add_argument("--steps", nargs="*", default=["check", "explore", "compare"])
    args = p.parse_args(argv)
    names = args.only or (NAMES[:1] if args.quick else NAMES)
    rows, results = [], {}
    for name in names:
        size = len(cached(name))
        for step in args.steps:
            r = measure(step, name)
            results[f"{name}:{step}"] = r
            bad = r.get("failed") or r.get("exception") or (step != "check" and not r.get("rendered"))
            rows.append({"file": name, "kb": f"{size / 1024:.0f}", "step": step,
                         "before": mib(r.get("before", 0)), "peak": mib(r.get("peak", 0)),
                         "rise": mib(r.get("peak", 0) - r.get("before", 0)), "after": mib(r.get("after", 0)),
                         "ok": "FAILED" if bad else ("refused" if r.get("error") else "ok")})
            print(rows[-1], flush=True)
    print(table(rows, [("file", "file"), ("kB", "kb"), ("step", "step"), ("RSS before (MiB)", "before"),
                       ("peak (MiB)", "peak"), ("peak rise (MiB)", "rise"), ("after (MiB)", "after"),
                       ("outcome", "ok")]))
    path = write_json("hostile", {"results": results, "rows": rows}, args.out, args.quick)
    print(f"\nwrote {path}")
    return 1 if any(r["ok"] == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
