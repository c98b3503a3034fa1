"""A class on one server: N concurrent sessions each open Explore, upload their own photo and pin positions.

    python -m bench.load                  # 30 sessions, 3 pins each, on the photo zoo (the app's default)
    python -m bench.load --sessions 8     # fewer
    python -m bench.load --zoo cifar10    # on the CIFAR-10 zoo (32 px), as the earlier figures were
    python -m bench.load --worst          # the worst-case class: each student uploads an 8000 × 8000 PNG
    python -m bench.load --quick          # 4 sessions, 1 pin (CI smoke test)
    python -m bench.load --root DIR       # another checkout's app, whose Explore map takes plotly clicks
    python -m bench.load --cpu --sessions 4   # server CPU-s per open, upload and pin, one session at a time

A real ``streamlit run app/main.py`` on loopback, driven through Streamlit's
websocket protocol (bench/sessions.py: one thread and one websocket per
session, which is what fits 30 "browsers" on two cores). All sessions start
together (a barrier), as a class does when the teacher says "now upload";
each uploads a different photo (a bundled sample, enlarged, then a synthetic
one) and pins the lens at different places (a click; hovers never reach the
server, so they cost it nothing: an older checkout's page (``--root``) is clicked
instead). Latency is from the request to
``script_finished``: what the server costs a student, without the browser's
drawing (bench/browser.py measures that). Errors are exceptions and error
messages on any page, failed runs, timeouts and protocol failures. The whole
run is bounded by ``--deadline`` seconds. Peak resident memory is the
server's VmHWM; its CPU time over the class (from /proc) is divided by the
interactions that reached it. ``--cpu`` measures what each action costs the server instead:
the sessions one after another, the server's CPU time (user + system, from /proc) before and after
each action, so each figure is one action's, whatever else the machine runs (wall time is not). The server runs with XSRF protection on, as a
real one does (``--no-xsrf`` turns it off): every session gets its cookie first
and sends its token with the websocket and each upload.

The worst-case class (``--worst``): every student uploads a different RGBA PNG of
8000 × 8000 pixels in about 260 kB (``bench/hostile.py``'s ``rgba_8000.png``, the
largest picture the app accepts and the one that costs it the most memory), so the
server's peak memory is that of a class uploading such files at once.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from bench._util import parser, table, write_json
from bench.memory import photo
from bench.sessions import QUERY, ROOT, Session, percentile, serve

SAMPLES = sorted((ROOT / "assets" / "samples").glob("*/*.jpg"))
LENS = "explore_lens_" + QUERY.split("=")[1]  # the lens of Explore on the zoo of QUERY (CIFAR-10)
#: The zoo the app opens on (app.sources.zoo: the first with its A²-ResNet), which a class really uses.
DEFAULT_ZOO = "imagenette"
#: The worst-case class's file (bench/hostile.py).
WORST = "rgba_8000.png"


def student_photo(k: int) -> tuple[str, bytes]:
    """Session k's photo: a bundled sample enlarged to 480 px (a different one per session), as JPEG."""
    if SAMPLES:
        picture = Image.open(SAMPLES[k % len(SAMPLES)]).convert("RGB").resize((480, 480), Image.BICUBIC)
        if k >= len(SAMPLES):  # more students than samples: mirror, so the bytes still differ
            picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=90)
        return f"student_{k:02d}.jpg", buffer.getvalue()
    return f"student_{k:02d}.jpg", photo(k)


def worst_photo(k: int) -> tuple[str, bytes]:
    """Session k's worst-case picture: :data:`WORST` with one pixel of its own (bench/hostile.py)."""
    from bench.hostile import cached

    return f"worst_{k:02d}.png", cached(WORST, seed=k)


def student(url: str, k: int, clicks: int, start: threading.Barrier, deadline: float, out: list,
            plotly: bool = False, zoo: str = DEFAULT_ZOO, xsrf: bool = True, worst: bool = False) -> None:
    session = Session(url, timeout_s=max(5.0, deadline - time.monotonic()), query=f"zoo={zoo}", xsrf=xsrf)
    lens = f"explore_lens_{zoo}"
    failures: list[str] = []
    try:
        name, data = worst_photo(k) if worst else student_photo(k)
        start.wait(timeout=60)
        session.open()
        session.upload(name, data, mime="image/png" if worst else "image/jpeg")
        for c in range(clicks):
            if time.monotonic() > deadline:
                failures.append("deadline reached before all clicks")
                break
            # A different place each time: one of 32 × 32 cells (the CIFAR-10 view's pixels), as fractions.
            row, col = (3 + 5 * k + 13 * c) % 32, (5 + 7 * k + 11 * c) % 32
            if plotly:  # an older page: its map is a plotly chart that takes clicks
                session.click("explore_click", x=col, y=row)
            else:
                session.pin(lens, y=(row + 0.5) / 32, x=(col + 0.5) / 32)
    except Exception as error:  # noqa: BLE001 (every failure is counted, not raised)
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        session.close()
    out.append({"session": k, "runs": session.runs, "errors": session.errors + failures})


