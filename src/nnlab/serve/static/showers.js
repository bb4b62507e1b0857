// The shower viewer: a calogan run's showers beside reference ones, on one log colour scale, and their observables.
"use strict";
header("Showers");

const runs = document.getElementById("run"), particles = document.getElementById("particle");
const statusLine = document.getElementById("status");
let view = null, shown = 0;

// viridis, sampled at 0, 0.25, 0.5, 0.75 and 1
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const rgb = VIRIDIS[i].map((c, k) => Math.round(c + (x - i) * (VIRIDIS[i + 1][k] - c)));
  return `rgb(${rgb.join(",")})`;
}

// One layer (rows: the first cell axis, drawn upwards) on the log scale [low, high] MeV; empty cells white.
function drawLayer(canvas, grid, [low, high]) {
  const context = canvas.getContext("2d"), rows = grid.length, cols = grid[0].length;
  const ch = canvas.height / rows, cw = canvas.width / cols, span = Math.log(high / low) || 1;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  grid.forEach((row, i) => row.forEach((mev, j) => {
    if (mev <= 0) return;
    context.fillStyle = viridis(Math.log(mev / low) / span);
    context.fillRect(j * cw, canvas.height - (i + 1) * ch, cw + 0.5, ch + 0.5);
  }));
}

function colourBar(range, what) {
  const stops = VIRIDIS.map((c, k) => `rgb(${c.join(",")}) ${100 * k / (VIRIDIS.length - 1)}%`).join(", ");
  return `<div class="colourbar"><span>${range[0].toPrecision(2)} MeV</span>` +
    `<span class="bar" style="background: linear-gradient(to right, ${stops})"></span>` +
    `<span>${range[1].toPrecision(3)} MeV</span> <em>${what}, log scale</em></div>`;
}

// Rows of three layers: one per side (reference, generated) of `images` (side -> [layer grids]).
function drawLayers(element, images, range, what) {
  element.innerHTML = colourBar(range, what);
  for (const [side, label] of [["reference", view.reference_label], ["generated", "generated"]]) {
    const row = document.createElement("div");
    row.className = "row";
    row.insertAdjacentHTML("beforeend", `<strong class="side">${label}</strong>`);
    images[side].forEach((grid, k) => {
      const figure = document.createElement("figure"), canvas = document.createElement("canvas");
      canvas.width = canvas.height = 192;
      canvas.setAttribute("aria-label", `${label}: layer ${k}`);
      figure.append(canvas);
      figure.insertAdjacentHTML("beforeend", `<figcaption>layer ${k}: ${grid.length} x ${grid[0].length}` +
                                             "</figcaption>");
      row.append(figure);
      drawLayer(canvas, grid, range);
    });
    element.append(row);
  }
}

function showExample() {
  const pick = side => view.examples[side][shown % view.examples[side].length];
  drawLayers(document.getElementById("examples"), {reference: pick("reference"), generated: pick("generated")},
             view.example_range_mev, `shower ${shown % view.examples.generated.length + 1} of each`);
}

