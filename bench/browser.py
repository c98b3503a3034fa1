"""What a student waits for in Chromium on Explore: a hover until the lens has redrawn, a click (pin) until
the server's panels follow it, a 12-megapixel photo's upload until every map is drawn, and a first page load.

    python -m bench.browser --zoo imagenette  # photo zoo: its default 160 px view and 224 px (~3 min)
    python -m bench.browser                   # CIFAR-10 zoo: 32 px and 128 px views
    python -m bench.browser --quick           # 32 px, a few of each (CI smoke test)
    python -m bench.browser --zoo imagenette --root ../before   # page loads and uploads of another checkout
    python -m bench.browser --zoo imagenette --compare   # Compare at 224 px: the first seven vs all thirteen

A real server (bench/sessions.py ``serve``) and Debian's Chromium through Playwright, 1280×900 (a
laptop; a classroom projector is 1024–1280 wide). The lens (``a2core/figures/web/lens.js``) times a
hover itself: from the mouse event's timestamp to the task after the next animation frame, the frame
that shows the new maps (``data-latency``), read once it reports that very redraw. Every websocket
frame the page sends is logged from its first script on (``RECORDER``): the hovers must send none.
A pin is timed from the click until the Grad-CAM's caption names the new cell and the page is
settled (Streamlit's running indicator gone, nothing stale, every plotly chart and lens drawn), and
taken apart from the page's own clock (request sent, messages back, script finished). An upload is
timed until the lens shows the new photo's maps (its ``data-signature`` changes) and every chart is
drawn; a page load from ``goto`` in a fresh tab of a warm server to the same settled state. With
``--zoo imagenette`` the page opens on the photo zoo, on its shipped weights (or random ones until they
land, ``bench/zoo_weights.py``: the time does not depend on the values). ``--root`` serves another
checkout's app (an earlier commit, in a ``git worktree``) and times what both have: page loads, uploads.

``--compare`` times Compare instead, with the first seven models (``a2core.models.ARCHS``) and with all
thirteen (``ALL_ARCHS``), one server, the same weight files: a page load of ``/compare?models=…`` at its
largest view (224 px on the photo zoo) in a fresh tab until every card and chart is drawn, and hovers on its
lens (every card redraws). Archs with no shipped weights (the series' six until they land) get random ones
(``bench/zoo_weights.py``): neither time depends on the values.
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

from a2core.models import ALL_ARCHS, ARCHS, archs_with_weights, default_path, zoo_dir
from app.common import ZOO_VIEWS
from bench._util import parser, table, write_json
from bench.app import ARCH, photo_bytes
from bench.sessions import percentile, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
CHARTS = '[data-testid="stPlotlyChart"]'
TARGETS_MS = {"hover": 50.0, "upload_12mp": 1500.0}
FULL = {"sizes": (32, 128), "hovers": 20, "pins": 8, "uploads": 3, "loads": 3}
QUICK = {"sizes": (32,), "hovers": 5, "pins": 2, "uploads": 1, "loads": 1}
#: per zoo: the views timed by default (the trained size first)
SIZES = {"cifar10": (32, 128), "imagenette": (160, 224)}
#: per zoo: Compare's largest view (its sizes are the zoo's first three), where its load is timed
COMPARE_SIZE = {"cifar10": 96, "imagenette": 224}
#: the model sets Compare is timed with: the app's first seven, and every design of the series
COMPARE_SETS = {"seven": ARCHS, "thirteen": ALL_ARCHS}

#: The lens roots of the page: components v2 mount in a shadow root, which querySelectorAll does not enter.
LENSES = """() => [document, ...[...document.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => e.shadowRoot)]
    .flatMap(r => [...r.querySelectorAll('.a2lens')])"""

#: The lens has reported the hover after redraw ``f``. Polled every animation frame, in the frame the lens paints,
#: so the lens root is looked up once (a search of the whole page each frame would add to what is timed).
HOVER_DONE = f"""f => {{
    const cached = window.__a2lensRoot;
    const l = cached && cached.isConnected ? cached : (window.__a2lensRoot = ({LENSES})()[0]);
    return Number(l.dataset.latencyFrame) > f;
}}"""

#: The page is settled: nothing running, nothing stale, ``text`` shown, ≥ ``charts`` plotly charts drawn,
#: every lens drawn, and none still showing the maps of ``signature`` (the previous photo's).
SETTLED = """([text, charts, signature]) => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && status.offsetParent !== null) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    if (!document.body.innerText.includes(text)) return false;
    const drawn = [...document.querySelectorAll('%s')].filter(c => c.querySelector('.main-svg'));
    if (drawn.length < charts) return false;
    return (%s)().every(l => l.dataset.frames && l.dataset.signature !== signature);
}""" % (CHARTS, LENSES)


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


def lens_state(page) -> dict:
    """The first lens's data- attributes (frames, position, latency, signature …); {} when there is none."""
    return page.evaluate(f"() => {{ const l = ({LENSES})()[0]; return l ? {{...l.dataset}} : {{}}; }}")


