// The instant lens: every view that depends on the query position, drawn in the browser.
//
// Data (a2core.figures.lens.lens_data): the model's view of the photo, one colour table, and "cards", one per
// attention module shown, each with the maps it needs (A²'s gathering and distribution maps, Non-local's
// L × L attention, GC's context map, SE/ECA/GSoP's channel weights). Hovering a map moves the query position
// of every card at once and redraws here, with no request to the server; a click pins the position and
// sends it back to Python as the component state "position" ([y, x] as fractions of the image); the arrow
// keys move the pinned position one cell at a time (a teacher at a projector).
//
// For tests and benchmarks, each card writes what it drew: data-cell ("row,col"), data-values (its
// position-dependent map, row-major) and, for A², data-weights (v_j); the root counts its redraws
// (data-frames), the last hover's latency from the event to the painted frame (data-latency, ms, for the redraw
// data-latency-frame) and the maps' signature (data-signature, new for each photo, block or model set).

const SEND_DELAY_MS = 300; // arrow keys: the pinned position goes to Python once the keys rest
const LABEL_PX = 7.5; // the width of one character of a bar's label at 13 px (lens.css), with room to spare
const views = new WeakMap(); // parentElement → its view, so a re-render with new data reuses the DOM

function a2Mix(card, cell) {
  // Column j of softmax(θ)ᵀ softmax(ρ): what position j receives, Σ_i v_ij · gathering map i
  // (a2core.probe.analysis.implied_attention), and v_j itself.
  const [h, w] = card.shape;
  const L = h * w;
  const j = cell[0] * w + cell[1];
  const weights = new Float64Array(card.n);
  const row = new Float64Array(L);
  for (let i = 0; i < card.n; i++) {
    const v = card.distribute[i * L + j];
    weights[i] = v;
    for (let k = 0; k < L; k++) row[k] += v * card.gather[i * L + k];
  }
  return { row, weights };
}

function crossOf(card, r, u, out, scale) {
  // Pass r's attention of query u over its cross, added (× scale) into ``out`` (h·w): the column's weights
  // (card.column, (R, L, h)) at (g, col of u), the row's (card.row, (R, L, w)) at (row of u, v). The query
  // itself is in its row only (a2core.figures.lens.crisscross_card), so nothing is counted twice.
  const [h, w] = card.shape;
  const L = h * w;
  const i = Math.floor(u / w);
  const j = u - i * w;
  const col = (r * L + u) * h;
  const row = (r * L + u) * w;
  for (let g = 0; g < h; g++) out[g * w + j] += scale * card.column[col + g];
  for (let v = 0; v < w; v++) out[i * w + v] += scale * card.row[row + v];
  return out;
}

function crissCrossReach(card, cell) {
  // Row u of a⁽ᴿ⁾ ⋯ a⁽¹⁾, where u reads from over all R passes (a2core.blocks.criss_cross, ``reach``): the
  // last pass's cross of u, then through each earlier pass, one cross per position reached so far.
  const [h, w] = card.shape;
  const L = h * w;
  let reach = crossOf(card, card.passes - 1, cell[0] * w + cell[1], new Float64Array(L), 1);
  for (let r = card.passes - 2; r >= 0; r--) {
    const next = new Float64Array(L);
    for (let v = 0; v < L; v++) if (reach[v] !== 0) crossOf(card, r, v, next, reach[v]);
    reach = next;
  }
  return reach;
}

const written = new WeakMap(); // element, style or dataset → {property: the value setIfChanged wrote last}

function setIfChanged(target, name, value) {
  // A hover rewrites many labels and styles with what they already say; an unchanged write would still make the
  // browser restyle (and relayout) them. Compared with the value written last, kept here: reading it back from
  // the page (a style's or a dataset's getter) costs more than the write it saves.
  let last = written.get(target);
  if (!last) written.set(target, (last = {}));
  if (last[name] === value) return;
  last[name] = value;
  target[name] = value;
}

