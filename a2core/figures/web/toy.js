// The Learn page's toy, in the browser: the θ and ρ sliders and every figure of the toy, recomputed here
// as a slider moves, with no request to the server.
//
// Data (a2core.figures.toy.toy_data): the scene of a2core.lessons.toy.toy_scene (X (3, 6, 6), the channels,
// the default θ and ρ for n = 2 and 3, the sliders' range and step), two colour tables and the weights to
// start from. The math is a2core.lessons.steps.double_attention_steps with φ = identity, in float64:
//   B = θX, V = ρX (n, L); softmax(B) over the L positions; G = A softmax(B)ᵀ (3, n) with A = X;
//   softmax(V) over the n descriptors at each position; Z = G softmax(V) (3, L).
// The weights go back to Python as the component state "weights" ({n, theta, rho}) once the sliders rest
// (SEND_DELAY_MS after the last change): dragging or pressing the arrow keys sends nothing per step.
//
// For tests, each figure writes what it drew: data-name, data-shape and data-values (row-major JSON, the
// float64 numbers as drawn); the root writes data-n, data-theta, data-rho, data-strongest (the bilinear
// terms' positions), data-frames (redraws) and data-sent (states sent to Python).

const SEND_DELAY_MS = 400;
const MATRIX_CELL = [64, 42]; // px of a cell of G and of the bilinear terms (plotly gave ~42 px a row)
const toyViews = new WeakMap(); // parentElement → its view, so a re-render with new data keeps the sliders

/**
 * Softmax of a (rows, cols) row-major array along ``axis`` (1: each row, 0: each column), as torch computes it:
 * exp(x − max) / Σ.
 */
function softmax(logits, rows, cols, axis) {
  const out = new Float64Array(rows * cols);
  const [lines, length] = axis === 1 ? [rows, cols] : [cols, rows];
  const at = axis === 1 ? (line, k) => line * cols + k : (line, k) => k * cols + line;
  for (let line = 0; line < lines; line++) {
    let top = -Infinity;
    for (let k = 0; k < length; k++) top = Math.max(top, logits[at(line, k)]);
    let total = 0;
    for (let k = 0; k < length; k++) total += (out[at(line, k)] = Math.exp(logits[at(line, k)] - top));
    for (let k = 0; k < length; k++) out[at(line, k)] /= total;
  }
  return out;
}

/** The block on X (c, L) with φ = identity and θ, ρ (n, c): a2core.lessons.toy.toy_steps in float64. */
function toySteps(x, theta, rho, c, L) {
  const n = theta.length;
  const pointwise = (weights) => {
    const out = new Float64Array(n * L);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < L; k++) {
        let sum = 0;
        for (let ch = 0; ch < c; ch++) sum += weights[i][ch] * x[ch * L + k];
        out[i * L + k] = sum;
      }
    }
    return out;
  };
  const a = x;
  const b = pointwise(theta);
  const v = pointwise(rho);
  const gather = softmax(b, n, L, 1);
  const descriptors = new Float64Array(c * n); // G (c, n): g_i = A softmax(b̄_i)ᵀ
  for (let m = 0; m < c; m++) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < L; k++) sum += a[m * L + k] * gather[i * L + k];
      descriptors[m * n + i] = sum;
    }
  }
  const distribute = softmax(v, n, L, 0);
  const z = new Float64Array(c * L); // z_j = G v_j
  for (let m = 0; m < c; m++) {
    for (let k = 0; k < L; k++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += descriptors[m * n + i] * distribute[i * L + k];
      z[m * L + k] = sum;
    }
  }
  return { n, a, b, v, gather, descriptors, distribute, z };
}

/** The positions of the largest bilinear terms: a2core.lessons.toy.strongest_terms (6 digits, ties by position). */
function strongestTerms(s, c, L, k) {
  const score = [];
  for (let j = 0; j < L; j++) {
    let norm = 0;
    for (let m = 0; m < c; m++) norm += Math.abs(s.a[m * L + j]);
    let top = -Infinity;
    for (let i = 0; i < s.n; i++) top = Math.max(top, s.gather[i * L + j]);
    score.push(Number((norm * top).toExponential(5)));
  }
  return topIndices(score, k);
}

/** a_j b̄_jᵀ (c, n) of position j. */
function outerTerm(s, c, L, j) {
  const out = new Float64Array(c * s.n);
  for (let m = 0; m < c; m++) for (let i = 0; i < s.n; i++) out[m * s.n + i] = s.a[m * L + j] * s.gather[i * L + j];
  return out;
}

