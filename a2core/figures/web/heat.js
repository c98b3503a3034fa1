// Shared drawing helpers of A²Lens's browser views (lens.js, toy.js): prepended to each view's script by
// a2core.figures.web.script, so the app's components and the notebook views draw a map the same way.
// No exports here: each view's file ends the module with its own `export default`.

const SVG_NS = "http://www.w3.org/2000/svg";

/** base64 of little-endian float32 or float16 numbers → Float64Array (the numbers a2core sent, exactly). */
function decodeArray(packed) {
  const bytes = Uint8Array.from(atob(packed.data), (c) => c.charCodeAt(0));
  if (packed.dtype === "float32") return Float64Array.from(new Float32Array(bytes.buffer));
  if (packed.dtype !== "float16") throw new Error(`unknown dtype ${packed.dtype}`);
  const halves = new Uint16Array(bytes.buffer);
  const out = new Float64Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  return out;
}

function halfToFloat(h) {
  // IEEE 754 binary16 → number (Float16Array is not in every notebook's browser yet).
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** "#rrggbb…" (256 colours, a2core.figures.overlay.colormap) → Uint8Array(768). */
function decodeColors(hex) {
  const table = new Uint8Array(hex.length / 2);
  for (let i = 0; i < table.length; i++) table[i] = parseInt(hex.substr(2 * i, 2), 16);
  return table;
}

function maxOf(values) {
  let top = -Infinity;
  for (const v of values) if (v > top) top = v;
  return top;
}

/**
 * Colour an (h, w) map into ``canvas`` (h × w pixels, scaled up by CSS without smoothing): the colour index
 * is round(v / max · 255), as a2core.figures.overlay._colored and plotly's heatmap with zmin 0 colour it.
 */
function paintMap(canvas, values, h, w, colors, opacity, zmax) {
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const context = canvas.getContext("2d");
  const image = context.createImageData(w, h);
  const top = zmax || maxOf(values) || 1;
  const alpha = Math.round(255 * opacity);
  for (let k = 0; k < h * w; k++) {
    const index = Math.min(255, Math.max(0, Math.round((values[k] / top) * 255))) * 3;
    image.data[4 * k] = colors[index];
    image.data[4 * k + 1] = colors[index + 1];
    image.data[4 * k + 2] = colors[index + 2];
    image.data[4 * k + 3] = alpha;
  }
  context.putImageData(image, 0, 0);
  return top;
}

/** A horizontal colour bar from 0 to ``top`` under a map, drawn once per colour scale. */
function paintColorbar(canvas, colors) {
  canvas.width = 256;
  canvas.height = 1;
  const context = canvas.getContext("2d");
  const image = context.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    image.data.set([colors[3 * i], colors[3 * i + 1], colors[3 * i + 2], 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/**
 * A colour bar under maps that share a scale: the scale from "0" at the left to a top at the right, written by
 * the view into the returned span (each view formats it as its plotly twin does).
 */
function colorBar(parent, colors) {
  const bar = element("div", "colorbar", parent);
  paintColorbar(element("canvas", "", bar), colors);
  element("span", "low", bar, "0");
  return element("span", "high", bar, "");
}

/** The indices of the k largest ``values``, largest first; ties in index order (numpy: argsort(-values, "stable")). */
function topIndices(values, k) {
  return [...values.keys()].sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

/** (y, x) as fractions of the image → (row, col) of an h × w map: a2core.probe.analysis.position_index. */
function cellOf(position, shape) {
  const [h, w] = shape;
  return [Math.min(Math.max(Math.floor(position[0] * h), 0), h - 1),
          Math.min(Math.max(Math.floor(position[1] * w), 0), w - 1)];
}

/** Weights formatted as plotly's hover text formats them (``.5f``). */
function fixed5(v) {
  return v.toFixed(5);
}

/**
 * Show ``html`` in the view's tooltip ``tip`` beside the mouse (relative to ``root``, whose bounding ``rect`` a
 * caller may have read before it changed the page), or hide it (no event).
 */
function placeTooltip(root, tip, event, html, rect) {
  if (!event || !html) {
    tip.style.display = "none";
    return;
  }
  const box = rect || root.getBoundingClientRect();
  tip.innerHTML = html; // built by the views from numbers and a2core's labels, never from user input
  tip.style.display = "block";
  tip.style.left = `${event.clientX - box.left + 14}px`;
  tip.style.top = `${event.clientY - box.top + 10}px`;
}