# Resolves once the page has been idle for three idle periods running (each with ≥ 45 of the 50 ms an idle
# period can have: nothing due meanwhile), or after 5 s.
IDLE = """() => new Promise(done => {
    const quit = setTimeout(done, 5000);
    let calm = 0;
    const wait = () => requestIdleCallback(deadline => {
        calm = deadline.timeRemaining() >= 45 ? calm + 1 : 0;
        if (calm >= 3) { clearTimeout(quit); done(); } else wait();
    });
    wait();
})"""


def settle(page, text: str, charts: int, signature: str | None = None, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(SETTLED, arg=[text, charts, signature], polling="raf", timeout=timeout_ms)


def chart_count(page) -> int:
    return page.locator(CHARTS).count()


def gradcam_caption(page) -> str:
    return page.get_by_text("✕ at cell").first.inner_text()


def set_size(page, size: int, sizes: tuple[int, ...]) -> None:
    # The resolution select-slider, moved with the keyboard as a user may: focus its thumb, press Right.
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"]').first
    thumb.focus()
    for _ in range(sizes.index(size) - sizes.index(int(thumb.get_attribute("aria-valuetext") or sizes[0]))):
        page.keyboard.press("ArrowRight")
    settle(page, f"model view {size}×{size}", 1, timeout_ms=120_000)


def _point(box: dict, k: int) -> tuple[float, float]:
    # A different place of the map each time, spread over it.
    fx, fy = 0.1 + 0.8 * ((k * 0.37) % 1), 0.1 + 0.8 * ((k * 0.61 + 0.3) % 1)
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def time_hovers(page, hovers: int) -> tuple[list[float], int]:
    """Milliseconds from each mouse move to the painted redraw (the lens's own clock), and how many
    websocket frames the page sent meanwhile."""
    stage = page.locator(".a2lens .stage").first
    stage.scroll_into_view_if_needed()  # Compare's lens starts below the fold: a move off screen hovers nothing
    # A student's pointer reaches the map across the page, one small move at a time, and comes in from the
    # map's title just above it; a pointer jumping from the page's corner straight onto the map would make its
    # first hover also restyle every container it entered at once (docs/benchmarks.md, the Compare section).
    title = stage.locator("xpath=..").bounding_box()
    page.mouse.move(title["x"] + 4, title["y"] + 4, steps=8)
    # The scroll brought the elements under the lens near the screen and they mount now (Compare's cost table):
    # a student's first hover comes after that, so the first timed one does too.
    page.evaluate(IDLE)
    box = stage.bounding_box()
    sent_before = page.evaluate("window.__a2lens.events.filter(e => e[0] === 'out').length")
    times = []
    for k in range(hovers):
        frames = int(lens_state(page)["frames"])
        page.mouse.move(*_point(box, k))
        page.wait_for_function(HOVER_DONE, arg=frames, polling="raf")
        times.append(float(lens_state(page)["latency"]))
    page.wait_for_timeout(300)
    sent = page.evaluate("window.__a2lens.events.filter(e => e[0] === 'out').length") - sent_before
    page.mouse.move(2, 2)
    return times, sent


def breakdown(events: list, kinds: list[str], settled_ms: float) -> dict:
    """One pin taken apart (milliseconds, from the page's own clock).

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
        "request_to_script_finished": finished - sent,
        "script_finished_to_settled": settled_ms - finished,
        "total": settled_ms - click,
        "messages": len(received), "bytes": sum(n for _, n in received),
        "long_tasks_ms": sum(d for _, d in long_tasks),
    }


def time_pins(page, pins: int, frames: Frames) -> tuple[list[float], list[dict]]:
    """Seconds from a click on the lens until the server's panels (Grad-CAM's ✕) follow it, and each
    pin's ``breakdown``."""
    times, parts = [], []
    charts = chart_count(page)
    for k in range(pins):
        box = page.locator(".a2lens .stage").first.bounding_box()
        x, y = _point(box, 2 * k + 1)
        before = gradcam_caption(page)
        page.evaluate("window.__a2lens.events = []")
        seen = len(frames.kinds)
        t0 = time.perf_counter()
        page.mouse.click(x, y)
        page.wait_for_function(
            "before => [...document.querySelectorAll('p')].some(p => p.textContent.startsWith('✕ at cell')"
            " && p.textContent !== before)", arg=before, polling="raf", timeout=60_000)
        settle(page, "", charts)
        times.append(time.perf_counter() - t0)
        settled_ms = page.evaluate("performance.now()")
        page.wait_for_timeout(300)  # let the long-task observer report the last drawing
        parts.append(breakdown(page.evaluate("window.__a2lens.events"), frames.kinds[seen:], settled_ms))
        page.mouse.move(2, 2)
        page.wait_for_timeout(150)
    return times, parts


