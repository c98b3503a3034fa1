"""Real app sessions without a browser: Streamlit's websocket protocol driven directly, on loopback.

A browser tab per student does not fit on two cores; what the server sees
from one does: a websocket on ``/_stcore/stream`` carrying ``BackMsg``
protobufs (rerun requests with widget states, upload URL requests) and
``ForwardMsg`` protobufs back (the page's elements, then ``script_finished``),
plus the HTTP PUT of an uploaded file. :class:`Session` speaks exactly that,
so the server runs the page, the model and every figure as it does for a
browser; only the drawing is left out (see ``bench/browser.py`` for that).

    with serve() as server:
        session = Session(server.url)
        session.open()                      # the Explore page, as a first visit
        session.upload("me.jpg", data)      # the sidebar's file uploader
        session.click("explore_click", x=10, y=5)
        print(session.runs, session.errors, server.peak_rss())
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from websockets.sync.client import connect

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
#: The query string that opens the app on the CIFAR-10 zoo (32 px), the zoo the memory numbers are
#: for, whatever weights have landed (the photo zoo is the default once its A²-ResNet is there).
QUERY = "zoo=cifar10"
#: The cookie Streamlit's XSRF protection sets, and whose value every upload and the websocket must carry.
XSRF_COOKIE = "_streamlit_xsrf"
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_kib(pid: int, key: str) -> int:
    # VmRSS: resident now; VmHWM: the high-water mark of resident memory since the process started.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    hook: Path | None = None  # bench/memhook.py's folder, when the server runs with it

    def rss(self) -> int:
        """Resident memory of the server process now, in bytes."""
        return _status_kib(self.process.pid, "VmRSS") * 1024

    def peak_rss(self) -> int:
        """The most resident memory the server process has held, in bytes."""
        return _status_kib(self.process.pid, "VmHWM") * 1024

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far, in seconds."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def probe(self, label: str, timeout_s: float = 120.0) -> dict:
        """bench/memhook.py's report from inside the server (serve(hook=...) only)."""
        (self.hook / f"{label}.req").write_text("")
        answer = self.hook / f"{label}.json"
        deadline = time.monotonic() + timeout_s
        while not answer.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no memhook report {label} in {timeout_s}s")
            time.sleep(0.1)
        return json.loads(answer.read_text())