class MapView {
  /**
   * A square map over the photo: the photo, the coloured map, the ✕ of the query cell, the pinned cell's mark
   * while another is hovered, and a colour bar (none for a map without values). Without ``px`` the map is as
   * wide as its box, which the CSS sizes to the screen (lens.css).
   */
  constructor(lens, parent, { px, label, title, small, colorbar = true }) {
    this.lens = lens;
    this.label = label;
    this.box = element("div", small ? "map small" : "map", parent);
    if (px) this.box.style.width = `${px}px`;
    else this.box.classList.add("fluid");
    this.title = element("div", "map-title", this.box, title || "");
    this.stage = element("div", "stage", this.box);
    if (px) this.stage.style.width = this.stage.style.height = `${px}px`;
    const photo = element("img", "photo", this.stage);
    photo.src = lens.data.image.src;
    photo.alt = "the model's view";
    photo.draggable = false;
    this.canvas = element("canvas", "heat", this.stage);
    this.pinMark = element("div", "pin", this.stage);
    this.pinMark.title = "pinned position";
    this.marker = element("div", "marker", this.stage, "✕");
    if (!small && colorbar) this.high = colorBar(this.box, lens.colors);
    this.stage.addEventListener("mousemove", (event) => lens.hover(this, event));
    this.stage.addEventListener("mouseleave", () => lens.leave());
    this.stage.addEventListener("click", (event) => lens.pin(this.fraction(event)));
  }

  fraction(event) {
    const rect = this.stage.getBoundingClientRect();
    return [Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1),
            Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1)];
  }

  /** Draw ``values`` (h·w, row-major, or null for the photo alone) with the ✕ on ``cell``, and the pinned
   *  cell ``pinned`` marked when it is another one (the mouse hovers elsewhere). */
  draw(values, shape, cell, title, pinned) {
    // Only what changed is written: GC's or CBAM's map is the same on every hover, and each write of a style
    // or a text makes the browser restyle that element again.
    const repaint = values !== this.values;
    this.values = values;
    this.shape = shape;
    if (title !== undefined) setIfChanged(this.title, "textContent", title);
    setIfChanged(this.canvas.style, "display", values ? "" : "none");
    if (values && repaint) {
      const top = paintMap(this.canvas, values, shape[0], shape[1], this.lens.colors, this.lens.data.opacity);
      if (this.high) setIfChanged(this.high, "textContent", top.toPrecision(3));
    }
    const marker = this.marker.style;
    setIfChanged(marker, "display", cell ? "" : "none");
    if (cell) {
      setIfChanged(marker, "left", `${((cell[1] + 0.5) / shape[1]) * 100}%`);
      setIfChanged(marker, "top", `${((cell[0] + 0.5) / shape[0]) * 100}%`);
    }
    const showPin = Boolean(pinned && cell && (pinned[0] !== cell[0] || pinned[1] !== cell[1]));
    const pin = this.pinMark.style;
    setIfChanged(pin, "display", showPin ? "" : "none");
    if (showPin) {
      setIfChanged(pin, "left", `${(pinned[1] / shape[1]) * 100}%`);
      setIfChanged(pin, "top", `${(pinned[0] / shape[0]) * 100}%`);
      setIfChanged(pin, "width", `${100 / shape[1]}%`);
      setIfChanged(pin, "height", `${100 / shape[0]}%`);
    }
  }

  /** The hover text of the cell under the mouse, as the plotly figures word it. */
  tip(position) {
    const [r, c] = cellOf(position, this.shape);
    const value = this.values ? `<br>${this.label} ${fixed5(this.values[r * this.shape[1] + c])}` : "";
    return `cell (${r}, ${c})${value}`;
  }
}