def time_uploads(page, uploads: int, folder: Path) -> list[float]:
    """Seconds from choosing a 12-megapixel JPEG until every map of the page is drawn for it."""
    times = []
    for u in range(uploads):
        path = folder / f"phone_{u}.jpg"
        path.write_bytes(photo_bytes(4032 + 8 * u, 3024))  # a new photo each time: no cache hit
        charts, signature = chart_count(page), lens_state(page).get("signature")
        t0 = time.perf_counter()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        settle(page, f"{path.name} · model view", charts, signature)
        times.append(time.perf_counter() - t0)
    return times


def time_loads(context, url: str, loads: int, text: str = "model view") -> list[float]:
    """Seconds from opening ``url`` in a fresh tab (the server warm) until the page is settled, ``text`` shown."""
    times, charts = [], None
    for _ in range(loads + 1):  # the first load warms the server's caches for this view: not counted
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.get_by_text(text).first.wait_for(timeout=300_000)
        settle(page, text, charts or 1, timeout_ms=300_000)
        page.wait_for_timeout(500) if charts is None else None
        charts = charts or chart_count(page)
        times.append(time.perf_counter() - t0)
        page.close()
    return times[1:]


def photo_weights(folder: Path) -> Path | None:
    """None when the photo zoo is shipped, else a weights folder with random photo weights in ``folder``."""
    if default_path(ARCH, "imagenette").is_file():
        return None
    from bench.zoo_weights import weights_folder  # the stand-in weights the tests use too
    return weights_folder(folder / "weights", photo_archs=(ARCH,))


def compare_weights(folder: Path, zoo: str) -> Path | None:
    """None when ``zoo`` ships weights for all thirteen archs, else a weights folder in ``folder`` with the
    shipped files linked and random ones for the rest (both zoos, the layout of ``assets/weights``)."""
    if len(archs_with_weights(zoo_dir(zoo))) == len(ALL_ARCHS):
        return None
    from bench.zoo_weights import link_cifar_weights, write_photo_weights  # the stand-in weights

    root = link_cifar_weights(folder / "weights", ALL_ARCHS)
    photo, shipped = zoo_dir("imagenette", root), zoo_dir("imagenette")
    photo.mkdir(parents=True, exist_ok=True)
    for arch in ALL_ARCHS:
        if (shipped / f"{arch}.safetensors").is_file():
            (photo / f"{arch}.safetensors").symlink_to(shipped / f"{arch}.safetensors")
        else:
            write_photo_weights(root, (arch,))
    return root


