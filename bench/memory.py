"""Server memory over many uploads: one session uploading distinct photos to Explore, resident memory sampled.

    python -m bench.memory                 # 200 uploads at 128 px, then a second session's 50 (~3 min)
    python -m bench.memory --quick         # 12 uploads (CI smoke test)

A real ``streamlit run app/main.py`` on loopback, driven through its websocket
(bench/sessions.py). Each upload is a different 640×480 JPEG (a phone photo
scaled down, as a browser would not do it, but the crop is what matters), viewed
at 128 px, the largest view and the largest arrays per upload. The server's
resident memory (VmRSS) is read after every upload; the table shows it every
``step`` uploads and the growth per upload after the caches are full.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from bench._util import parser, table, write_json
from bench.sessions import QUERY, Session, serve

FULL = {"uploads": 200, "second_session": 50, "size": 128, "step": 20}
QUICK = {"uploads": 12, "second_session": 4, "size": 128, "step": 4}


def photo(seed: int, width: int = 640, height: int = 480) -> bytes:
    """A distinct smooth, noisy picture per seed, as a quality-90 JPEG."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    a, b, c = rng.uniform(0.5, 4, 3)
    base = np.stack([np.sin(a * 6 * x + seed), np.cos(b * 6 * y), np.sin(c * 6 * (x + y))], -1) * 100 + 128
    pixels = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def run(config: dict) -> dict:
    samples: list[dict] = []
    with serve() as server:
        started = server.rss()
        session = Session(server.url, query=QUERY)
        session.open()
        session.set("explore_size_cifar10", string_array_value={"data": [str(config["size"])]})
        opened = server.rss()
        t0 = time.perf_counter()
        for i in range(config["uploads"]):
            session.upload(f"photo_{i:03d}.jpg", photo(i))
            if (i + 1) % config["step"] == 0 or i == 0:
                samples.append({"uploads": i + 1, "rss": server.rss(), "s": time.perf_counter() - t0})
        session.close()
        time.sleep(2)
        after_close = server.rss()
        # A second student: a fresh session, photos the server has not seen.
        other = Session(server.url, query=QUERY)
        other.open()
        other.set("explore_size_cifar10", string_array_value={"data": [str(config["size"])]})
        for i in range(config["second_session"]):
            other.upload(f"other_{i:03d}.jpg", photo(10_000 + i))
        other.close()
        time.sleep(2)
        final = server.rss()
        errors = session.errors + other.errors
        return {"config": config, "server_start_rss": started, "after_open_rss": opened, "samples": samples,
                "after_close_rss": after_close, "after_second_session_rss": final, "peak_rss": server.peak_rss(),
                "errors": errors, "runs": len(session.runs) + len(other.runs)}


def show(result: dict) -> None:
    rows = [{"uploads": s["uploads"], "rss": mib(s["rss"]), "s": f"{s['s']:.0f}"} for s in result["samples"]]
    print(table(rows, [("uploads", "uploads"), ("server RSS (MiB)", "rss"), ("elapsed (s)", "s")]))
    samples = result["samples"]
    half = [s for s in samples if s["uploads"] >= samples[-1]["uploads"] // 2]
    slope = (half[-1]["rss"] - half[0]["rss"]) / max(1, half[-1]["uploads"] - half[0]["uploads"])
    print(f"\nserver at start {mib(result['server_start_rss'])} MiB, page open {mib(result['after_open_rss'])} MiB, "
          f"after the session closed {mib(result['after_close_rss'])} MiB, after a second session's "
          f"{result['config']['second_session']} uploads {mib(result['after_second_session_rss'])} MiB, "
          f"peak {mib(result['peak_rss'])} MiB")
    print(f"growth over the second half: {slope / 2**20:.2f} MiB per upload; errors: {len(result['errors'])}")
    result["growth_second_half_mib_per_upload"] = round(slope / 2**20, 3)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    result = run(QUICK if args.quick else FULL)
    show(result)
    path = write_json("memory", result, args.out, args.quick)
    print(f"\nwrote {path}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