@contextlib.contextmanager
def serve(timeout_s: float = 90.0, extra: tuple[str, ...] = (), xsrf_protection: bool = False,
          log: Path | None = None, weights: Path | None = None, hook: Path | None = None,
          env: dict[str, str] | None = None, root: Path | None = None) -> Iterator[Server]:
    """``streamlit run app/main.py`` on the shipped weights (or ``weights``, a folder laid out as
    ``assets/weights``, given to the app as ``$A2LENS_WEIGHTS``), on a free loopback port, stopped on exit.

    XSRF protection is off by default for this private loopback server, so the
    websocket driver needs no cookie dance for its uploads; a real browser
    (the end-to-end tests) keeps it on. ``log`` receives the server's output.
    With ``hook`` (a folder) the server runs under bench/memhook.py, so
    ``Server.probe`` can look inside it; ``env`` adds environment variables; ``root`` serves another
    checkout's app (an earlier commit's, to time both in one run).
    """
    root = Path(root or ROOT)
    port = _free_port()
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"a2lens_bench_{port}.log"
    command = [
        sys.executable, "-m", *(("bench.memhook", str(hook)) if hook else ("streamlit",)), "run", str(root / "app" / "main.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--server.enableXsrfProtection", str(xsrf_protection).lower(), *extra,
    ]
    env = {**{k: v for k, v in os.environ.items() if k != "A2LENS_WEIGHTS"}, **(env or {})}
    if weights is not None:
        env["A2LENS_WEIGHTS"] = str(weights)
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy in {timeout_s}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(url, process, log, hook)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------------------------------------------------------------- one session


@dataclass
class Run:
    """One script run as the client saw it: what was asked, how long until ``script_finished``."""

    action: str
    seconds: float
    elements: int
    bytes: int
    errors: list[str]


@dataclass
class Session:
    """One browser tab's worth of protocol (see the module docstring)."""

    url: str
    timeout_s: float = 120.0
    #: the page's query string, e.g. "zoo=cifar10" to open on that zoo whatever weights have landed
    query: str = ""
    #: speak to a server with XSRF protection on, as a browser does: the cookie from the first HTTP answer,
    #: its token in the websocket's subprotocols and in the X-Xsrftoken header of every upload
    xsrf: bool = False
    runs: list[Run] = field(default_factory=list)
    session_id: str = ""
    widgets: dict[str, str] = field(default_factory=dict)  # user key → widget id
    fragments: dict[str, str] = field(default_factory=dict)  # widget id → id of the fragment it lives in
    charts: dict[str, dict] = field(default_factory=dict)  # user key → the plotly figure sent
    lenses: dict[str, dict] = field(default_factory=dict)  # user key → the data sent to a lens (components v2)
    states: dict[str, WidgetState] = field(default_factory=dict)  # widget id → the value the "browser" holds
    _ws: object = None
    _http: requests.Session = field(default_factory=requests.Session)
    _present: set = field(default_factory=set)  # widget ids of the latest run

    @property
    def errors(self) -> list[str]:
        return [e for run in self.runs for e in run.errors]

    def open(self, page: str = "") -> Run:
        protocols, headers = ["streamlit"], {}
        if self.xsrf:
            # What the browser has before it opens the websocket: the page (here its health check) set the cookie.
            self._http.get(self.url + "/_stcore/health", timeout=self.timeout_s).raise_for_status()
            token = self._http.cookies.get(XSRF_COOKIE)
            if not token:
                raise RuntimeError("the server set no XSRF cookie: is its XSRF protection on?")
            self._http.headers["X-Xsrftoken"] = token
            protocols.append(token)
            headers = {"Cookie": f"{XSRF_COOKIE}={token}", "Origin": self.url}
        self._ws = connect(self.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=protocols,
                           additional_headers=headers, max_size=None, open_timeout=self.timeout_s)
        return self._rerun("open", page_name=page)

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        self._http.close()

    def set(self, key: str, **value) -> Run:
        """Change the widget with user key ``key``, e.g. ``set("explore_size", string_array_value={"data": ["128"]})``."""
        state = WidgetState(id=self.widgets[key], **value)
        self.states[state.id] = state
        self._present.add(state.id)
        return self._rerun(f"set {key}", fragment_id=self.fragments.get(state.id, ""))

    def upload(self, name: str, data: bytes, mime: str = "image/jpeg", key: str = "explore_upload") -> Run:
        """What the file uploader does: ask for an upload URL, PUT the file, rerun with its info.

        ``key`` is the uploader's first key: the page gives its photo uploader a new key after each photo
        (``app.common.uploader_key``), and the upload goes to the one on the page now.
        """
        widget = self._uploader(key)
        t0 = time.perf_counter()
        previous = self.states.get(widget)
        if previous is not None:  # the uploader holds one file: the browser deletes the one it replaces
            for info in previous.file_uploader_state_value.uploaded_file_info:
                self._http.delete(self.url + info.file_urls.delete_url, timeout=self.timeout_s)
        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        self._ws.send(request.SerializeToString())
        while True:
            msg = self._receive()
            if msg.WhichOneof("type") == "file_urls_response":
                break
        urls = msg.file_urls_response.file_urls[0]
        response = self._http.put(self.url + urls.upload_url, files={"file": (name, data, mime)},
                                  timeout=self.timeout_s)
        response.raise_for_status()
        info = UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id)
        info.file_urls.CopyFrom(urls)
        state = WidgetState(id=widget, file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]))
        self.states[widget] = state
        self._present.add(widget)
        return self._rerun(f"upload {name}", started=t0)

    def _uploader(self, key: str) -> str:
        now = [i for k, i in self.widgets.items()
               if i in self._present and (k == key or k.startswith(key + "_") and k[len(key) + 1:].isdigit())]
        return now[-1] if now else self.widgets[key]

    def click(self, key: str, x: float, y: float, curve_number: int = 0, point_number: int = 0) -> Run:
        """A click on a selectable plotly chart: the selection event the frontend sends, as JSON."""
        point = {"x": x, "y": y, "curve_number": curve_number, "point_number": point_number,
                 "point_index": point_number}
        selection = {"selection": {"points": [point], "point_indices": [point_number], "box": [], "lasso": []}}
        state = WidgetState(id=self.widgets[key], string_value=json.dumps(selection))
        self.states[state.id] = state
        self._present.add(state.id)
        return self._rerun(f"click {key}", fragment_id=self.fragments.get(state.id, ""))

    def pin(self, key: str, y: float, x: float) -> Run:
        """A click on the lens (``app/lens.py``): the component state it sends, the position as fractions."""
        state = WidgetState(id=self.widgets[key], json_value=json.dumps({"position": [y, x]}))
        self.states[state.id] = state
        self._present.add(state.id)
        return self._rerun(f"pin {key}", fragment_id=self.fragments.get(state.id, ""))

    # ------------------------------------------------------------ protocol

    def _receive(self) -> ForwardMsg:
        msg = ForwardMsg()
        msg.ParseFromString(self._ws.recv(timeout=self.timeout_s))
        return msg

    def _rerun(self, action: str, page_name: str = "", fragment_id: str = "", started: float | None = None) -> Run:
        t0 = started if started is not None else time.perf_counter()
        back = BackMsg()
        back.rerun_script.query_string = self.query
        back.rerun_script.page_name = page_name
        back.rerun_script.fragment_id = fragment_id
        # Like the browser, send the values of the widgets on the page now, not of ones a rerun replaced.
        back.rerun_script.widget_states.widgets.extend(s for i, s in self.states.items() if i in self._present)
        self._ws.send(back.SerializeToString())
        elements, received, errors = 0, 0, []
        seen: set[str] = set()
        while True:
            raw = self._ws.recv(timeout=self.timeout_s)
            received += len(raw)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                elements += 1
                errors += self._element(msg.delta.new_element, msg.delta.fragment_id, seen)
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if msg.script_finished not in FINISHED:
                    errors.append(f"script finished with status {msg.script_finished}")
                # A fragment run redraws only its own widgets; the others stay on the page.
                keep = {i for i in self._present if i not in self.fragments} if fragment_id else set()
                self._present = keep | seen
                break
        run = Run(action, time.perf_counter() - t0, elements, received, errors)
        self.runs.append(run)
        return run

    def _element(self, element, fragment_id: str, seen: set[str]) -> list[str]:
        kind = element.WhichOneof("type")
        if kind == "exception":
            return [f"{element.exception.type}: {element.exception.message}"]
        if kind == "alert" and element.alert.format == element.alert.ERROR:
            return [f"error message: {element.alert.body[:200]}"]
        proto = getattr(element, kind)
        widget_id = getattr(proto, "id", "") if kind else ""
        if widget_id and "-" in widget_id:
            user_key = widget_id.rsplit("-", 1)[-1]
            if user_key:
                self.widgets[user_key] = widget_id
                seen.add(widget_id)
                if fragment_id:
                    self.fragments[widget_id] = fragment_id
                if kind == "plotly_chart":
                    self.charts[user_key] = json.loads(proto.spec)
                elif kind == "bidi_component":
                    self.lenses[user_key] = json.loads(proto.json)
        return []


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