class Bars {
  /** Bars with their values; ``highlight`` bars in the accent colour (plotly's distribution_bars, channel_bars). */
  constructor(lens, parent, { title, height, axis }) {
    this.lens = lens;
    this.box = element("div", "bars", parent);
    this.title = element("div", "map-title", this.box, title || "");
    this.plot = element("div", "plot", this.box);
    this.plot.style.height = `${height}px`;
    if (axis) element("div", "axis", this.box, axis);
    this.items = [];
    // Labels thin out when the bars narrow (a resized window, a card of a new width): see thin(). The observer
    // also keeps the plot's width, which a hover must not read from the page (that forces a layout).
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(([entry]) => {
        this.width = entry.contentRect.width;
        this.thin();
      }).observe(this.plot);
    }
  }

  /**
   * Show only the labels that fit: every k-th bar's name, and the values of the highlighted bars (largest
   * first) at least k bars apart, k from the plot's width and the longest label (LABEL_PX per character).
   * Every bar keeps its value in its hover text. Runs on every hover of A²'s card, so it only writes to the
   * page: a label's width is estimated from its characters (LABEL_PX, generous), not measured, since reading
   * a size after the bars were written would lay the whole page out again, once per label.
   */
  thin() {
    if (!this.shown) return;
    const { values, labels, highlight } = this.shown;
    const n = values.length;
    const width = this.width || this.plot.clientWidth || 300; // clientWidth: only before the observer reports
    const chars = Math.max(4, ...labels.map((label) => label.length));
    const k = Math.max(1, Math.ceil((n * (chars * LABEL_PX + 6)) / width));
    const valued = new Set();
    if (k === 1) values.forEach((_, i) => valued.add(i));
    else {
      const ranked = [...highlight].sort((a, b) => values[b] - values[a]);
      for (const i of ranked) if ([...valued].every((j) => Math.abs(i - j) >= k)) valued.add(i);
    }
    this.items.forEach((item, i) => {
      setIfChanged(item.name.style, "visibility", i % k === 0 ? "" : "hidden");
      setIfChanged(item.value.style, "visibility", valued.has(i) ? "" : "hidden");
      // A label centred on a bar at either end would stick out of the plot: it starts (ends) at its bar instead.
      // Its width from the string drawn (item.text): reading textContent back would make a new string a label.
      const centre = ((i + 0.5) * width) / n;
      for (const [label, text] of [[item.name, labels[i]], [item.value, item.text]]) {
        const half = (text.length * LABEL_PX) / 2;
        setIfChanged(label.dataset, "align", centre - half < 0 ? "start" : centre + half > width ? "end" : "");
      }
    });
    setIfChanged(this.box.dataset, "every", String(k));
  }

  draw(values, labels, highlight, title, describe) {
    if (title !== undefined) this.title.textContent = title;
    if (this.items.length !== values.length) {
      this.plot.replaceChildren();
      this.items = labels.map((label, i) => {
        const column = element("div", "bar", this.plot);
        const value = element("span", "value", column);
        const fill = element("div", "fill", column);
        const name = element("span", "name", column, label);
        // The hover text of the bar under the mouse, made then: a redraw writes none of the n texts.
        column.addEventListener("mousemove",
          (event) => this.lens.tooltip(event, this.describe(i, this.shown.values[i])));
        column.addEventListener("mouseleave", () => this.lens.tooltip(null));
        return { column, value, fill, name, text: "" };
      });
    }
    const top = Math.max(maxOf(values), 1e-9) * 1.18;
    values.forEach((v, i) => {
      const item = this.items[i];
      item.text = v.toFixed(2);
      setIfChanged(item.fill.style, "height", `${(v / top) * 100}%`);
      setIfChanged(item.fill.style, "background", highlight.has(i) ? this.lens.data.highlight : this.lens.data.muted);
      setIfChanged(item.value, "textContent", item.text);
      setIfChanged(item.name, "textContent", labels[i]);
    });
    this.describe = describe;
    this.shown = { values, labels, highlight };
    this.thin();
  }
}

