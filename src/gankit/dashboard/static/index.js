// The runs list: live (polled every 2 s), sortable by column, filtered by text.
"use strict";
let runs = [], sortKey = "updated", ascending = false;
const selected = new Set();

function scoreText(scores) {
  return Object.entries(scores || {}).map(([k, v]) => `${k} ${fmtNum(v)}`).join(" · ");
}

function sortValue(run, key) {
  if (key === "scores") return scoreText(run.scores);
  return run[key] ?? "";
}

function render() {
  const query = document.getElementById("filter").value.trim().toLowerCase();
  const shown = runs.filter(r => !query || [r.name, r.preset, r.status, r.game, r.data].join(" ").toLowerCase()
                                                                         .includes(query));
  shown.sort((a, b) => {
    const x = sortValue(a, sortKey), y = sortValue(b, sortKey);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? c : -c;
  });
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...shown.map(r => {
    const box = el("input", { type: "checkbox", onchange: e => e.target.checked ? selected.add(r.name)
                                                                                  : selected.delete(r.name) });
    box.checked = selected.has(r.name);
    return el("tr", { "data-run": r.name },
      el("td", {}, box),
      el("td", {}, el("a", { href: "/run?" + runQuery(r.name) }, r.name)),
      el("td", {}, r.preset), el("td", {}, badge(r.status)),
      el("td", { class: "step" }, r.steps ? `${r.step} / ${r.steps}` : r.step),
      el("td", {}, fmtTime(r.elapsed_s)), el("td", {}, scoreText(r.scores)));
  }));
  document.getElementById("count").textContent = `${shown.length} of ${runs.length} runs`;
  document.querySelectorAll("#runs th[data-key]").forEach(th => {
    th.classList.toggle("sorted", th.dataset.key === sortKey);
    th.classList.toggle("asc", th.dataset.key === sortKey && ascending);
  });
}

document.querySelectorAll("#runs th[data-key]").forEach(th => th.addEventListener("click", () => {
  if (sortKey === th.dataset.key) ascending = !ascending; else { sortKey = th.dataset.key; ascending = true; }
  render();
}));
document.getElementById("filter").addEventListener("input", render);
document.getElementById("compare").addEventListener("click", () => {
  location.href = "/compare?" + [...selected].map(runQuery).join("&");
});
every(2000, async () => { runs = await getJSON("/api/runs"); render(); });