def run(sessions: int, clicks: int, deadline_s: float, root: Path | None = None, zoo: str = DEFAULT_ZOO,
        xsrf: bool = True, worst: bool = False) -> dict:
    if worst:  # made before the server starts (seconds each, then kept in /tmp)
        for k in range(sessions):
            worst_photo(k)
    with serve(root=root, xsrf_protection=xsrf) as server:
        # One warm-up visit loads the model, as the teacher's own visit does before the class joins.
        warm = Session(server.url, query=f"zoo={zoo}", xsrf=xsrf)
        warm.open()
        warm.close()
        rss_before, cpu_before = server.rss(), server.cpu_seconds()
        results: list[dict] = []
        start = threading.Barrier(sessions)
        deadline = time.monotonic() + deadline_s
        threads = [threading.Thread(target=student,
                                    args=(server.url, k, clicks, start, deadline, results, root is not None,
                                          zoo, xsrf, worst))
                   for k in range(sessions)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.monotonic() + 30))
        wall = time.perf_counter() - t0
        hung = sum(t.is_alive() for t in threads)
        peak, rss_after, cpu = server.peak_rss(), server.rss(), server.cpu_seconds() - cpu_before
    errors = [f"session {r['session']}: {e}" for r in results for e in r["errors"]]
    errors += [f"{hung} sessions still running at the deadline"] * bool(hung)
    errors += [f"{sessions - len(results) - hung} sessions never reported"] * bool(sessions - len(results) - hung)
    by_action: dict[str, list[float]] = {}
    for r in results:
        for run_ in r["runs"]:
            by_action.setdefault(run_.action.split(" ")[0], []).append(run_.seconds)
    per_session = [sum(x.seconds for x in r["runs"]) for r in results]
    return {
        "sessions": sessions, "clicks": clicks, "deadline_s": deadline_s, "wall_s": wall, "errors": errors,
        "zoo": zoo, "xsrf": xsrf, "worst": WORST if worst else None,
        "latency_s": {a: {"n": len(v), "p50": percentile(v, 50), "p90": percentile(v, 90), "p99": percentile(v, 99),
                          "max": max(v)} for a, v in by_action.items()},
        "session_total_s": {"p50": percentile(per_session, 50), "p90": percentile(per_session, 90),
                            "max": max(per_session, default=float("nan"))},
        "server_cpu_s": cpu, "interactions": sum(len(r["runs"]) for r in results), "root": str(root) if root else None,
        "server_rss_before": rss_before, "server_rss_after": rss_after, "server_peak_rss": peak,
    }


def cpu_per_action(sessions: int, clicks: int, root: Path | None = None, zoo: str = DEFAULT_ZOO,
                   xsrf: bool = True, settle_s: float = 0.3) -> dict:
    """Server CPU seconds of each open, upload and pin, the sessions one after another (see the docstring).

    A warm-up session (open and upload) first, as the teacher's visit; ``settle_s`` after each action lets the
    server finish sending before its CPU time is read.
    """
    cpu: dict[str, list[float]] = {"open": [], "upload": [], "pin": []}
    errors: list[str] = []
    with serve(root=root, xsrf_protection=xsrf) as server:
        warm = Session(server.url, query=f"zoo={zoo}", xsrf=xsrf)
        warm.open()
        warm.upload(*student_photo(sessions))
        warm.close()

        def timed(action: str, do) -> None:
            before = server.cpu_seconds()
            do()
            time.sleep(settle_s)
            cpu[action].append(server.cpu_seconds() - before)

        for k in range(sessions):
            session = Session(server.url, query=f"zoo={zoo}", xsrf=xsrf)
            try:
                timed("open", session.open)
                timed("upload", lambda: session.upload(*student_photo(k)))
                for c in range(clicks):
                    row, col = (3 + 5 * k + 13 * c) % 32, (5 + 7 * k + 11 * c) % 32
                    timed("pin", lambda: session.pin(f"explore_lens_{zoo}", y=(row + 0.5) / 32, x=(col + 0.5) / 32))
            except Exception as error:  # noqa: BLE001 (counted, not raised)
                errors.append(f"session {k}: {type(error).__name__}: {error}")
            finally:
                session.close()
            errors += [f"session {k}: {e}" for e in session.errors]
    return {"sessions": sessions, "clicks": clicks, "zoo": zoo, "xsrf": xsrf, "root": str(root) if root else None,
            "cpu_s": cpu, "errors": errors,
            "mean_cpu_s": {a: sum(v) / len(v) for a, v in cpu.items() if v},
            "median_cpu_s": {a: percentile(v, 50) for a, v in cpu.items() if v}}