class Card {
  /** One attention module: the maps its design has, and how they follow the position. */
  constructor(lens, parent, card, explore) {
    this.lens = lens;
    this.card = card;
    this.box = element("div", explore ? "card explore" : "card", parent);
    this.box.dataset.kind = card.kind;
    if (card.group) this.box.dataset.family = card.group;
    if (card.title) element("div", "card-title", this.box, card.title);
    for (const [name, p] of card.prediction || []) element("div", "prediction", this.box, `${name} ${(100 * p).toFixed(1)} %`);
    if (card.note) element("div", "note", this.box, card.note);
    // The maps take the width the CSS gives them: a card's column of the grid on Compare (at least card_px
    // wide), at least map_px beside the bars on Explore, growing with the screen (lens.css).
    const root = lens.root.style;
    root.setProperty("--card-px", `${lens.data.card_px}px`);
    root.setProperty("--map-px", `${lens.data.map_px}px`);
    const row = element("div", "row", this.box);
    if (card.kind === "channel") {
      this.bars = new Bars(lens, row, { title: card.bars_title || "channel weights s, sorted", height: 150 });
      const order = topIndices(card.channel, card.channel.length);
      const highlight = new Set(order.slice(0, lens.data.top).map((_, rank) => rank));
      this.bars.draw(order.map((c) => card.channel[c]), order.map((c) => `ch ${c}`), highlight, undefined,
        (rank, v) => `ch ${order[rank]}: ${v.toFixed(4)}`);
    } else {
      this.map = new MapView(lens, row, { label: card.label, title: card.map_title || "",
        colorbar: card.kind !== "plain" });
    }
    if (card.kind === "crisscross") {
      // each pass's cross of the cell, beside (Explore) or under (Compare) the reach
      this.strip = element("div", "strip", this.box);
      this.stripTitle = element("div", "caption", this.strip, "");
      const tiles = element("div", "tiles", this.strip);
      const tile = explore ? lens.data.tile_px : null;
      this.passes = Array.from({ length: card.passes }, () =>
        new MapView(lens, element("div", "pair", tiles), { px: tile, label: "attention", small: true }));
    }
    if (card.kind === "a2") {
      this.bars = new Bars(lens, row, { title: "", height: explore ? 280 : 110, axis: explore ? "v_ij" : "" });
      this.strip = element("div", "strip", this.box);
      this.stripTitle = element("div", "caption", this.strip, "");
      this.tiles = element("div", "tiles", this.strip);
      this.descriptors = [];
      const tile = explore ? lens.data.tile_px : null; // Compare: the card's width shared by the tiles
      for (let t = 0; t < lens.data.top; t++) {
        const pair = element("div", "pair", this.tiles);
        const gathers = new MapView(lens, pair, { px: tile, label: "gathering weight", small: true });
        const sent = explore ? new MapView(lens, pair, { px: tile, label: "distribution weight", small: true }) : null;
        this.descriptors.push({ gathers, sent });
      }
    }
    if (card.caption) element("div", "caption", this.box, card.caption);
  }

  /** Redraw for the query ``position`` and the ``pinned`` one (fractions); true when the card changed. */
  draw(position, pinned) {
    const card = this.card;
    if (card.kind === "channel") return false;
    const cell = cellOf(position, card.shape);
    const pin = pinned ? cellOf(pinned, card.shape) : null;
    // A mouse crosses many pixels of one cell: nothing of the card changes until the cell (or the pin) does.
    const drawn = `${cell}|${pin}`;
    if (drawn === this.drawn) return false;
    this.drawn = drawn;
    const [h, w] = card.shape;
    const where = `cell (${cell[0]}, ${cell[1]})`;
    let values = null;
    if (card.kind === "a2") {
      const { row, weights } = a2Mix(card, cell);
      values = row;
      const used = topIndices(weights, this.lens.data.top);
      const highlight = new Set(used);
      this.bars.draw([...weights], [...weights.keys()].map((i) => `d${i}`), highlight,
        `distribution weights v_j at ${where}`, (i, v) => `descriptor d${i}<br>weight ${fixed5(v)}`);
      this.box.dataset.weights = JSON.stringify([...weights]);
      this.box.dataset.top = used.join(",");
      this.stripTitle.textContent = `the descriptors ${where} uses most: where each gathers from`
        + (this.descriptors[0].sent ? " and where it is sent" : "");
      used.forEach((i, t) => {
        const { gathers, sent } = this.descriptors[t];
        const L = h * w;
        gathers.draw(card.gather.subarray(i * L, (i + 1) * L), card.shape, cell, `d${i} · v ${weights[i].toFixed(2)}`,
          pin);
        if (sent) sent.draw(card.distribute.subarray(i * L, (i + 1) * L), card.shape, cell, `d${i} is sent to`, pin);
      });
    } else if (card.kind === "nonlocal") {
      const L = h * w;
      const j = cell[0] * w + cell[1];
      values = card.attention.subarray(j * L, (j + 1) * L);
    } else if (card.kind === "context") {
      values = card.context;
    } else if (card.kind === "crisscross") {
      values = crissCrossReach(card, cell);
      const u = cell[0] * w + cell[1];
      this.stripTitle.textContent = `each pass: ${where} attends over its row and column`;
      this.passes.forEach((view, r) => view.draw(crossOf(card, r, u, new Float64Array(h * w), 1), card.shape, cell,
        `pass ${r + 1}`, pin));
    }
    const title = card.map_title ? card.map_title.replace("{cell}", where) : undefined;
    const fresh = values !== this.map.values; // GC's and CBAM's map is one array for every cell: written once
    this.map.draw(values, card.shape, cell, title, pin);
    this.box.dataset.cell = `${cell[0]},${cell[1]}`;
    if (values && fresh) this.box.dataset.values = JSON.stringify([...values]);
    return true;
  }
}