/** plotly's "%{z:.2f}" and a text colour that reads on the cell (dark on light colours, white on dark). */
function inkOn(colors, index) {
  const brightness = (299 * colors[index] + 587 * colors[index + 1] + 114 * colors[index + 2]) / 1000;
  return brightness >= 128 ? "#262730" : "#ffffff";
}

class Heat {
  /** One heatmap: a canvas coloured by heat.js's paintMap, the values written in the cells, hover text. */
  constructor(view, parent, { name, title, rows, cols, colors, xLabels, yLabels, hover, matrix }) {
    this.view = view;
    this.rows = rows;
    this.cols = cols;
    this.colors = colors;
    this.hover = hover;
    this.box = element("figure", matrix ? "heat matrix" : "heat", parent);
    this.box.dataset.name = name;
    this.box.dataset.shape = `${rows},${cols}`;
    this.title = element("figcaption", "heat-title", this.box, title || "");
    const body = element("div", "heat-body", this.box);
    if (yLabels) {
      const labels = element("div", "ylabels", body);
      labels.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
      for (const label of yLabels) element("span", "", labels, label);
    }
    this.stage = element("div", "stage", body);
    if (matrix) { // a small matrix: cells of a fixed size, wide enough for its labels and values
      this.stage.style.width = `${cols * MATRIX_CELL[0]}px`;
      this.stage.style.height = `${rows * MATRIX_CELL[1]}px`;
    } else {
      this.stage.style.aspectRatio = `${cols} / ${rows}`; // a map's tile stays square
    }
    this.canvas = element("canvas", "", this.stage);
    const grid = element("div", "cells", this.stage);
    grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
    grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
    this.cells = [];
    for (let k = 0; k < rows * cols; k++) this.cells.push(element("span", "", grid));
    if (xLabels) {
      const labels = element("div", "xlabels", this.box);
      labels.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
      if (yLabels) labels.classList.add("indented");
      if (matrix) labels.style.width = this.stage.style.width;
      for (const label of xLabels) element("span", "", labels, label);
    }
    grid.addEventListener("mousemove", (event) => this.tip(event));
    grid.addEventListener("mouseleave", () => view.tooltip(null));
  }

  /** Draw ``values`` (rows · cols, row-major) on the colour scale [0, zmax]. */
  draw(values, zmax, title) {
    this.values = values;
    if (title !== undefined) this.title.textContent = title;
    const top = paintMap(this.canvas, values, this.rows, this.cols, this.colors, 1, zmax);
    values.forEach((value, k) => {
      const index = Math.min(255, Math.max(0, Math.round((value / top) * 255))) * 3;
      this.cells[k].textContent = value.toFixed(2);
      this.cells[k].style.color = inkOn(this.colors, index);
    });
    this.box.dataset.values = JSON.stringify([...values]);
    this.box.dataset.zmax = String(top);
  }

  tip(event) {
    if (!this.values) return;
    const rect = this.stage.getBoundingClientRect();
    const r = Math.min(this.rows - 1, Math.max(0, Math.floor(((event.clientY - rect.top) / rect.height) * this.rows)));
    const c = Math.min(this.cols - 1, Math.max(0, Math.floor(((event.clientX - rect.left) / rect.width) * this.cols)));
    this.view.tooltip(event, this.hover(r, c, this.values[r * this.cols + c]));
  }
}

class Scale {
  /** A colour bar from 0 to the figure's top, under a row of heatmaps that share it. */
  constructor(parent, colors) {
    this.high = colorBar(parent, colors);
  }

  draw(top) {
    this.high.textContent = Number(top.toPrecision(3)).toString();
  }
}

class Toy {
  constructor(parent, data, send) {
    this.send = send;
    this.data = data;
    this.frames = 0;
    this.sent = 0;
    this.channels = data.channels;
    this.c = data.channels.length;
    this.h = this.w = data.size;
    this.L = this.h * this.w;
    this.x = Float64Array.from(data.x.flat(2));
    this.colors = { x: decodeColors(data.colors.x), maps: decodeColors(data.colors.maps) };
    // θ and ρ of each n, so switching n and back keeps what was set (as the server's sliders did)
    this.weights = {};
    for (const n of data.choices) this.weights[n] = this.copy(data.defaults[String(n)]);
    this.n = data.weights.n;
    this.weights[this.n] = this.copy(data.weights);

    this.root = element("div", "a2toy", parent);
    this.tipBox = element("div", "tooltip", this.root);
    const controls = element("div", "controls", this.root);
    const choice = element("fieldset", "choice", controls);
    element("legend", "", choice, "Descriptors n");
    const group = `a2toy-n-${Math.random().toString(36).slice(2)}`; // one radio group per view
    this.radios = data.choices.map((n) => {
      const label = element("label", "", choice);
      const radio = element("input", "", label);
      radio.type = "radio";
      radio.name = group;
      radio.value = String(n);
      radio.checked = n === this.n;
      radio.addEventListener("change", () => radio.checked && this.choose(n));
      element("span", "", label, String(n));
      return radio;
    });
    this.reset = element("button", "reset", controls, "Reset θ and ρ");
    this.reset.type = "button";
    this.reset.addEventListener("click", () => this.resetWeights());
    this.slidersBox = element("div", "sliders", this.root);
    this.figuresBox = element("div", "figures", this.root);
    this.build();
  }