def show_cpu(result: dict) -> None:
    rows = [{"action": a, "n": len(v), "mean": f"{result['mean_cpu_s'][a]:.3f}",
             "median": f"{result['median_cpu_s'][a]:.3f}", "min": f"{min(v):.3f}", "max": f"{max(v):.3f}"}
            for a, v in result["cpu_s"].items() if v]
    print(table(rows, [("action", "action"), ("runs", "n"), ("mean CPU-s", "mean"), ("median CPU-s", "median"),
                       ("min", "min"), ("max", "max")]))
    print(f"\nzoo {result['zoo']}, one session at a time, server CPU time (user + system) per action; "
          f"errors: {len(result['errors'])}")
    for error in result["errors"][:10]:
        print("  ", error)


def show(result: dict) -> None:
    rows = [{"action": a, "n": v["n"], "p50": f"{v['p50'] * 1e3:.0f}", "p90": f"{v['p90'] * 1e3:.0f}",
             "p99": f"{v['p99'] * 1e3:.0f}", "max": f"{v['max'] * 1e3:.0f}"} for a, v in result["latency_s"].items()]
    print(table(rows, [("action", "action"), ("runs", "n"), ("p50 ms", "p50"), ("p90 ms", "p90"),
                       ("p99 ms", "p99"), ("max ms", "max")]))
    s = result["session_total_s"]
    print(f"\nzoo {result['zoo']}, XSRF protection {'on' if result['xsrf'] else 'off'}, uploads: "
          f"{result['worst'] or 'photos (bundled samples at 480 px)'}")
    print(f"{result['sessions']} sessions × (open, upload, {result['clicks']} clicks) in {result['wall_s']:.1f} s; "
          f"per session total p50 {s['p50']:.1f} s, p90 {s['p90']:.1f} s, max {s['max']:.1f} s")
    print(f"server RSS {result['server_rss_before'] / 2**20:.0f} MiB before, {result['server_rss_after'] / 2**20:.0f} "
          f"MiB after, peak {result['server_peak_rss'] / 2**20:.0f} MiB; errors: {len(result['errors'])}")
    print(f"server CPU {result['server_cpu_s']:.1f} s for {result['interactions']} interactions that reached it: "
          f"{1e3 * result['server_cpu_s'] / max(1, result['interactions']):.0f} ms each (hovers: none reach it)")
    for error in result["errors"][:10]:
        print("  ", error)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--clicks", type=int, default=3, help="pins (or, with --root, clicks) per session")
    p.add_argument("--root", type=Path, default=None, help="serve this checkout's app instead")
    p.add_argument("--deadline", type=float, default=180.0, help="seconds for the whole class (default 180)")
    p.add_argument("--zoo", choices=("imagenette", "cifar10"), default=DEFAULT_ZOO,
                   help=f"the zoo the sessions open (default {DEFAULT_ZOO}, the app's own default)")
    p.add_argument("--no-xsrf", action="store_true", help="serve with XSRF protection off")
    p.add_argument("--worst", action="store_true", help=f"every student uploads a different {WORST} "
                   "(bench/hostile.py) instead of a photo")
    p.add_argument("--cpu", action="store_true", help="server CPU-s per action, one session at a time")
    args = p.parse_args(argv)
    sessions, clicks = (4, 1) if args.quick else (args.sessions, args.clicks)
    if args.cpu:
        result = cpu_per_action(sessions, clicks, args.root, args.zoo, not args.no_xsrf)
        show_cpu(result)
        name = f"load_cpu_{args.zoo}" + ("_root" if args.root else "")
        print(f"\nwrote {write_json(name, result, args.out, args.quick)}")
        return 1 if result["errors"] else 0
    result = run(sessions, clicks, args.deadline, args.root, args.zoo, not args.no_xsrf, args.worst)
    show(result)
    name = "load" + ("" if args.zoo == "cifar10" else f"_{args.zoo}") + ("_worst" if args.worst else "")
    path = write_json(name + ("_root" if args.root else ""), result, args.out, args.quick)
    print(f"\nwrote {path}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
