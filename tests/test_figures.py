"""figures: maps land on the right pixels, hovers carry exact weights, PNG export works offline."""

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from a2core import figures
from a2core.figures import overlay


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)


@pytest.fixture
def maps():
    rng = np.random.default_rng(1)
    m = rng.random((6, 16, 16))
    return m / m.reshape(6, -1).sum(axis=1)[:, None, None]


def traces(fig, kind):
    return [t for t in fig.data if t.type == kind]


def picture(trace) -> np.ndarray:
    """The pixels of an image trace sent as a data URI."""
    head, data = trace.source.split(",", 1)
    assert head.startswith("data:image/")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def drawn_span(trace, n: int) -> tuple[float, float]:
    """The x range an image trace of n columns covers: from the left edge of its first pixel to the right edge of its last."""
    return trace.x0 - trace.dx / 2, trace.x0 + (n - 0.5) * trace.dx


@pytest.mark.parametrize("cells", [16, 8, 4])
def test_heatmap_cells_cover_their_pixels(image, cells):
    weights = np.arange(cells * cells, dtype=float).reshape(cells, cells)
    fig = figures.heatmap_over_image(image, weights)
    (heat,) = traces(fig, "heatmap")
    step = 32 / cells
    # Pixel centres are at 0 … 31, so cell k spans pixels [k·step, (k+1)·step) centred at (k+0.5)·step - 0.5.
    assert heat.dx == heat.dy == step
    assert heat.x0 == heat.y0 == step / 2 - 0.5
    first_edge = heat.x0 - step / 2
    last_edge = heat.x0 + (cells - 0.5) * step
    assert (first_edge, last_edge) == (-0.5, 31.5)
    np.testing.assert_allclose(np.asarray(heat.z), weights, rtol=1e-6)  # sent as float32
    (img,) = traces(fig, "image")
    # The photo is sent as a JPEG, enlarged k × k by repetition so the browser does not blur it, and
    # placed over the same pixel edges -0.5 … 31.5.
    pixels = picture(img)
    k = pixels.shape[0] // 32
    assert pixels.shape == (32 * k, 32 * k, 3) and 32 * k >= overlay.IMAGE_MIN_SIDE
    assert drawn_span(img, 32 * k) == (-0.5, 31.5)
    assert np.abs(pixels[k // 2::k, k // 2::k].astype(int) - image).mean() < 6  # JPEG, quality 92, no chroma subsampling


def test_crisp_repeats_pixels():
    small = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    big = figures.crisp(small, min_side=7)
    assert big.shape == (6, 9, 3)
    np.testing.assert_array_equal(big[::3, ::3], small)
    np.testing.assert_array_equal(big[2, 5], small[0, 1])


def test_heatmap_options_and_exact_hover(image, maps):
    fig = figures.heatmap_over_image(image, maps[0], opacity=0.35, colorscale="Inferno", title="t")
    (heat,) = traces(fig, "heatmap")
    assert heat.opacity == 0.35
    assert heat.colorscale[0][1] == go.Heatmap(colorscale="Inferno").colorscale[0][1]
    assert "%{z:.5f}" in heat.hovertemplate
    assert fig.layout.title.text == "t"


def test_heatmap_marks_the_position_on_its_cell_centre(image, maps):
    fig = figures.heatmap_over_image(image, maps[2], position=(3, 5))
    (marker,) = traces(fig, "scatter")
    assert (marker.x[0], marker.y[0]) == (5 * 2 + 0.5, 3 * 2 + 0.5)  # the cell's centre in pixels
    (heat,) = traces(fig, "heatmap")
    assert "%{z:.5f}" in heat.hovertemplate  # each cell's exact weight on hover


def test_gathering_grid_order_titles_and_highlight(image, maps):
    order = np.array([4, 0, 5, 1, 2, 3])
    usage = np.arange(6.0)
    fig = figures.gathering_grid(image, maps, order, usage=usage, highlight=[5], clickable=True, cols=3)
    # A clickable grid is pictures on one pair of axes: the photos once, as a mosaic, each map as a PNG
    # over its tile, and one point per tile to click.
    assert not traces(fig, "heatmap") and not any(key.startswith(("xaxis2", "yaxis2")) for key in fig.layout)
    (photos,) = [t for t in traces(fig, "image") if t.name == "photos"]
    tiles = [t for t in traces(fig, "image") if t.name == "map"]
    assert len(tiles) == 6
    origins = []
    for tile, i in enumerate(order):
        rgba = picture(tiles[tile])
        assert rgba.shape == (16, 16, 4)
        np.testing.assert_array_equal(rgba[..., :3], overlay._colored(maps[i], "Viridis", 0.6)[..., :3])
        left, right = drawn_span(tiles[tile], 16)
        assert right - left == 32  # the map covers the 32 image pixels of its tile
        origins.append((tiles[tile].y0 - tiles[tile].dy / 2 + 0.5, left + 0.5))
    # Tiles row by row, left to right, none overlapping.
    (y0, x0), (y1, x1), (y2, x2), (y3, x3) = origins[:4]
    assert y0 == y1 == y2 < y3 and x0 < x1 < x2 and x3 == x0 and x1 - x0 >= 32 and y3 - y0 >= 32
    # The mosaic shows the photo under every tile, pixel for pixel (compared by brightness: the JPEG keeps
    # it at full resolution, the colours at half).
    luma = np.array([0.299, 0.587, 0.114])
    mosaic = picture(photos) @ luma
    scale = 1 / photos.dx
    for y, x in origins:
        under = mosaic[round(y * scale):round((y + 32) * scale), round(x * scale):round((x + 32) * scale)]
        assert np.corrcoef(under.ravel(), (image @ luma).ravel())[0, 1] > 0.9
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("d4") and "use 4.0" in titles[0]
    assert "d5" in titles[2] and fig.layout.annotations[2].font.color == figures.HIGHLIGHT
    assert fig.layout.annotations[0].font.color == figures.TEXT  # dark, not plotly's grey
    assert all(a.font.size >= 13 for a in fig.layout.annotations)  # read from the back of a classroom
    (frame,) = fig.layout.shapes  # the frame around the highlighted tile, the third of the first row
    assert frame.line.color == figures.HIGHLIGHT
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (x2 - 0.5, x2 + 31.5, y2 - 0.5, y2 + 31.5)
    # One invisible point per tile, in tile order, at the tile's centre: the app reads its point index.
    (targets,) = [t for t in traces(fig, "scatter") if t.name == "tiles"]
    assert list(zip(targets.y, targets.x)) == [(y + 15.5, x + 15.5) for y, x in origins]
    assert fig.layout.clickmode == "event+select"


def test_picture_grid_sends_the_photo_once():
    # Sixteen 160-pixel tiles: the JSON carries one mosaic, not sixteen copies of the photo.
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (160, 160, 3), dtype=np.uint8)
    fig = figures.gathering_grid(photo, rng.random((16, 20, 20)), clickable=True)
    assert sum(t.type == "image" and t.name == "photos" for t in fig.data) == 1
    assert len(fig.to_json()) < 16 * len(figures.image_source(photo)[0])


def test_colour_scales_match_plotly():
    import plotly.colors

    for name in ("Viridis", "Hot", "Jet"):
        lut = figures.colormap(name)
        first, last = (plotly.colors.get_colorscale(name)[i][1] for i in (0, -1))
        for got, want in ((lut[0], first), (lut[-1], last)):
            if want.startswith("#"):
                want = plotly.colors.hex_to_rgb(want)
            else:
                want = plotly.colors.unlabel_rgb(want)
            np.testing.assert_allclose(got, want, atol=1)
    weights = np.array([[0.0, 0.5], [1.0, 0.25]])
    rgba = overlay._colored(weights, "Viridis", 0.5)
    assert (rgba[..., 3] == 128).all()
    np.testing.assert_array_equal(rgba[1, 0, :3], figures.colormap("Viridis")[-1])


def test_distribution_grid_shows_where_descriptors_are_sent(image, maps):
    fig = figures.distribution_grid(image, maps, [2, 1, 0, 3, 4, 5])
    fig = figures.distribution_grid(image, maps, [2, 1, 0, 3, 4, 5])
    np.testing.assert_allclose(np.asarray(traces(fig, "heatmap")[0].z), maps[2], rtol=1e-6)
    assert "distribution weight" in traces(fig, "heatmap")[0].hovertemplate


def test_distribution_bars_highlight(maps):
    v = maps[:, 0, 0] / maps[:, 0, 0].sum()
    fig = figures.distribution_bars(v, highlight=[1, 4])
    (bar,) = fig.data
    np.testing.assert_allclose(np.asarray(bar.y), v)
    assert list(bar.x) == [f"d{i}" for i in range(6)]
    colors = list(bar.marker.color)
    assert [c == figures.HIGHLIGHT for c in colors] == [i in (1, 4) for i in range(6)]


def test_topk_bars_most_probable_on_top():
    top = [("cat", 0.6), ("dog", 0.3), ("frog", 0.1)]
    (bar,) = figures.topk_bars(top).data
    assert list(bar.y) == ["frog", "dog", "cat"]  # plotly draws the first category at the bottom
    assert list(bar.x) == [0.1, 0.3, 0.6]


@pytest.mark.slow
def test_png_export_is_offline_matplotlib(image, maps):
    gather, distribute = maps, np.transpose(maps, (0, 2, 1))
    distribute = distribute / distribute.sum(axis=0, keepdims=True)
    png = figures.to_png(figures.explore_matplotlib(image, gather, distribute, (2, 3), np.arange(6), title="x"))
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.width > 400 and picture.height > 400
    grid = figures.to_png(figures.grid_matplotlib(image, maps, [f"d{i}" for i in range(6)], cols=3))
    assert Image.open(io.BytesIO(grid)).format == "PNG"


@pytest.mark.slow
def test_matplotlib_overlay_aligns_cells_with_pixels():
    # A map that is 1 only in cell (0, 1) of a 2 × 2 map must colour exactly the top-right quarter.
    image = np.zeros((32, 32, 3), np.uint8)
    weights = np.array([[0.0, 1.0], [0.0, 0.0]])
    fig = figures.grid_matplotlib(image, weights[None], ["q"], cols=1, colormap="gray", alpha=1.0)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    assert tuple(ax.images[1].get_extent()) == (-0.5, 31.5, 31.5, -0.5)
    rgba = np.asarray(canvas.buffer_rgba())
    bbox = ax.get_window_extent()
    h = rgba.shape[0]

    def pixel(fx, fy):  # fraction of the axes from its top-left corner
        return rgba[int(h - (bbox.y1 - fy * bbox.height)), int(bbox.x0 + fx * bbox.width), 0]

    assert pixel(0.75, 0.25) > 200 and pixel(0.25, 0.25) < 50 and pixel(0.75, 0.75) < 50


def test_unknown_colorscale_falls_back_for_matplotlib():
    assert overlay._mpl_cmap("Viridis") == "viridis"
    assert overlay._mpl_cmap("NoSuchScale") == "viridis"


def test_large_maps_hover_without_per_cell_text(image):
    big = np.random.default_rng(2).random((2, 40, 40))
    fig = figures.map_grid(image, big, ["a", "b"])
    heats = traces(fig, "heatmap")
    assert len(heats) == 2 and all("%{z:.5f}" in h.hovertemplate for h in heats)
    assert all(h.text is None for h in heats)  # 1600 strings a tile: the weight alone on hover
    small = traces(figures.map_grid(image, big[:, :8, :8], ["a", "b"]), "heatmap")
    assert all("cell (%{text})" in h.hovertemplate for h in small)


def test_pictures_without_hover(image, maps):
    fig = figures.distribution_grid(image, maps, hover=False)
    assert not traces(fig, "heatmap") and not traces(fig, "scatter")
    assert len([t for t in traces(fig, "image") if t.name == "map"]) == 6


@pytest.mark.slow
def test_png_main_title_clears_every_panel_title(image, maps):
    # Issue 20, item 9: the downloaded figure's main title sat on top of "distribution weights v_j".
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    gather = maps
    distribute = maps / maps.sum(axis=0, keepdims=True)
    fig = figures.explore_matplotlib(image, gather, distribute, (2, 3), np.arange(6),
                                     title="my_photo.jpg · layer2.2.attn (16×16, m=16, n=8)")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    main = fig.get_suptitle() and fig._suptitle.get_window_extent(renderer)
    panels = [ax.title.get_window_extent(renderer) for ax in fig.get_axes() if ax.get_title()]
    assert main and len(panels) >= 3
    assert not [p for p in panels if p.overlaps(main)]
    assert all(p.y1 <= main.y0 for p in panels)
