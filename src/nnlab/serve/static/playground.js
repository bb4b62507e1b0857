// The playground page: a session on the server, stepped on request or streamed frame by frame (Run).
"use strict";
header("Playground");

const form = document.getElementById("settings"), statusLine = document.getElementById("status");
const boundary = document.getElementById("boundary"), lossCanvas = document.getElementById("loss");
let session = null, points = null, losses = {x: [], y: []}, stream = null;

function settings() {
  const values = Object.fromEntries(new FormData(form));
  return {points: values.points, noise: Number(values.noise), activation: values.activation, lr: Number(values.lr),
          hidden: values.hidden.split(",").map(s => s.trim()).filter(Boolean).map(Number)};
}

function drawPoints() {
  const context = boundary.getContext("2d"), scale = boundary.width / (2 * points.extent);
  points.x.forEach(([x, y], i) => {
    context.beginPath();
    context.arc((x + points.extent) * scale, (points.extent - y) * scale, 3.5, 0, 2 * Math.PI);
    context.fillStyle = points.labels[i] ? "#0b3d91" : "#8a4500";  // darker than the map's own colours
    context.fill();
    context.strokeStyle = "#fff";
    context.stroke();
  });
}

function show(frame) {
  drawHeatmap(boundary, frame.boundary.map(row => row.map(p => 1 - p)));
  drawPoints();
  losses.x.push(frame.step);
  losses.y.push(frame.loss);
  drawLines(lossCanvas, [{name: "loss", ...losses}], "cross-entropy loss against step");
  const accuracy = (100 * frame.accuracy).toFixed(1);
  statusLine.textContent = `step ${frame.step}: loss ${frame.loss.toFixed(4)}, accuracy ${accuracy}%`;
  statusLine.className = "";
  const units = document.getElementById("units");
  while (units.children.length > frame.units.length) units.lastChild.remove();
  frame.units.forEach((grid, i) => {
    if (!units.children[i]) {
      units.insertAdjacentHTML("beforeend", `<canvas width="120" height="120" title="unit ${i + 1}"></canvas>`);
    }
    drawHeatmap(units.children[i], grid, -1, 1);
  });
}

async function reset() {
  stop();
  losses = {x: [], y: []};
  try {
    const created = await postJSON("api/playground", settings());
    session = created.id;
    points = created.points;
    show(created.frame);
  } catch (error) {
    showError(statusLine, error);
  }
}

function stop() {
  if (stream) stream.close();
  stream = null;
  document.getElementById("run").textContent = "Run";
}

async function step() {
  stop();
  try { show(await request(`api/playground/${session}/step?steps=10`, {method: "POST"})); }
  catch (error) { showError(statusLine, error); }
}

function run() {
  if (stream) return stop();
  stream = new EventSource(`api/playground/${session}/stream?steps=5&frames=2000`);
  document.getElementById("run").textContent = "Pause";
  stream.onmessage = event => show(JSON.parse(event.data));
  stream.addEventListener("end", stop);
  stream.onerror = () => stop();
}

document.getElementById("run").onclick = run;
document.getElementById("step").onclick = step;
document.getElementById("reset").onclick = reset;
form.onchange = reset;
reset();