class Lens {
  constructor(parent, data, send) {
    this.send = send;
    this.root = element("div", "a2lens", parent);
    this.root.tabIndex = 0;
    this.root.setAttribute("role", "application");
    this.root.setAttribute("aria-label", "Attention maps: hover or click a position, arrow keys move it");
    this.root.addEventListener("keydown", (event) => this.key(event));
    this.tip = element("div", "tooltip", this.root);
    this.frames = 0;
    this.load(data);
  }

  load(data) {
    // Decoded once per photo / block / model set: a hover only reads these arrays.
    this.data = data;
    this.colors = decodeColors(data.colors);
    this.cardsBox?.remove();
    const explore = data.layout === "explore";
    this.cardsBox = element("div", explore ? "cards explore" : "cards", this.root);
    // Compare's cards may come in groups (a card's "group", its design's family): each run of cards of one group
    // starts a new row of the grid under the group's title, the cards one width throughout, one hover for all.
    const runs = [];
    data.cards.forEach((raw, i) => {
      if (raw.group && (i === 0 || raw.group !== data.cards[i - 1].group)) runs.push({ group: raw.group, count: 0 });
      if (runs.length) runs[runs.length - 1].count += 1;
    });
    const widest = runs.length ? Math.max(...runs.map((r) => r.count)) : 0;
    if (!explore) this.balance(this.cardsBox, data.cards.length, widest);
    this.cards = data.cards.map((raw, i) => {
      if (!explore && raw.group && (i === 0 || raw.group !== data.cards[i - 1].group)) {
        const title = element("div", "family-title", this.cardsBox, raw.group);
        title.dataset.family = raw.group;
      }
      const card = { ...raw };
      for (const name of ["gather", "distribute", "attention", "context", "channel", "column", "row"]) {
        if (raw[name]) card[name] = decodeArray(raw[name]);
      }
      return new Card(this, this.cardsBox, card, explore);
    });
    this.pinned = data.position;
    this.hovered = null;
    this.signature = data.signature;
    this.root.dataset.signature = data.signature;
    this.redraw();
  }

  /**
   * Compare's grid: as many columns as cards of at least card_px fit, then spread evenly over the rows (seven
   * cards that fit five to a row make rows of 4 and 3, not 5 and 2), again whenever the width changes.
   */
  balance(box, count, widest = 0) {
    // Grouped cards (``widest``: the largest group) start a row per group: as many columns as fit, but no more
    // than the largest group fills, so that the cards stay as wide as they can and the page as short.
    const columns = () => {
      const gap = 10;
      const most = Math.max(1, Math.floor((box.clientWidth + gap) / (this.data.card_px + gap)));
      const rows = Math.ceil(count / most);
      const n = widest ? Math.min(most, widest) : Math.ceil(count / rows);
      box.style.gridTemplateColumns = `repeat(${n}, minmax(0, 1fr))`;
    };
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(columns).observe(box);
    columns();
  }

  update(data) {
    if (data.signature !== this.signature) return this.load(data);
    // Same maps: only the pinned position may have come back from Python (a rerun, another panel).
    this.data = data;
    if (data.position[0] !== this.pinned[0] || data.position[1] !== this.pinned[1]) {
      this.pinned = data.position;
      this.redraw();
    }
  }

  redraw() {
    const position = this.hovered || this.pinned;
    this.changed = this.cards.filter((card) => card.draw(position, this.pinned));
    this.frames += 1;
    this.root.dataset.position = position.map((v) => v.toFixed(4)).join(",");
    this.root.dataset.pinned = this.pinned.map((v) => v.toFixed(4)).join(",");
    this.root.dataset.frames = String(this.frames);
  }

  hover(map, event) {
    // Read the page's geometry before the redraw writes to it: a read after would force a layout of every card.
    const rect = this.root.getBoundingClientRect();
    this.hovered = map.fraction(event);
    this.redraw();
    this.tooltip(event, map.tip(this.hovered), rect);
    const start = event.timeStamp;
    const frame = this.frames;
    // After the frame that shows the new maps is painted: the latency a student sees.
    requestAnimationFrame(() => setTimeout(() => {
      this.root.dataset.latency = (performance.now() - start).toFixed(2);
      this.root.dataset.latencyFrame = String(frame);
    }, 0));
  }