// One observable: the fractions per bin above (log x for energies), generated / reference (0 to 2) below.
function drawHistogram(canvas, h) {
  const context = canvas.getContext("2d"), w = canvas.width, pad = 8, top = 34, split = 150, bottom = 196;
  const edges = h.log ? h.edges.map(Math.log10) : h.edges, x0 = edges[0], x1 = edges[edges.length - 1];
  const px = x => pad + (x - x0) / (x1 - x0 || 1) * (w - 2 * pad);
  const peak = Math.max(...h.reference, ...h.generated) || 1;
  const logY = h.observable.startsWith("cells_");  // cell spectra span decades of counts too
  const floor = Math.min(...[...h.reference, ...h.generated].filter(v => v > 0)) || 1e-6;
  const fy = v => logY ? (v > 0 ? Math.log(v / floor) / (Math.log(peak / floor) || 1) : -0.02) : v / peak;
  const py = v => split - 4 - fy(v) * (split - top - 6);
  const ry = r => bottom - Math.min(2, r) / 2 * (bottom - split - 6);
  context.clearRect(0, 0, w, canvas.height);
  context.font = "12px system-ui";
  context.fillStyle = "#1d2430";
  const separation = h.separation_power === null ? "-" : h.separation_power.toFixed(3);
  context.fillText(`${h.observable}: S = ${separation}`, pad, 13);
  context.font = "11px system-ui";
  context.fillText(h.meaning, pad, 27);
  const steps = (values, y) => {  // a step line, broken where a value is missing (an empty reference bin)
    let drawing = false;
    context.beginPath();
    values.forEach((v, i) => {
      if (v === null) { drawing = false; return; }
      if (drawing) context.lineTo(px(edges[i]), y(v)); else context.moveTo(px(edges[i]), y(v));
      context.lineTo(px(edges[i + 1]), y(v));
      drawing = true;
    });
    context.stroke();
  };
  context.fillStyle = "rgba(31, 119, 180, 0.35)";
  h.reference.forEach((v, i) => { if (v > 0) context.fillRect(px(edges[i]), py(v), px(edges[i + 1]) - px(edges[i]),
                                                               split - 4 - py(v)); });
  context.strokeStyle = "#000";
  steps(h.generated, py);
  context.strokeStyle = "#999";
  context.beginPath();
  context.moveTo(pad, ry(1));
  context.lineTo(w - pad, ry(1));
  context.stroke();
  context.strokeStyle = "#000";
  steps(h.ratio, ry);
  context.fillStyle = "#1d2430";
  const label = v => (h.log ? 10 ** v : v).toPrecision(3);
  context.fillText(label(x0), pad, bottom + 14);
  const right = `${label(x1)}${h.unit ? " " + h.unit : ""}`;
  context.fillText(right, w - pad - context.measureText(right).width, bottom + 14);
  context.fillText("gen / ref: 0 to 2", pad, split + 10);
}

function showHistograms() {
  const element = document.getElementById("histograms");
  element.innerHTML = "";
  for (const h of view.histograms) {
    const canvas = document.createElement("canvas");
    canvas.width = 270;
    canvas.height = 214;
    canvas.setAttribute("aria-label", `histogram of ${h.observable}`);
    element.append(canvas);
    drawHistogram(canvas, h);
  }
}

async function generate(event) {
  if (event) event.preventDefault();
  if (!runs.value) return;
  const started = performance.now();
  statusLine.textContent = "generating...";
  statusLine.className = "";
  try {
    view = await postJSON(`${runUrl(runs.value)}/showers`, {
      particle: particles.value || null, energy: document.getElementById("energy").value,
      n: Number(document.getElementById("n").value), seed: Number(document.getElementById("seed").value)});
    shown = 0;
    showExample();
    drawLayers(document.getElementById("means"), view.means, view.mean_range_mev,
               `the mean of ${view.n.toLocaleString("en")} showers`);
    showHistograms();
    const s = view.seconds, seconds = (performance.now() - started) / 1000;
    statusLine.textContent = `${view.n.toLocaleString("en")} ${view.particle} showers at ${view.energy} GeV ` +
      `generated in ${s.generated.toFixed(3)} s; as many ${view.reference_label} (${view.reference}) in ` +
      `${s.reference.toFixed(3)} s; on the server ${s.total.toFixed(2)} s, with the plots drawn here ` +
      `${seconds.toFixed(2)} s. ${view.notes.join(" ")}`;
    Object.assign(statusLine.dataset, {seed: view.seed, seconds});  // what benchmarks/serve.py reads
  } catch (error) {
    showError(statusLine, error);
  }
}

async function chooseRun() {
  particles.innerHTML = "";
  if (!runs.value) return;
  try {
    const config = (await request(runUrl(runs.value))).config;
    for (const particle of config.data.particles) particles.add(new Option(particle, particle));
    await generate();
  } catch (error) {
    showError(statusLine, error);
  }
}

document.getElementById("controls").onsubmit = generate;
document.getElementById("next").onclick = () => { if (view) { shown += 1; showExample(); } };
runs.onchange = chooseRun;
listRuns(runs, "calogan", statusLine).then(chooseRun).catch(error => showError(statusLine, error));