  copy(weights) {
    return { theta: weights.theta.map((row) => [...row]), rho: weights.rho.map((row) => [...row]) };
  }

  /** The sliders and figures of the current n (both depend on it), then one redraw. */
  build() {
    const n = this.n;
    const names = [...Array(n).keys()].map((i) => `g${i + 1}`);
    const [lo, hi] = this.data.range;
    this.slidersBox.replaceChildren();
    this.inputs = { theta: [], rho: [] };
    for (let i = 0; i < n; i++) {
      const card = element("div", "descriptor", this.slidersBox);
      element("div", "descriptor-title", card, `descriptor ${names[i]}`);
      // One row per parameter, one slider per channel: compact enough to stay on screen above the figures
      // they drive (toy.css makes the sliders sticky). The full wording is each slider's hover text.
      const columns = element("div", "columns", card);
      const rows = [["theta", "θ: gather where", (ch) => `θ: gather where ${ch}`],
        ["rho", `ρ: asks for ${names[i]}`, (ch) => `ρ: ${ch} asks for ${names[i]}`]];
      for (const [param, heading, wording] of rows) {
        element("span", "param", columns, heading);
        this.inputs[param][i] = this.channels.map((channel, j) => {
          const label = element("label", "slider", columns);
          label.title = wording(channel);
          const head = element("span", "slider-head", label);
          element("span", "slider-name", head, channel);
          const output = element("output", "", head);
          const input = element("input", "", label);
          Object.assign(input, { type: "range", min: String(lo), max: String(hi), step: String(this.data.step) });
          input.value = String(this.weights[n][param][i][j]);
          output.textContent = Number(input.value).toFixed(2);
          Object.assign(input.dataset, { param, i: String(i), j: String(j) });
          input.addEventListener("input", () => {
            this.weights[n][param][i][j] = Number(input.value);
            output.textContent = Number(input.value).toFixed(2);
            this.redraw();
          });
          input.addEventListener("change", () => this.schedule());
          return { input, output };
        });
      }
    }

    const figures = this.figuresBox;
    figures.replaceChildren();
    const { x: greys, maps: viridis } = this.colors;
    const mapHover = (title) => (r, c, v) => `${title}<br>row ${r}, col ${c}: ${v.toFixed(4)}`;
    const section = (text, detail) => {
      const head = element("div", "section", figures);
      element("strong", "", head, text);
      if (detail) head.append(`: ${detail}`);
    };
    const mapRow = (name, titles, colors) => {
      const row = element("div", "maps", figures);
      const heats = titles.map((title, k) => new Heat(this, row, {
        name: `${name}${k}`, title, rows: this.h, cols: this.w, colors, hover: mapHover(title) }));
      return { heats, scale: new Scale(figures, colors) };
    };
    section("X", "the scene (3 channels)");
    this.xRow = mapRow("x", this.channels, greys);
    section("softmax(B)", `gathering maps, each sums to 1 over the ${this.L} positions`);
    this.gatherRow = mapRow("gather", names, viridis);
    section("G = A softmax(B)ᵀ", "what each descriptor gathered");
    const g = element("div", "maps", figures);
    this.g = new Heat(this, g, { name: "descriptors", rows: this.c, cols: n, colors: viridis, xLabels: names,
      yLabels: this.channels, matrix: true, hover: (r, c, v) => `row ${this.channels[r]}, col ${names[c]}: ${v.toFixed(4)}` });
    this.gScale = new Scale(g, viridis);
    section("softmax(V)", "distribution weights, at each position they sum to 1 over the descriptors");
    this.distributeRow = mapRow("distribute", names, viridis);
    section("Z = G softmax(V)", `what every position receives, per channel (${this.channels.join(", ")})`);
    this.zRow = mapRow("z", this.channels.map((ch) => `Z: ${ch}`), viridis);
    this.ball = element("div", "info", figures);
    this.ball.dataset.name = "ball";

    element("h3", "", figures, "The bilinear pooling view");
    element("div", "formula", figures, "G = A softmax(B)ᵀ = Σⱼ aⱼ b̄ⱼᵀ");
    const terms = element("div", "maps terms", figures);
    const k = this.data.top_terms;
    const termHover = (r, c, v) => `${this.channels[r]} · ${names[c]}: ${v.toFixed(4)}`;
    this.terms = [...Array(k + 1).keys()].map((t) => new Heat(this, terms, {
      name: t < k ? `term${t}` : "bilinear", rows: this.c, cols: n, colors: viridis, xLabels: names,
      yLabels: this.channels, matrix: true, hover: termHover }));
    this.termScale = new Scale(figures, viridis);
    this.termText = element("div", "caption", figures);
    this.redraw();
  }

