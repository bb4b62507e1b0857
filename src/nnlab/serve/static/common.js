// Shared by the pages: the header, JSON requests whose errors are shown, and two small canvas drawings.
"use strict";

function header(active) {
  const pages = [["index.html", "nnlab"], ["playground.html", "Playground"], ["draw.html", "Draw"],
                 ["latent.html", "Latent"], ["showers.html", "Showers"],
                 ["runs.html", "Runs"]];
  document.body.insertAdjacentHTML("afterbegin", "<header>" + pages.map(([href, name], i) =>
    (i === 0 ? `<strong><a href="${href}">${name}</a></strong>` :
     `<a href="${href}"${name === active ? ' aria-current="page"' : ""}>${name}</a>`)).join("") + "</header>");
}

async function request(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail :
      (body.detail || []).map(d => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

function postJSON(url, body) {
  return request(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
}

// The API address of a run, from its id (its path in the runs folder).
function runUrl(id) {
  return "api/runs/" + id.split("/").map(encodeURIComponent).join("/");
}

// Fill `select` with the finished runs of `task`, newest first; say so in `statusLine` when there is none.
async function listRuns(select, task, statusLine, label = run => run.id) {
  const found = await request("api/runs");
  const finished = found.runs.filter(run => run.task === task && run.status === "finished").reverse();
  for (const run of finished) select.add(new Option(label(run), run.id));
  if (!finished.length) {
    statusLine.textContent = `no finished ${task} run in ${found.root}: nnlab train ${task} makes one`;
  }
}

function showError(element, error) {
  element.textContent = String(error.message || error);
  element.className = "error";
}

// A heat map of values in [0, 1] (rows from the top) on a blue-white-orange scale.
function drawHeatmap(canvas, grid, low = 0, high = 1) {
  const context = canvas.getContext("2d");
  const n = grid.length, cell = canvas.width / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const t = Math.min(1, Math.max(0, (grid[i][j] - low) / (high - low)));
      // blue (0) through white (0.5) to orange (1)
      const r = t < 0.5 ? 60 + 390 * t : 255;
      const g = t < 0.5 ? 120 + 250 * t : 245 - 230 * (t - 0.5);
      const b = t < 0.5 ? 220 + 70 * t : 255 - 400 * (t - 0.5);
      context.fillStyle = `rgb(${Math.round(r)},${Math.round(g)},${Math.max(0, Math.round(b))})`;
      context.fillRect(j * cell, i * cell, cell + 1, cell + 1);
    }
  }
}

// A line chart of one or more series [{name, x: [], y: [], colour}] with its axes' ranges written.
function drawLines(canvas, series, title) {
  const context = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 34;
  context.clearRect(0, 0, w, h);
  const xs = series.flatMap(s => s.x), ys = series.flatMap(s => s.y).filter(Number.isFinite);
  context.fillStyle = "#1d2430";
  context.font = "12px system-ui";
  context.fillText(title, pad, 14);
  if (!ys.length) return;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const px = x => pad + (x - x0) / (x1 - x0) * (w - pad - 8);
  const py = y => h - pad + 10 - (y - y0) / (y1 - y0) * (h - pad - 14);
  context.fillText(y1.toPrecision(3), 2, 26);
  context.fillText(y0.toPrecision(3), 2, h - pad + 10);
  context.fillText(String(x0), pad, h - 6);
  context.fillText(String(x1), w - 40, h - 6);
  series.forEach((s, k) => {
    context.strokeStyle = s.colour || ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"][k % 4];
    context.beginPath();
    s.x.forEach((x, i) => {
      if (Number.isFinite(s.y[i])) i ? context.lineTo(px(x), py(s.y[i])) : context.moveTo(px(x), py(s.y[i]));
    });
    context.stroke();
    context.fillStyle = context.strokeStyle;  // the legend, right-aligned under the title
    context.fillText(s.name, w - 8 - context.measureText(s.name).width, 28 + 13 * k);
  });
}

// A grid of numbers drawn in grey on its own scale (lowest black, highest white).
function drawGrey(canvas, grid) {
  const context = canvas.getContext("2d");
  const values = grid.flat(), low = Math.min(...values), span = Math.max(...values) - low || 1;
  const rows = grid.length, cols = grid[0].length, cw = canvas.width / cols, ch = canvas.height / rows;
  grid.forEach((row, i) => row.forEach((value, j) => {
    const level = Math.round(255 * (value - low) / span);
    context.fillStyle = `rgb(${level},${level},${level})`;
    context.fillRect(j * cw, i * ch, cw + 0.5, ch + 0.5);
  }));
}

// A new square canvas of `size` pixels in `parent`, showing `grid` in grey.
function addGrey(parent, grid, size) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  parent.append(canvas);
  drawGrey(canvas, grid);
}
