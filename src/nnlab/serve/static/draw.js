// The drawing page: a 28x28 drawing (or an uploaded picture) through a CNN run, drawn as the API returns it.
"use strict";
header("Draw");

const pad = document.getElementById("pad"), pen = pad.getContext("2d"), statusLine = document.getElementById("status");
const runs = document.getElementById("run");
let drawing = false;

function clearPad() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, pad.width, pad.height);
}

function at(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", event => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  pen.beginPath();
  pen.moveTo(...at(event));
});
pad.addEventListener("pointermove", event => {
  if (!drawing) return;
  pen.lineTo(...at(event));
  pen.strokeStyle = "#fff";
  pen.lineWidth = 22;
  pen.lineCap = pen.lineJoin = "round";
  pen.stroke();
});
pad.addEventListener("pointerup", () => {
  drawing = false;
  classify();
});

// The pad shrunk to 28x28 grey values, ink 1 on background 0.
function pixels() {
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const context = small.getContext("2d");
  context.drawImage(pad, 0, 0, 28, 28);
  const data = context.getImageData(0, 0, 28, 28).data;
  return Array.from({length: 28}, (_, i) => Array.from({length: 28}, (_, j) => data[4 * (28 * i + j)] / 255));
}

function show(seen) {
  drawGrey(document.getElementById("seen"), seen.input);
  const best = Math.max(...seen.probabilities);
  statusLine.textContent = `predicted: ${seen.predicted} (${(100 * best).toFixed(1)}%)`;
  statusLine.className = "";
  const rows = document.querySelector("#probabilities tbody");
  rows.innerHTML = "";
  seen.classes.forEach((name, k) => {
    const row = rows.insertRow(), p = seen.probabilities[k];
    row.insertCell().textContent = name;
    row.insertCell().innerHTML = `<div style="background:#1f5fbf;height:0.8em;width:${Math.round(150 * p)}px"></div>`;
    row.insertCell().textContent = p.toFixed(3);
  });
  const filters = document.getElementById("filters");
  filters.innerHTML = "";
  for (const kernel of seen.filters) addGrey(filters, kernel, 36);
  const maps = document.getElementById("maps");
  maps.innerHTML = "";
  for (const [name, layer] of seen.feature_maps) {
    const size = `${layer[0].length}x${layer[0][0].length}`;
    maps.insertAdjacentHTML("beforeend", `<h3>${name}: ${layer.length} maps of ${size}</h3>`);
    const row = document.createElement("div");
    row.className = "units";
    maps.append(row);
    for (const map of layer) addGrey(row, map, 56);
  }
}

async function classify() {
  if (!runs.value) return;
  try {
    show(await postJSON(`${runUrl(runs.value)}/look`, {pixels: pixels()}));
  } catch (error) {
    showError(statusLine, error);
  }
}

document.getElementById("upload").onchange = async event => {
  const file = event.target.files[0];
  if (!file || !runs.value) return;
  try {
    show(await request(`${runUrl(runs.value)}/look-picture`, {method: "POST", headers: {"Content-Type": file.type},
                                                               body: file}));
  } catch (error) {
    showError(statusLine, error);
  }
};
document.getElementById("clear").onclick = () => { clearPad(); statusLine.textContent = "draw a digit"; };

(async () => {
  clearPad();
  try {
    await listRuns(runs, "cnn", statusLine, run => `${run.id} (${run.score})`);
  } catch (error) {
    showError(statusLine, error);
  }
})();
