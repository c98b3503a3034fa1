"""The Learn page's toy in a real browser (a2core/figures/web/toy.js through st.components.v2): what it draws
equals a2core.lessons.toy.toy_steps in float64, moving a slider redraws in the page and sends nothing to the
server per step, the weights reach Python once the sliders rest, reset and n work, and the layout holds at
a projector's and a laptop's width."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from a2core.lessons.toy import TOY_CHANNELS, default_rho, default_theta, strongest_terms, toy_steps
from tests.e2e.browser import wait_idle

TOY_TAB = "3 · Toy to drive by hand"
TOLERANCE = 1e-9  # float64: the browser's sums differ from torch's only in their order
CHECK = re.compile(r"Checked on the server .* \(n = (\d)\).* the largest terms are at positions (.*)\.")
#: every figure the view draws and the root's attributes, as {"root": {...}, name: [values], ...}
READ = """root => {
  const out = {root: {...root.dataset}};
  for (const f of root.querySelectorAll('[data-name][data-values]')) out[f.dataset.name] = JSON.parse(f.dataset.values);
  return out;
}"""


def _open_toy(page, app_url: str) -> None:
    page.goto(f"{app_url}/?zoo=cifar10")
    page.locator('[data-testid="stSidebarNav"]').wait_for(timeout=300_000)
    page.goto(f"{app_url}/learn?zoo=cifar10")
    page.get_by_role("tab", name=TOY_TAB).click(timeout=300_000)
    page.locator(".a2toy[data-frames]").wait_for()
    wait_idle(page)


def _slider(page, param: str, i: int, j: int):
    return page.locator(f'.a2toy input[type="range"][data-param="{param}"][data-i="{i}"][data-j="{j}"]')


def _drawn(page) -> dict:
    return page.locator(".a2toy").evaluate(READ)


def _expected(theta, rho) -> dict:
    """What the view must draw for θ, ρ, from a2core: toy_steps in float64, named as toy.js names them."""
    s = toy_steps(torch.tensor(theta, dtype=torch.float64), torch.tensor(rho, dtype=torch.float64),
                  dtype=torch.float64)
    n, c = s.gather.shape[0], len(TOY_CHANNELS)
    out = {}
    for name, maps in (("x", s.x.reshape(c, -1)), ("gather", s.gather), ("distribute", s.distribute), ("z", s.z)):
        for k in range(maps.shape[0]):
            out[f"{name}{k}"] = maps[k].numpy()
    out["descriptors"] = s.descriptors.numpy().ravel()
    strongest = strongest_terms(s)
    for t, j in enumerate(strongest):
        out[f"term{t}"] = np.outer(s.a[:, j].numpy(), s.gather[:, j].numpy()).ravel()
    out["bilinear"] = (s.a @ s.gather.T).numpy().ravel()
    out["ball"] = s.as_maps(s.z)[:, 1, 1].numpy()
    assert len(out) == 3 + n + n + 3 + 1 + len(strongest) + 1 + 1
    return {"values": out, "strongest": ",".join(map(str, strongest)), "n": n}


def _assert_matches(drawn: dict, theta, rho) -> None:
    assert json.loads(drawn["root"]["theta"]) == theta and json.loads(drawn["root"]["rho"]) == rho
    expected = _expected(theta, rho)
    assert drawn["root"]["strongest"] == expected["strongest"]
    names = set(drawn) - {"root"}
    assert names == set(expected["values"]), names ^ set(expected["values"])
    for name, values in expected["values"].items():
        got = np.asarray(drawn[name], dtype=np.float64)
        assert got.shape == values.shape, name
        np.testing.assert_allclose(got, values, rtol=0, atol=TOLERANCE, err_msg=name)


def _server_check(page) -> tuple[int, str]:
    text = page.get_by_text(re.compile("Checked on the server")).inner_text()
    match = CHECK.search(text.replace("\n", " "))
    assert match, text
    return int(match.group(1)), match.group(2)


def test_the_drawn_toy_equals_toy_steps_as_the_sliders_move(app_url, page):
    _open_toy(page, app_url)
    theta, rho = default_theta(2).tolist(), default_rho(2).tolist()
    _assert_matches(_drawn(page), theta, rho)

    # the keyboard, as a teacher at a projector: Home/End go to the ends, an arrow moves one step of 0.5
    moves = [(("rho", 1, 0), "Home", -5.0), (("rho", 0, 0), "End", 5.0), (("theta", 0, 0), "ArrowLeft", -0.5),
             (("theta", 1, 2), "ArrowRight", 0.5), (("theta", 1, 2), "ArrowRight", 0.5)]
    weights = {"theta": theta, "rho": rho}
    for (param, i, j), key, change in moves:
        slider = _slider(page, param, i, j)
        slider.focus()
        slider.press(key)
        weights[param][i][j] = change if key in ("Home", "End") else weights[param][i][j] + change
        assert float(slider.input_value()) == weights[param][i][j]
        _assert_matches(_drawn(page), theta, rho)  # redrawn at once, before anything reached the server
    ball = page.locator('.a2toy [data-name="ball"]').inner_text()
    assert ball.startswith("The ball at cell (1, 1) receives ball ")

    # n = 3 by its radio: three descriptors, their own sliders, the same math
    page.locator(".a2toy .choice").get_by_text("3", exact=True).click()
    theta3, rho3 = default_theta(3).tolist(), default_rho(3).tolist()
    _assert_matches(_drawn(page), theta3, rho3)
    slider = _slider(page, "rho", 2, 1)
    slider.focus()
    slider.press("PageUp")  # the browser's larger step: whatever it is, the view follows the slider's value
    rho3[2][1] = float(slider.input_value())
    assert rho3[2][1] > 0
    _assert_matches(_drawn(page), theta3, rho3)


def test_hover_text_is_the_value_drawn_in_the_cell(app_url, page):
    _open_toy(page, app_url)
    tile = page.locator('.a2toy [data-name="gather0"]')
    cells = tile.locator(".cells")
    cells.scroll_into_view_if_needed()
    box = cells.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 1.5 / 6, box["y"] + box["height"] * 2.5 / 6)  # row 2, col 1
    value = json.loads(tile.get_attribute("data-values"))[2 * 6 + 1]
    assert page.locator(".a2toy .tooltip").inner_text() == f"g1\nrow 2, col 1: {value:.4f}"
    assert cells.locator("span").nth(2 * 6 + 1).inner_text() == f"{value:.2f}"
    g = page.locator('.a2toy [data-name="descriptors"] .cells')
    g.scroll_into_view_if_needed()
    box = g.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 6)  # ball · g2
    value = json.loads(page.locator('.a2toy [data-name="descriptors"]').get_attribute("data-values"))[1]
    assert page.locator(".a2toy .tooltip").inner_text() == f"row ball, col g2: {value:.4f}"


def test_moving_a_slider_sends_nothing_per_step_and_the_weights_once_it_rests(app_url, page):
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    _open_toy(page, app_url)
    page.wait_for_timeout(1000)
    wait_idle(page)
    frames = int(page.locator(".a2toy").get_attribute("data-frames"))
    before = len(sent)

    slider = _slider(page, "theta", 0, 2)  # g1 turns to the grass
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
        page.wait_for_timeout(30)  # faster than the sliders rest (toy.js SEND_DELAY_MS)
    during = len(sent) - before
    assert float(slider.input_value()) == 5.0
    assert int(page.locator(".a2toy").get_attribute("data-frames")) == frames + 10, "one redraw per step"
    assert during == 0, f"{during} websocket messages during 10 slider steps: the server reran per step"

    # the state goes back once: the server's check now speaks of these weights
    theta, rho = default_theta(2), default_rho(2)
    theta[0, 2] = 5.0
    expected = ", ".join(str(divmod(j, 6)) for j in strongest_terms(toy_steps(theta, rho, dtype=torch.float64)))
    page.locator('.a2toy[data-sent="1"]').wait_for()
    page.wait_for_function("e => document.body.innerText.includes(e)", arg=f"positions {expected}.", timeout=60_000)
    wait_idle(page)
    assert 1 <= len(sent) - before <= 3, "one rerun for the whole gesture"
    assert _server_check(page) == (2, expected)

    # a mouse drag: many input events, one change at the release
    before = len(sent)
    box = _slider(page, "rho", 1, 0).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.9, y)
    page.mouse.down()
    for step in range(10):
        page.mouse.move(box["x"] + box["width"] * (0.85 - 0.08 * step), y)
        page.wait_for_timeout(30)
    assert len(sent) == before, "dragging sent websocket messages"
    page.mouse.up()
    assert float(_slider(page, "rho", 1, 0).input_value()) < 0
    page.wait_for_timeout(1500)
    wait_idle(page)
    assert 1 <= len(sent) - before <= 3


def test_reset_and_n_keep_their_own_weights(app_url, page):
    _open_toy(page, app_url)
    pushed = [_slider(page, "rho", 1, 0), _slider(page, "rho", 0, 1)]
    for slider in pushed:
        slider.focus()
        slider.press("Home")
    assert [float(s.input_value()) for s in pushed] == [-5, -5]
    page.locator(".a2toy .choice").get_by_text("3", exact=True).click()
    assert _drawn(page)["root"]["n"] == "3"
    page.locator(".a2toy .choice").get_by_text("2", exact=True).click()
    assert [float(s.input_value()) for s in pushed] == [-5, -5], "n = 2 keeps what was set"
    page.get_by_role("button", name="Reset θ and ρ").click()
    assert [float(s.input_value()) for s in pushed] == [4, 4]
    _assert_matches(_drawn(page), default_theta(2).tolist(), default_rho(2).tolist())
    page.wait_for_timeout(1500)  # the reset reaches Python, its rerun does not move the sliders back
    wait_idle(page)
    assert [float(s.input_value()) for s in pushed] == [4, 4]
    assert _server_check(page)[0] == 2


@pytest.mark.parametrize("width", [1024, 1440])
def test_the_toy_is_readable_at_projector_and_laptop_widths(app_url, page, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 1200})
    _open_toy(page, app_url)
    layout = page.locator(".a2toy").evaluate("""root => {
        const right = root.getBoundingClientRect().right;
        const over = [...root.querySelectorAll('*')]
            .filter(e => e.offsetParent && e.getBoundingClientRect().right > right + 1);
        const tiles = [...root.querySelectorAll('.heat:not(.matrix) .stage')].map(e => e.getBoundingClientRect().width);
        const fonts = [...root.querySelectorAll('.cells span')].map(e => parseFloat(getComputedStyle(e).fontSize));
        const labels = [...root.querySelectorAll('.slider-name')].filter(e => e.scrollWidth > e.clientWidth + 1);
        return {over: over.map(e => e.className || e.tagName), tiles: [Math.min(...tiles), Math.max(...tiles)],
                font: Math.min(...fonts), cut: labels.length, width: root.getBoundingClientRect().width};
    }""")
    assert layout["over"] == [], layout
    assert layout["tiles"][0] >= 150 and layout["tiles"][1] <= 260, layout
    assert layout["font"] >= 13 and layout["cut"] == 0, layout  # a cell's number read at a projector
    page.screenshot(path=str(tmp_path / f"toy_{width}.png"), full_page=True)