  leave() {
    this.hovered = null;
    this.tooltip(null);
    this.redraw();
  }

  pin(position) {
    this.pinned = position;
    this.hovered = null;
    this.redraw();
    clearTimeout(this.pending);
    this.send(position);
  }

  key(event) {
    const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const step = steps[event.key];
    const spatial = this.cards.find((card) => card.card.shape);
    if (!step || !spatial) return;
    event.preventDefault();
    const [h, w] = spatial.card.shape;
    const [r, c] = cellOf(this.pinned, [h, w]);
    const row = Math.min(Math.max(r + step[0], 0), h - 1);
    const col = Math.min(Math.max(c + step[1], 0), w - 1);
    this.pinned = [(row + 0.5) / h, (col + 0.5) / w];
    this.hovered = null;
    this.redraw();
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.send(this.pinned), SEND_DELAY_MS);
  }

  tooltip(event, html, rect) {
    placeTooltip(this.root, this.tip, event, html, rect);
  }
}

/** Streamlit's st.components.v2 entry point; a notebook calls it with the same object shape. */
export default function lens(component) {
  const { data, parentElement, setStateValue } = component;
  let view = views.get(parentElement);
  if (view) {
    view.send = (position) => setStateValue("position", position);
    view.sendBoxes = (boxes) => setStateValue("boxes", boxes);
    view.update(data);
  } else {
    view = new Lens(parentElement, data, (position) => setStateValue("position", position));
    view.sendBoxes = (boxes) => setStateValue("boxes", boxes);
    views.set(parentElement, view);
  }
  return () => clearTimeout(view.pending);
}

// ------------------------------------------------------------------ measured attention: boxes on the lens
// Boxes drawn over any map ("Draw boxes", then drag; several allowed; "Clear" removes them), as fractions of
// the view [x0, y0, x1, y1], and every card's scores of the map it shows, computed as a2core.metrics.scores
// computes them (cover_fractions, box_energy, pointing_hit), with a ranked list of the cards. Added beside the
// lens without changing it: Lens.redraw and Lens.update are wrapped, and the map stages get capturing listeners
// that, while boxes are drawn, keep the drag from hovering or pinning. For tests, each card writes
// data-box-energy and data-pointing, the root data-boxes (JSON) and data-box-latency (ms, event to scores).
//
// The drawn boxes travel back to Python as the component state "boxes" (a list of [x0, y0, x1, y1], rounded to
// 1e-4 so the URL's four decimals give back the very boxes scored here), once per finished box or clear: a drag
// scores in the browser and sends nothing. Python's boxes come in as data.boxes (a link's, or those drawn on
// another page of the same photo) and data.object_boxes (the photo's own object boxes, drawn solid, not
// editable); both are scored, as the union of all boxes shown (root data-object-boxes).

const BOX_DIGITS = 1e4;

function coverFractions(boxes, h, w) {
  // (h·w) share of each cell inside the union of the boxes, exact: the plane is cut along every box and cell
  // edge into rectangles wholly inside or outside the union, each added to the cell that holds it.
  const cover = new Float64Array(h * w);
  if (!boxes.length) return cover;
  const clip = (v) => Math.min(Math.max(v, 0), 1);
  const bs = boxes.map((b) => b.map(clip));
  const edges = (n, lo, hi) => [...new Set([...Array.from({ length: n + 1 }, (_, i) => i / n),
    ...bs.map((b) => b[lo]), ...bs.map((b) => b[hi])])].sort((a, b) => a - b);
  const xs = edges(w, 0, 2);
  const ys = edges(h, 1, 3);
  for (let yi = 0; yi + 1 < ys.length; yi++) {
    const cy = (ys[yi] + ys[yi + 1]) / 2;
    const row = Math.min(Math.floor(cy * h), h - 1);
    for (let xi = 0; xi + 1 < xs.length; xi++) {
      const cx = (xs[xi] + xs[xi + 1]) / 2;
      if (!bs.some((b) => b[0] <= cx && cx <= b[2] && b[1] <= cy && cy <= b[3])) continue;
      cover[row * w + Math.min(Math.floor(cx * w), w - 1)] += (ys[yi + 1] - ys[yi]) * (xs[xi + 1] - xs[xi]);
    }
  }
  return cover.map((v) => Math.min(v * h * w, 1));
}