def compare_url(base: str, zoo: str, archs) -> str:
    return f"{base}/compare?zoo={zoo}&size={COMPARE_SIZE[zoo]}&models={','.join(archs)}"


def run_compare(config: dict) -> dict:
    """Compare's page load and hover with each model set of :data:`COMPARE_SETS`, one server, one browser."""
    from playwright.sync_api import sync_playwright

    zoo, rows = config["zoo"], []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(serve(weights=compare_weights(tmp, zoo)))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        context.add_init_script(RECORDER)
        for name, archs in COMPARE_SETS.items():
            url = compare_url(server.url, zoo, archs)
            loads = time_loads(context, url, config["loads"], text="Query position")
            page = context.new_page()
            page.set_default_timeout(300_000)
            page.goto(url)
            page.get_by_text("Query position").first.wait_for(timeout=300_000)
            settle(page, "Query position", len(archs), timeout_ms=300_000)
            cards = page.evaluate(f"() => ({LENSES})()[0].querySelectorAll('.card').length")
            if cards != len(archs):
                raise RuntimeError(f"Compare drew {cards} cards for the {len(archs)} models of {name}")
            hovers, sent = time_hovers(page, config["hovers"])
            rows.append({"set": name, "models": len(archs), "loads_s": loads, "hovers_ms": hovers,
                         "hover_frames_sent": sent})
            page.close()
        browser.close()
    return {"zoo": zoo, "page": "compare", "size": COMPARE_SIZE[zoo], "viewport": [1280, 900],
            "targets_ms": TARGETS_MS, "rows": rows}


def show_compare(result: dict) -> None:
    def ms(values, q, scale=1e3):
        return f"{percentile(values, q) * scale:.0f}" if values else "–"

    rows = [{"set": f"{r['set']} ({r['models']} models)", "l50": ms(r["loads_s"], 50), "lmax": ms(r["loads_s"], 100),
             "h50": ms(r["hovers_ms"], 50, 1), "hmax": ms(r["hovers_ms"], 100, 1), "sent": str(r["hover_frames_sent"]),
             "n": f"{len(r['loads_s'])} / {len(r['hovers_ms'])}"} for r in result["rows"]]
    print(table(rows, [("Compare", "set"), (f"{result['size']}-px page load, median ms", "l50"),
                       ("load max ms", "lmax"), ("hover → every card redrawn, median ms", "h50"),
                       ("hover max ms", "hmax"), ("frames sent by the hovers", "sent"), ("loads / hovers", "n")]))
    loads = {r["set"]: statistics.median(r["loads_s"]) for r in result["rows"] if r["loads_s"]}
    if {"seven", "thirteen"} <= set(loads):
        print(f"thirteen / seven, median page load: {loads['thirteen'] / loads['seven']:.2f}× (target ≤ 1.5×)")
    print(f"(Chromium 1280×900; target: hover < {TARGETS_MS['hover']:.0f} ms with every model shown)")


def run(config: dict) -> dict:
    from playwright.sync_api import sync_playwright

    rows = []
    zoo, root = config["zoo"], config.get("root")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(serve(weights=photo_weights(tmp) if zoo == "imagenette" else None, root=root))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        context.add_init_script(RECORDER)
        url = f"{server.url}/?zoo={zoo}"  # the zoo these numbers are for, whatever weights have landed
        loads = time_loads(context, url, config["loads"])
        page = context.new_page()
        frames = Frames(page)
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("model view").first.wait_for(timeout=300_000)
        settle(page, "model view", 4, timeout_ms=300_000)
        views = ZOO_VIEWS[zoo].sizes
        for size in config["sizes"]:
            if size != views[0]:
                set_size(page, size, views)
            page.wait_for_timeout(500)
            row = {"size": size, "uploads_s": time_uploads(page, config["uploads"], tmp)}
            if root is None:  # another checkout may have no lens to hover
                row["hovers_ms"], row["hover_frames_sent"] = time_hovers(page, config["hovers"])
                row["pins_s"], row["pin_breakdown"] = time_pins(page, config["pins"], frames)
            rows.append(row)
        browser.close()
    return {"zoo": zoo, "root": str(root) if root else None, "viewport": [1280, 900], "targets_ms": TARGETS_MS,
            "loads_s": loads, "rows": rows}