  choose(n) {
    if (n === this.n) return;
    this.n = n;
    this.build();
    this.schedule();
  }

  resetWeights() {
    this.weights[this.n] = this.copy(this.data.defaults[String(this.n)]);
    for (const param of ["theta", "rho"]) {
      this.inputs[param].forEach((row, i) => row.forEach(({ input, output }, j) => {
        input.value = String(this.weights[this.n][param][i][j]);
        output.textContent = Number(input.value).toFixed(2);
      }));
    }
    this.redraw();
    this.schedule();
  }

  redraw() {
    const { theta, rho } = this.weights[this.n];
    const s = toySteps(this.x, theta, rho, this.c, this.L);
    const { w, L, c } = this;
    const slice = (values, k) => values.subarray(k * L, (k + 1) * L);
    const drawRow = (row, values, count, zmax) => {
      const top = zmax ?? (maxOf(values) || 1);
      for (let k = 0; k < count; k++) row.heats[k].draw(slice(values, k), top);
      row.scale.draw(top);
    };
    drawRow(this.xRow, this.x, c, 1);
    drawRow(this.gatherRow, s.gather, s.n); // shared scale from 0 to the largest weight, as the plotly grid
    this.g.draw(s.descriptors, 1);
    this.gScale.draw(1);
    drawRow(this.distributeRow, s.distribute, s.n, 1);
    drawRow(this.zRow, s.z, c);

    const [br, bc] = this.data.ball;
    const mix = this.channels.map((_, m) => s.z[m * L + br * w + bc]);
    this.ball.dataset.values = JSON.stringify(mix);
    this.ball.textContent = `The ball at cell (${br}, ${bc}) receives `
      + this.channels.map((ch, m) => `${ch} ${mix[m].toFixed(2)}`).join(", ")
      + ": long-range information in one step, which a 3×3 convolution could not see.";

    const strongest = strongestTerms(s, c, L, this.data.top_terms);
    const top = maxOf(s.descriptors) || 1; // one scale for the terms and their sum, as the plotly figure
    strongest.forEach((j, t) => this.terms[t].draw(outerTerm(s, c, L, j), top, `a${j} b̄${j}ᵀ`));
    this.terms[strongest.length].draw(s.descriptors, top, "Σⱼ aⱼ b̄ⱼᵀ = G");
    this.termScale.draw(top);
    const cells = strongest.map((j) => `(${Math.floor(j / w)}, ${j % w})`).join(", ");
    this.termText.textContent = `Each position j adds the outer product of its features aⱼ and its gathering `
      + `weights b̄ⱼ (the ${strongest.length} largest terms shown, positions ${cells}); summed over all ${L} `
      + "positions they give G.";

    this.frames += 1;
    Object.assign(this.root.dataset, {
      n: String(this.n), theta: JSON.stringify(theta), rho: JSON.stringify(rho),
      strongest: strongest.join(","), frames: String(this.frames),
    });
  }

  /** Send the weights to Python once the sliders rest: one message per gesture, none per step. */
  schedule() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      const { theta, rho } = this.weights[this.n];
      this.sent += 1;
      this.root.dataset.sent = String(this.sent);
      this.send({ n: this.n, theta, rho });
    }, SEND_DELAY_MS);
  }

  tooltip(event, html) {
    placeTooltip(this.root, this.tipBox, event, html);
  }
}

/** Streamlit's st.components.v2 entry point; a notebook calls it with the same object shape. */
export default function toy(component) {
  const { data, parentElement, setStateValue } = component;
  const send = (weights) => setStateValue("weights", weights);
  let view = toyViews.get(parentElement);
  if (view) {
    view.send = send; // the sliders lead: a rerun with the weights they sent changes nothing on screen
  } else {
    view = new Toy(parentElement, data, send);
    toyViews.set(parentElement, view);
  }
  return () => clearTimeout(view.pending);
}
