// A run's page: its summary, resume command, curves from metrics.csv, plots and config.
"use strict";
header("Runs");
(async () => {
  const id = new URLSearchParams(location.search).get("id") || "";
  document.getElementById("title").textContent = `Run ${id}`;
  try {
    const run = await request(runUrl(id));
    document.getElementById("summary").textContent = run.lines.join("\n");
    document.getElementById("resume").textContent = run.resume;
    document.getElementById("config").textContent = JSON.stringify(run.config, null, 2);
    const epochs = run.metrics.map(row => row.epoch);
    const skipped = new Set(["epoch", "step", "lr", "seconds"]);
    const columns = [...new Set(run.metrics.flatMap(Object.keys))].filter(key => !skipped.has(key));
    for (const column of columns) {
      const canvas = document.createElement("canvas");
      canvas.width = 360;
      canvas.height = 200;
      canvas.setAttribute("aria-label", column);
      document.getElementById("curves").append(canvas);
      const values = run.metrics.map(row => row[column] ?? NaN);
      drawLines(canvas, [{name: column, x: epochs, y: values}], `${column} against epoch`);
    }
    for (const plot of run.plots) {
      const figure = document.createElement("figure");
      figure.innerHTML = `<figcaption></figcaption><img alt="">`;
      figure.querySelector("figcaption").textContent = plot;
      figure.querySelector("img").src = `${runUrl(id)}/files/${plot}`;
      document.getElementById("plots").append(figure);
    }
  } catch (error) {
    showError(document.getElementById("status"), error);
  }
})();
