// One run: live curves, the timeline of sample grids, the 2D view of toy runs, control, report, config.
"use strict";
const RUN = param("run");
document.getElementById("title").textContent = RUN;
document.title = "gankit · " + RUN;
document.getElementById("quiz-link").href = "/quiz?" + runQuery(RUN);
const curves = new Curves(RUN, document.getElementById("charts"));
window.gankit.curves = curves;
let samples = [], followSamples = true, live = null, reportShown = false;

function showSample(i) {
  const s = samples[i];
  if (!s) return;
  const img = document.getElementById("sample");
  img.src = fileURL(RUN, s.path);
  img.dataset.step = s.step;
  document.getElementById("sample-step").textContent = s.step;
}

const slider = document.getElementById("slider");
slider.addEventListener("input", () => {
  followSamples = Number(slider.value) === samples.length - 1;
  showSample(Number(slider.value));
});

function renderInfo(info) {
  document.getElementById("status").replaceChildren(badge(info.status));
  document.getElementById("step").textContent = info.steps ? `step ${info.step} / ${info.steps}` : `step ${info.step}`;
  if (info.samples.length !== samples.length) {
    samples = info.samples;
    slider.max = Math.max(0, samples.length - 1);
    if (followSamples) { slider.value = slider.max; showSample(samples.length - 1); }
  }
  document.getElementById("config").textContent = info.config;
  document.querySelector("#checkpoints tbody").replaceChildren(...info.checkpoints.map(c => el("tr", {},
    el("td", {}, c.step), el("td", {}, (c.bytes / 1e6).toFixed(2) + " MB"),
    el("td", {}, new Date(c.modified * 1000).toLocaleString()))));
  if (info.report && !reportShown) {
    reportShown = true;
    document.getElementById("report-box").hidden = false;
    document.getElementById("report").src = fileURL(RUN, "report.html");
  }
  if (info.control.enabled) setupControl(info.control.phases);
}

let controlReady = false;
function setupControl(phases) {
  if (controlReady) return;
  controlReady = true;
  document.getElementById("control").hidden = false;
  const buttons = document.getElementById("control-buttons");
  for (const p of phases) buttons.append(el("button", { "data-phase": p, onclick: () => send("step", p) }, `Step ${p} only`));
  document.getElementById("pause").onclick = () => send("pause");
  document.getElementById("resume").onclick = () => send("resume");
}

async function send(command, phase) {
  const msg = document.getElementById("control-msg");
  try {
    const r = await postJSON("/api/control?" + runQuery(RUN),
                             { token: document.getElementById("token").value, command, phase: phase || null });
    msg.textContent = `sent ${command}${phase ? " " + phase : ""} (#${r.seq})`;
  } catch (e) { msg.textContent = "refused: " + e.message; }
}

every(2000, async () => {
  const info = await getJSON("/api/run?" + runQuery(RUN));
  renderInfo(info);
  await curves.poll();
  if (!live && await Live2D.available(RUN)) {
    document.getElementById("live").hidden = false;
    live = new Live2D(RUN, document.getElementById("plane"));
    window.gankit.live = live;
    document.getElementById("live-play").onclick = () => live.replay();
    document.getElementById("live-follow").onchange = e => { live.follow = e.target.checked; };
  }
});
every(500, async () => { if (live) await live.poll(); });