function boxEnergy(values, cover) {
  // Σ M_c cover_c / Σ M_c: the share of the map's mass inside the boxes (NaN for a map without mass).
  let inside = 0;
  let total = 0;
  for (let c = 0; c < values.length; c++) {
    inside += values[c] * cover[c];
    total += values[c];
  }
  return total > 0 ? inside / total : NaN;
}

function pointingHit(values, cover) {
  // The map's largest cell, the first in row-major order on ties, touches a box.
  let best = 0;
  for (let c = 1; c < values.length; c++) if (values[c] > values[best]) best = c;
  return cover[best] > 0;
}

function paintBoxes(map, boxes, objects) {
  const painted = JSON.stringify([boxes, objects || []]);
  if (painted === map.boxesPainted) return; // a hover moves no box
  map.boxesPainted = painted;
  let layer = map.boxLayer;
  if (!layer) {
    layer = map.boxLayer = element("div", "box-layer", map.stage);
    Object.assign(layer.style, { position: "absolute", inset: "0", pointerEvents: "none" });
  }
  layer.replaceChildren();
  const paint = (list, kind, border) => {
    for (const [x0, y0, x1, y1] of list) {
      const box = element("div", kind, layer);
      Object.assign(box.style, { position: "absolute", left: `${x0 * 100}%`, top: `${y0 * 100}%`,
        width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%`, border,
        outline: "1px solid #000", boxSizing: "border-box" });
    }
  };
  paint(objects || [], "box object", "2px solid #ffd400"); // the photo's own boxes: solid yellow
  paint(boxes, "box", "2px dashed #fff");
}

function boxesShown(lens) {
  return lens.dragBox ? [...lens.boxes, lens.dragBox] : lens.boxes;
}

function boxesScored(lens) {
  return [...boxesShown(lens), ...(lens.objectBoxes || [])];
}

function sendBoxes(lens) {
  // To Python (the URL, the .npz); remembered, so Python's echo of it does not undo a box drawn since.
  const sent = JSON.stringify(lens.boxes);
  lens.boxesSent.add(sent);
  lens.root.dataset.boxesSent = String(lens.boxesSent.size);
  if (lens.sendBoxes) lens.sendBoxes(lens.boxes);
}

function takeBoxes(lens, data, fresh) {
  // The boxes Python holds: all of them for new maps; otherwise only a change Python made itself (a link's boxes
  // arriving), not the echo of a list this page sent.
  const incoming = JSON.stringify(data.boxes || []);
  if (fresh) {
    lens.boxes = JSON.parse(incoming);
    lens.boxesSent = new Set();
  } else if (incoming !== lens.boxesReceived && !lens.boxesSent.has(incoming)) {
    lens.boxes = JSON.parse(incoming);
  }
  lens.boxesReceived = incoming;
  lens.objectBoxes = data.object_boxes || [];
  lens.root.dataset.objectBoxes = JSON.stringify(lens.objectBoxes);
}

function scoreCard(card) {
  // The card's map as drawn (map.values) scored against the boxes; the line and the data attributes follow.
  const map = card.map;
  if (!map) return;
  paintBoxes(map, boxesShown(card.lens), card.lens.objectBoxes);
  const boxes = boxesScored(card.lens);
  card.boxEnergy = null;
  if (!boxes.length || !map.values) {
    card.scoreLine?.remove();
    card.scoreLine = null;
    delete card.box.dataset.boxEnergy;
    delete card.box.dataset.pointing;
    return;
  }
  const cover = coverFractions(boxes, map.shape[0], map.shape[1]);
  const energy = boxEnergy(map.values, cover);
  const hit = pointingHit(map.values, cover);
  card.scoreLine ??= element("div", "box-score", card.box);
  card.scoreLine.textContent = `box energy ${energy.toFixed(3)} · pointing ${hit ? "hit" : "miss"}`;
  card.box.dataset.boxEnergy = String(energy);
  card.box.dataset.pointing = hit ? "1" : "0";
  card.boxEnergy = energy;
}

function rankCards(lens) {
  const scored = lens.cards.filter((card) => card.boxEnergy !== null && card.boxEnergy !== undefined);
  scored.sort((a, b) => b.boxEnergy - a.boxEnergy);
  setIfChanged(lens.boxTools.ranked, "textContent", scored.length
    ? "on the boxes: " + scored.map((card) => `${card.card.title || card.card.kind} ${card.boxEnergy.toFixed(3)}`)
      .join(" › ")
    : "");
  setIfChanged(lens.root.dataset, "boxes", JSON.stringify(lens.boxes));
}

function rescore(lens) {
  for (const card of lens.cards) scoreCard(card);
  rankCards(lens);
}

function attachBoxes(lens, map) {
  // Capturing listeners on the stage run before the lens's own: while drawing, no hover and no pin.
  if (map.boxesAttached) return;
  map.boxesAttached = true;
  const point = (event) => {
    const [y, x] = map.fraction(event);
    return [x, y];
  };
  const drawing = (event) => {
    if (!lens.boxMode) return false;
    event.stopImmediatePropagation();
    return true;
  };
  map.stage.addEventListener("mousedown", (event) => {
    if (!drawing(event)) return;
    event.preventDefault();
    const [x, y] = point(event);
    lens.dragStart = [x, y];
    lens.dragBox = [x, y, x, y];
  }, true);
  map.stage.addEventListener("mousemove", (event) => {
    if (!drawing(event) || !lens.dragStart) return;
    const [x, y] = point(event);
    const [sx, sy] = lens.dragStart;
    lens.dragBox = [Math.min(sx, x), Math.min(sy, y), Math.max(sx, x), Math.max(sy, y)];
    rescore(lens);
  }, true);
  map.stage.addEventListener("mouseup", (event) => {
    if (!drawing(event) || !lens.dragStart) return;
    const box = lens.dragBox.map((v) => Math.round(v * BOX_DIGITS) / BOX_DIGITS);
    lens.dragStart = lens.dragBox = null;
    const kept = box[2] - box[0] > 0.01 && box[3] - box[1] > 0.01;
    if (kept) lens.boxes.push(box);
    rescore(lens);
    const start = event.timeStamp;
    requestAnimationFrame(() => setTimeout(() => {
      lens.root.dataset.boxLatency = (performance.now() - start).toFixed(2);
      if (kept) sendBoxes(lens); // once the scores are painted: the message to Python never delays them
    }, 0));
  }, true);
  map.stage.addEventListener("click", drawing, true);
}

function addBoxTools(lens) {
  const tools = element("div", "box-tools");
  lens.root.insertBefore(tools, lens.root.firstChild);
  Object.assign(tools.style, { display: "flex", gap: "8px", alignItems: "center", margin: "0 0 6px" });
  const draw = element("button", "draw-boxes", tools, "Draw boxes");
  const clear = element("button", "clear-boxes", tools, "Clear boxes");
  const ranked = element("span", "ranked", tools);
  draw.type = clear.type = "button";
  draw.title = "Drag over the photo to outline the object (several boxes allowed); every map shows how much of it "
    + "lies inside them (box energy) and whether its peak does (pointing game)";
  draw.addEventListener("click", () => {
    lens.boxMode = !lens.boxMode;
    draw.textContent = lens.boxMode ? "Done drawing" : "Draw boxes";
    lens.root.dataset.boxMode = lens.boxMode ? "1" : "0";
  });
  clear.addEventListener("click", () => {
    const had = lens.boxes.length > 0;
    lens.boxes = [];
    rescore(lens);
    if (had) sendBoxes(lens);
  });
  lens.boxTools = { tools, draw, clear, ranked };
}

{
  const redraw = Lens.prototype.redraw;
  Lens.prototype.redraw = function redrawWithBoxes() {
    if (!this.boxTools) addBoxTools(this);
    if (this.boxesFor !== this.signature) { // new maps: the boxes Python holds for them (none on a new photo)
      takeBoxes(this, this.data, true);
      this.boxesFor = this.signature;
    }
    redraw.call(this);
    for (const card of this.cards) if (card.map) attachBoxes(this, card.map);
    for (const card of this.changed) scoreCard(card); // the boxes are as they were: only a redrawn map scores anew
    rankCards(this);
  };
  const update = Lens.prototype.update;
  Lens.prototype.update = function updateWithBoxes(data) {
    if (data.signature !== this.signature) return update.call(this, data); // new maps: redraw takes their boxes
    takeBoxes(this, data, false);
    update.call(this, data);
    rescore(this);
  };
}
