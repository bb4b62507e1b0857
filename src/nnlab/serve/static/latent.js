// The latent explorer: a gan run's image at the point the seed and the sliders choose, and a walk from it.
"use strict";
header("Latent");

const runs = document.getElementById("run"), seed = document.getElementById("seed");
const classes = document.getElementById("class"), sliders = document.getElementById("sliders");
const statusLine = document.getElementById("status");
let pending = null, busy = false, conditional = false;

function point() {
  const coordinates = [...sliders.querySelectorAll("input")].map(input => Number(input.value));
  const label = conditional ? Number(classes.value || 0) : null;
  return {seed: Number(seed.value), coordinates, label, walk: 10};
}

function makeSliders(view) {
  sliders.innerHTML = `<p>${view.n_sliders} sliders along the ${view.sliders} of a ${view.latent_dim}-value latent</p>`;
  for (let i = 0; i < view.n_sliders; i++) {
    sliders.insertAdjacentHTML("beforeend", `<label>${i + 1} <input type="range" min="-3" max="3" step="0.1" ` +
                                            `value="0" aria-label="slider ${i + 1}"></label>`);
  }
  const labelled = view.classes.length > 0;
  document.getElementById("class-label").hidden = !labelled;
  if (labelled && !classes.options.length) view.classes.forEach((name, k) => classes.add(new Option(name, k)));
}

function show(view) {
  drawGrey(document.getElementById("image"), view.image);
  const walk = document.getElementById("walk");
  walk.innerHTML = "";
  for (const image of view.walk) addGrey(walk, image, 84);
  statusLine.textContent = `seed ${view.seed}, coordinates [${view.coordinates.map(c => c.toFixed(1)).join(", ")}]`;
  statusLine.className = "";
}

// One request at a time; a slider moved meanwhile sends its newest position when the answer comes.
async function update(first = false) {
  if (!runs.value) return;
  if (busy) { pending = true; return; }
  busy = true;
  try {
    if (first) conditional = Boolean((await request(runUrl(runs.value))).config.model.conditional);
    const view = await postJSON(`${runUrl(runs.value)}/latent`, first ? {...point(), coordinates: []} : point());
    if (first) makeSliders(view);
    show(view);
  } catch (error) {
    showError(statusLine, error);
  } finally {
    busy = false;
    if (pending) { pending = false; update(); }
  }
}

sliders.addEventListener("input", () => update());
seed.onchange = classes.onchange = () => update();
runs.onchange = () => { classes.innerHTML = ""; update(true); loadTestImage(); };
document.getElementById("zero").onclick = () => {
  sliders.querySelectorAll("input").forEach(input => { input.value = 0; });
  update();
};

// In-painting: the erased cells of a 28x28 test image, filled by the run's generator.
const eraseCanvas = document.getElementById("erase"), psnrLine = document.getElementById("psnr");
let erased = [], testImage = null, erasing = false;

async function inpaint(holes) {
  return postJSON(`${runUrl(runs.value)}/inpaint`,
                  {index: Number(document.getElementById("test-index").value), erased: holes});
}

async function loadTestImage() {
  if (!runs.value) return;
  erased = Array.from({length: 28}, () => new Array(28).fill(0));
  try {
    const found = await inpaint(erased);
    testImage = found.clean;
    drawGrey(eraseCanvas, testImage);
    eraseCanvas.dataset.index = found.index;  // which test image is shown (the browser tests wait for it)
    psnrLine.textContent = "";
  } catch (error) {
    showError(psnrLine, error);
  }
}

function erase(event) {
  if (!testImage) return;
  const box = eraseCanvas.getBoundingClientRect();
  const j = Math.floor((event.clientX - box.left) / box.width * 28);
  const i = Math.floor((event.clientY - box.top) / box.height * 28);
  for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
    if (erased[i + di] !== undefined && erased[i + di][j + dj] !== undefined) erased[i + di][j + dj] = 1;
  }
  drawGrey(eraseCanvas, testImage.map((row, a) => row.map((value, b) => (erased[a][b] ? 0 : value))));
}

eraseCanvas.addEventListener("pointerdown", event => {
  erasing = true;
  eraseCanvas.setPointerCapture(event.pointerId);
  erase(event);
});
eraseCanvas.addEventListener("pointermove", event => erasing && erase(event));
eraseCanvas.addEventListener("pointerup", () => { erasing = false; });
document.getElementById("test-index").onchange = loadTestImage;
document.getElementById("unerase").onclick = loadTestImage;
document.getElementById("fill").onclick = async () => {
  psnrLine.textContent = "searching the latent space...";
  psnrLine.className = "";
  try {
    const done = await inpaint(erased);
    drawGrey(document.getElementById("filled"), done.filled);
    psnrLine.textContent = done.psnr_erased === null ? "nothing erased" :
      `PSNR ${done.psnr_erased.toFixed(2)} dB erased -> ${done.psnr_filled.toFixed(2)} dB filled`;
  } catch (error) {
    showError(psnrLine, error);
  }
};

(async () => {
  try {
    await listRuns(runs, "gan", statusLine);
    update(true);
    loadTestImage();
  } catch (error) {
    showError(statusLine, error);
  }
})();
