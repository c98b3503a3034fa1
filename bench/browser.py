"""What a student waits for in Chromium: a click on the Explore map until the new view is drawn, and a
12-megapixel photo's upload until every map is drawn.

    python -m bench.browser                   # CIFAR-10 zoo: 32 px and 128 px views, 8 clicks and 3 uploads each (~2 min)
    python -m bench.browser --zoo imagenette  # photo zoo: its default 160 px view and 224 px
    python -m bench.browser --quick           # 32 px, 2 clicks, 1 upload (CI smoke test)

A real server (bench/sessions.py ``serve``) and Debian's Chromium through
Playwright, 1280×900 (a laptop; a classroom projector is 1024–1280 wide).
Timing is wall clock from the action (mouse click, file chosen) until the page
is settled: Streamlit's running indicator gone, no element greyed out as
stale, the changed text on the page (the clicked cell in the bars' title,
the file's name) and every plotly chart drawn (its SVG in place), checked on
every animation frame. Each click is also taken apart (``breakdown``) from
timestamps the page itself records (``performance.now()``): the click, the rerun
request the browser sends on the websocket, every message back (its type read
from the same frames: the elements, ``script_finished``), the main thread's long
tasks (decoding, React, plotly drawing), the settled page. With ``--zoo imagenette``
the page opens on the photo zoo, on its shipped weights or, until they land, on
randomly initialised ones (``tests/zoo_weights.py``): the time does not depend
on the values.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from a2core.weights import default_path
from app.common import ZOO_VIEWS
from bench._util import parser, table, write_json
from bench.app import ARCH, photo_bytes
from bench.sessions import percentile, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
CHARTS = '[data-testid="stPlotlyChart"]'
TARGETS_MS = {"click": 300.0, "upload_12mp": 1500.0}
FULL = {"sizes": (32, 128), "clicks": 8, "uploads": 3}
QUICK = {"sizes": (32,), "clicks": 2, "uploads": 1}
#: per zoo: the views timed by default (the trained size first)
SIZES = {"cifar10": (32, 128), "imagenette": (160, 224)}

#: The page is settled: nothing running, nothing stale, ``text`` shown, at least ``charts`` charts drawn.
SETTLED = """([text, charts]) => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && status.offsetParent !== null) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    if (!document.body.innerText.includes(text)) return false;
    const drawn = [...document.querySelectorAll('%s')].filter(c => c.querySelector('.main-svg'));
    return drawn.length >= charts;
}""" % CHARTS


#: Recorded in the page from its first script on: websocket frames out and in, long tasks, clicks.
RECORDER = """(() => {
    const log = window.__a2lens = {events: []};
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            if (!String(args[0]).includes('_stcore/stream')) return;
            this.addEventListener('message', e => log.events.push(
                ['in', performance.now(), e.data.byteLength ?? e.data.size ?? e.data.length]));
        }
        send(data) {
            if (String(this.url).includes('_stcore/stream'))
                log.events.push(['out', performance.now(), data.byteLength ?? data.size ?? data.length]);
            return super.send(data);
        }
    };
    new PerformanceObserver(list => { for (const e of list.getEntries()) log.events.push(['long', e.startTime, e.duration]); })
        .observe({type: 'longtask', buffered: true});
    document.addEventListener('mousedown', () => log.events.push(['click', performance.now(), 0]), true);
})()"""


class Frames:
    """The type of every ForwardMsg the page receives on Streamlit's websocket, in order (Playwright's events)."""

    def __init__(self, page) -> None:
        self.kinds: list[str] = []
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        if "_stcore/stream" in ws.url:
            ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        kind = msg.WhichOneof("type") or ""
        if kind == "delta":
            kind = f"delta:{msg.delta.WhichOneof('type')}"
            if msg.delta.WhichOneof("type") == "new_element":
                kind += f":{msg.delta.new_element.WhichOneof('type')}"
        self.kinds.append(kind)


def breakdown(events: list, kinds: list[str], settled_ms: float) -> dict:
    """One click taken apart (milliseconds, from the page's own clock): see the module docstring.

    ``events``: the recorder's log since the click; ``kinds``: the types of the frames received since then.
    """
    click = next(t for kind, t, _ in events if kind == "click")
    sent = next(t for kind, t, _ in events if kind == "out" and t >= click)
    received = [(t, n) for kind, t, n in events if kind == "in" and t >= sent]
    kinds = kinds[-len(received):] if received else []
    finished = next((t for (t, _), k in zip(received, kinds) if k == "script_finished"), received[-1][0])
    long_tasks = [(t, d) for kind, t, d in events if kind == "long" and t + d >= click and t <= settled_ms]
    return {
        "click_to_request": sent - click,
        "request_to_first_message": received[0][0] - sent if received else float("nan"),
        "request_to_script_finished": finished - sent,
        "script_finished_to_settled": settled_ms - finished,
        "total": settled_ms - click,
        "messages": len(received), "bytes": sum(n for _, n in received),
        "charts_sent": sum(k.endswith(":plotly_chart") for k in kinds),
        "long_tasks": len(long_tasks), "long_tasks_ms": sum(d for _, d in long_tasks),
    }


def settle(page, text: str, charts: int, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(SETTLED, arg=[text, charts], polling="raf", timeout=timeout_ms)


def bars_title(page) -> str:
    titles = page.eval_on_selector_all(f"{CHARTS} .gtitle", "els => els.map(e => e.textContent)")
    return next(t for t in titles if t.startswith("v_j at cell"))


def chart_count(page) -> int:
    return page.locator(CHARTS).count()


def set_size(page, size: int, sizes: tuple[int, ...]) -> None:
    # The resolution select-slider, moved with the keyboard as a user may: focus its thumb, press Right.
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"]').first
    thumb.focus()
    for _ in range(sizes.index(size) - sizes.index(int(thumb.get_attribute("aria-valuetext") or sizes[0]))):
        page.keyboard.press("ArrowRight")
    settle(page, f"model view {size}×{size}", 1, timeout_ms=120_000)


def time_clicks(page, clicks: int, frames: Frames) -> tuple[list[float], list[dict]]:
    """Seconds from a click on the map to the redrawn view, one per click on a different cell, and each
    click's ``breakdown``."""
    times, parts = [], []
    plot = page.locator(CHARTS).first.locator(".nsewdrag").first
    charts = chart_count(page)  # read while settled: a rerun briefly shows old and new elements together
    for c in range(clicks):
        box = plot.bounding_box()
        fx, fy = 0.1 + 0.8 * ((c * 0.37) % 1), 0.1 + 0.8 * ((c * 0.61 + 0.3) % 1)
        x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
        before = bars_title(page)
        hover = page.locator(CHARTS).first.locator(".hoverlayer .hovertext")
        for nudge in range(20):  # plotly selects the hovered point: hover first, as a user does
            page.mouse.move(x + nudge % 2, y)
            try:
                hover.wait_for(timeout=1000)
                break
            except Exception:  # noqa: BLE001 (plotly not listening yet: move again)
                continue
        page.evaluate("window.__a2lens.events = []")
        seen = len(frames.kinds)
        t0 = time.perf_counter()
        page.mouse.click(x, y)
        page.wait_for_function(
            """([sel, before]) => [...document.querySelectorAll(sel)].some(
                t => t.textContent.startsWith('v_j at cell') && t.textContent !== before)""",
            arg=[f"{CHARTS} .gtitle", before], polling="raf", timeout=60_000,
        )
        settle(page, "", charts)
        times.append(time.perf_counter() - t0)
        settled_ms = page.evaluate("performance.now()")
        page.wait_for_timeout(300)  # let the long-task observer report the last drawing
        parts.append(breakdown(page.evaluate("window.__a2lens.events"), frames.kinds[seen:], settled_ms))
        page.mouse.move(5, 5)
        page.wait_for_timeout(150)
    return times, parts


def time_uploads(page, uploads: int, folder: Path) -> list[float]:
    """Seconds from choosing a 12-megapixel JPEG until every chart of the page is drawn for it."""
    times = []
    for u in range(uploads):
        path = folder / f"phone_{u}.jpg"
        path.write_bytes(photo_bytes(4032 + 8 * u, 3024))  # a new photo each time: no cache hit
        charts = chart_count(page)
        t0 = time.perf_counter()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        settle(page, f"{path.name} · model view", charts)
        times.append(time.perf_counter() - t0)
    return times


def photo_weights(folder: Path) -> Path | None:
    """None when the photo zoo is shipped, else a weights folder with random photo weights in ``folder``."""
    if default_path(ARCH, "imagenette").is_file():
        return None
    from tests.zoo_weights import weights_folder  # the tests' stand-in weights (run from the repository root)
    return weights_folder(folder / "weights", photo_archs=(ARCH,))


def run(config: dict) -> dict:
    from playwright.sync_api import sync_playwright

    rows = []
    zoo = config["zoo"]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(serve(weights=photo_weights(tmp) if zoo == "imagenette" else None))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        context.add_init_script(RECORDER)
        page = context.new_page()
        frames = Frames(page)
        page.set_default_timeout(120_000)
        page.goto(f"{server.url}/?zoo={zoo}")  # the zoo these numbers are for, whatever weights have landed
        page.get_by_text("Click a position").wait_for(timeout=300_000)
        settle(page, "Distribution weights", 4, timeout_ms=300_000)
        views = ZOO_VIEWS[zoo].sizes
        for size in config["sizes"]:
            if size != views[0]:
                set_size(page, size, views)
            page.wait_for_timeout(500)
            uploads = time_uploads(page, config["uploads"], tmp)
            clicks, parts = time_clicks(page, config["clicks"], frames)
            rows.append({"size": size, "clicks_s": clicks, "uploads_s": uploads, "click_breakdown": parts})
        browser.close()
    return {"zoo": zoo, "viewport": [1280, 900], "targets_ms": TARGETS_MS, "rows": rows}


def show(result: dict) -> None:
    def ms(values, q):
        return f"{percentile(values, q) * 1e3:.0f}" if values else "–"

    rows = [{"size": f"{r['size']} px", "c50": ms(r["clicks_s"], 50), "cmax": ms(r["clicks_s"], 100),
             "u50": ms(r["uploads_s"], 50), "umax": ms(r["uploads_s"], 100),
             "n": f"{len(r['clicks_s'])} / {len(r['uploads_s'])}"} for r in result["rows"]]
    print(table(rows, [("view", "size"), ("click → view, median ms", "c50"), ("click max ms", "cmax"),
                       ("12 MP upload → all maps, median ms", "u50"), ("upload max ms", "umax"),
                       ("clicks / uploads", "n")]))
    print(f"(Chromium 1280×900; targets: click < {TARGETS_MS['click']:.0f} ms, "
          f"upload < {TARGETS_MS['upload_12mp']:.0f} ms)")
    parts = [("click → request sent", "click_to_request"), ("request → first message", "request_to_first_message"),
             ("request → script_finished", "request_to_script_finished"),
             ("script_finished → settled", "script_finished_to_settled"), ("total", "total"),
             ("main-thread long tasks", "long_tasks_ms")]
    rows = []
    for r in result["rows"]:
        b = r["click_breakdown"]
        row = {"size": f"{r['size']} px"}
        row.update({key: f"{statistics.median(p[key] for p in b):.0f}" for _, key in parts})
        row["msgs"] = f"{statistics.median(p['messages'] for p in b):.0f} ({statistics.median(p['bytes'] for p in b) / 1e3:.0f} kB, "\
            f"{statistics.median(p['charts_sent'] for p in b):.0f} charts)"
        rows.append(row)
    print("\nA click taken apart (medians, ms, the page's own clock):")
    print(table(rows, [("view", "size"), *parts, ("messages back (bytes, charts)", "msgs")]))
    for r in result["rows"]:
        r["click_median_s"] = statistics.median(r["clicks_s"])
        r["upload_median_s"] = statistics.median(r["uploads_s"]) if r["uploads_s"] else None


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--clicks", type=int, default=None, help="clicks per view (default 8)")
    p.add_argument("--uploads", type=int, default=None, help="12-MP uploads per view (default 3)")
    p.add_argument("--zoo", choices=tuple(SIZES), default="cifar10")
    args = p.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    config.update({"zoo": args.zoo, "sizes": SIZES[args.zoo][:len(config["sizes"])]})
    config.update({k: v for k, v in (("clicks", args.clicks), ("uploads", args.uploads)) if v is not None})
    result = run(config)
    show(result)
    path = write_json("browser" if args.zoo == "cifar10" else f"browser_{args.zoo}", result, args.out, args.quick)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
