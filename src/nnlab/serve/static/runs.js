// The runs page: every run under the runs folder, each linked to its page.
"use strict";
header("Runs");
(async () => {
  const where = document.getElementById("where");
  try {
    const found = await request("api/runs");
    where.textContent = found.runs.length ? `${found.runs.length} runs in ${found.root}` :
      `no runs in ${found.root} yet: nnlab train iris makes one`;
    const body = document.querySelector("#runs tbody");
    for (const run of found.runs) {
      const row = body.insertRow();
      const link = document.createElement("a");
      link.href = `run.html?id=${encodeURIComponent(run.id)}`;
      link.textContent = run.id;
      row.insertCell().append(link);
      for (const key of ["task", "started", "status", "epochs", "score", "size_mb"]) {
        row.insertCell().textContent = run[key];
      }
    }
  } catch (error) {
    showError(where, error);
  }
})();