def show(result: dict) -> None:
    def ms(values, q, scale=1e3):
        return f"{percentile(values, q) * scale:.0f}" if values else "–"

    print(f"page load (fresh tab, warm server), median of {len(result['loads_s'])}: "
          f"{ms(result['loads_s'], 50)} ms (max {ms(result['loads_s'], 100)} ms)"
          + (f"; app of {result['root']}" if result["root"] else ""))
    rows = [{"size": f"{r['size']} px", "h50": ms(r.get("hovers_ms", []), 50, 1),
             "hmax": ms(r.get("hovers_ms", []), 100, 1),
             "sent": str(r.get("hover_frames_sent", "–")), "p50": ms(r.get("pins_s", []), 50),
             "u50": ms(r["uploads_s"], 50), "umax": ms(r["uploads_s"], 100),
             "n": f"{len(r.get('hovers_ms', []))} / {len(r.get('pins_s', []))} / {len(r['uploads_s'])}"}
            for r in result["rows"]]
    print(table(rows, [("view", "size"), ("hover → lens redrawn, median ms", "h50"), ("hover max ms", "hmax"),
                       ("frames sent by the hovers", "sent"), ("pin → server panels follow, median ms", "p50"),
                       ("12 MP upload → all maps, median ms", "u50"), ("upload max ms", "umax"),
                       ("hovers / pins / uploads", "n")]))
    print(f"(Chromium 1280×900; targets: hover < {TARGETS_MS['hover']:.0f} ms, "
          f"upload < {TARGETS_MS['upload_12mp']:.0f} ms)")
    parts = [("click → request sent", "click_to_request"), ("request → script_finished", "request_to_script_finished"),
             ("script_finished → settled", "script_finished_to_settled"), ("total", "total"),
             ("main-thread long tasks", "long_tasks_ms")]
    rows = []
    for r in result["rows"]:
        if not r.get("pin_breakdown"):
            continue
        b = r["pin_breakdown"]
        row = {"size": f"{r['size']} px"}
        row.update({key: f"{statistics.median(p[key] for p in b):.0f}" for _, key in parts})
        kb = statistics.median(p["bytes"] for p in b) / 1e3
        row["msgs"] = f"{statistics.median(p['messages'] for p in b):.0f} ({kb:.0f} kB)"
        rows.append(row)
    if rows:
        print("\nA pin taken apart (medians, ms, the page's own clock):")
        print(table(rows, [("view", "size"), *parts, ("messages back (bytes)", "msgs")]))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    for name, what in (("hovers", "hovers"), ("pins", "clicks that pin"), ("uploads", "12-MP uploads"),
                       ("loads", "page loads")):
        p.add_argument(f"--{name}", type=int, default=None, help=f"{what} per view (default {FULL[name]})")
    p.add_argument("--zoo", choices=tuple(SIZES), default="cifar10")
    p.add_argument("--root", type=Path, default=None, help="serve this checkout's app instead (loads, uploads)")
    p.add_argument("--compare", action="store_true",
                   help="time Compare at its largest view with the first seven and with all thirteen models")
    args = p.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.compare:
        if args.root is not None:
            p.error("--compare times this checkout's app: it takes no --root")
        config.update({"zoo": args.zoo})
        config.update({k: getattr(args, k) for k in ("hovers", "loads") if getattr(args, k) is not None})
        result = run_compare(config)
        show_compare(result)
        path = write_json(f"browser_compare_{args.zoo}", result, args.out, args.quick)
        print(f"\nwrote {path}")
        return 0
    config.update({"zoo": args.zoo, "sizes": SIZES[args.zoo][:len(config["sizes"])], "root": args.root})
    config.update({k: getattr(args, k) for k in ("hovers", "pins", "uploads", "loads") if getattr(args, k) is not None})
    result = run(config)
    show(result)
    name = "browser" if args.zoo == "cifar10" else f"browser_{args.zoo}"
    path = write_json(name + ("_root" if args.root else ""), result, args.out, args.quick)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
