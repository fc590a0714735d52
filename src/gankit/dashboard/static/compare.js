// Several runs' curves overlaid (one metric at a time), and their newest sample grids side by side.
"use strict";
const RUNS = params("run");
const data = {};  // run -> {step: [], columns: {}}
let chart = null;

function overlay(key) {
  const steps = [...new Set(RUNS.flatMap(r => data[r] ? data[r].columns.step : []))].sort((a, b) => a - b);
  const at = Object.fromEntries(steps.map((s, i) => [s, i]));
  const series = RUNS.map(r => {
    const out = new Array(steps.length).fill(null);
    const d = data[r];
    if (d && d.columns[key]) d.columns.step.forEach((s, i) => { out[at[s]] = d.columns[key][i]; });
    return out;
  });
  if (chart) chart.destroy();
  const box = document.getElementById("overlay");
  box.replaceChildren();
  chart = makeChart("overlay", box, key, RUNS, key.includes("D(") ? hline(0.5, "½") : null);
  chart.setData([steps, ...series]);
}

async function load() {
  if (!RUNS.length) { setError("choose runs on the runs list (tick them, then Compare selected)"); return; }
  document.getElementById("runs-shown").textContent = RUNS.join(" · ");
  const keys = new Set();
  for (const r of RUNS) {
    const m = await getJSON(`/api/metrics?${runQuery(r)}&since=0`);
    data[r] = m;
    m.keys.filter(k => k !== "step" && k !== "time").forEach(k => keys.add(k));
    const info = await getJSON("/api/run?" + runQuery(r));
    const last = info.samples[info.samples.length - 1];
    document.getElementById("grids").append(el("figure", { "data-run": r },
      last ? el("img", { class: "grid", src: fileURL(r, last.path), alt: r, width: 256 }) : el("p", {}, "no samples"),
      el("figcaption", {}, `${r} · step ${last ? last.step : "–"}`)));
  }
  const select = document.getElementById("metric");
  const sorted = [...keys].sort((a, b) => (b.startsWith("loss") - a.startsWith("loss")) || a.localeCompare(b));
  select.replaceChildren(...sorted.map(k => el("option", { value: k }, k)));
  select.onchange = () => overlay(select.value);
  if (sorted.length) overlay(sorted[0]);
}
load().catch(e => setError(String(e.message || e)));
