// Live curves from metrics.jsonl: grouped charts fed incrementally from /api/metrics.
"use strict";
const GROUPS = [
  ["losses", "Losses", k => k.startsWith("loss") || k.startsWith("cycle") || k === "identity" || k === "l1"],
  ["verdicts", "D's verdicts (they meet at ½ at equilibrium)", k => k.includes("D(") || k.startsWith("critic")],
  ["speed", "Images per second", k => k === "img_per_s"],
  ["eval", "Scores during training", k => k.startsWith("eval_") || ["fid", "kid", "modes", "high_quality",
                                                               "sinkhorn_to_data", "diversity"].includes(k)],
  ["other", "Other statistics", k => !["step", "time"].includes(k)],
];

class Curves {
  constructor(run, container) {
    this.run = run; this.container = container; this.total = 0; this.generation = -1;
    this.steps = []; this.cols = {}; this.charts = {};
  }
  groupOf(key) { return GROUPS.find(([, , match]) => match(key))[0]; }
  async poll() {
    const m = await getJSON(`/api/metrics?${runQuery(this.run)}&since=${this.total}&gen=${this.generation}`);
    if (m.since === 0) { this.steps = []; this.cols = {}; }
    this.generation = m.generation; this.total = m.total;
    const n = (m.columns.step || []).length;
    for (const k of m.keys) {
      if (!this.cols[k]) this.cols[k] = new Array(this.steps.length).fill(null);
      this.cols[k].push(...(m.columns[k] || new Array(n).fill(null)));
    }
    this.steps.push(...(m.columns.step || []));
    if (n || m.since === 0) this.draw();
  }
  draw() {
    const byGroup = {};
    for (const k of Object.keys(this.cols)) if (k !== "step" && k !== "time")
      (byGroup[this.groupOf(k)] = byGroup[this.groupOf(k)] || []).push(k);
    for (const [id, title] of GROUPS) {
      const keys = byGroup[id];
      if (!keys) continue;
      let chart = this.charts[id];
      if (!chart || chart.keys.join() !== keys.join()) {  // new series appeared: build the chart again
        if (chart) chart.destroy();
        let box = document.getElementById("chart-" + id);
        if (!box) { box = el("div", { id: "chart-" + id, class: "chart" }); this.container.append(box); }
        box.replaceChildren();
        const extra = id === "verdicts" && keys.some(k => k.includes("D(")) ? hline(0.5, "½") : null;
        chart = makeChart(id, box, title, keys, extra);
        chart.keys = keys; this.charts[id] = chart;
      }
      chart.setData([this.steps, ...keys.map(k => this.cols[k])]);
    }
  }
}
