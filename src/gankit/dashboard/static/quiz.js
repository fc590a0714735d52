// The real-or-fake quiz: practice trials with feedback, then scored trials; answers go to the server,
// which alone knows which pictures are fake.
"use strict";
const RUN = param("run");
const state = { session: null, trial: 0, shownAt: 0, timer: null, done: false };
window.gankit.quiz = state;
document.getElementById("run-link").href = "/run?" + runQuery(RUN);
document.getElementById("run-link").textContent = RUN;

function pct(e) {
  if (!e || e.value === null) return "–";
  const ci = e.ci95 ? ` [${(100 * e.ci95[0]).toFixed(1)}, ${(100 * e.ci95[1]).toFixed(1)}]` : "";
  return `${(100 * e.value).toFixed(1)}%${ci}`;
}

async function showResults() {
  const r = await getJSON("/api/quiz/report?" + runQuery(RUN));
  window.gankit.quizReport = r;
  const rows = [["all", r], ...Object.entries(r.by_protocol || {})];
  document.querySelector("#scores tbody").replaceChildren(...rows.map(([name, s]) => el("tr", { "data-protocol": name },
    el("td", {}, name), el("td", {}, s.participants), el("td", {}, s.trials), el("td", { class: "hype" }, pct(s.hype_inf)),
    el("td", { class: "fooling" }, pct(s.fooling_rate)), el("td", { class: "real" }, pct(s.real_accuracy)))));
  document.getElementById("results").hidden = false;
}

function itemURL(item) { return `/api/quiz/item?${runQuery(RUN)}&item=${item}`; }

function buttons(on) {
  document.getElementById("say-real").disabled = !on;
  document.getElementById("say-fake").disabled = !on;
}

function present() {
  const s = state.session, t = s.trials[state.trial];
  const n = s.trials.filter(x => x.practice).length;
  document.getElementById("progress").textContent = t.practice
    ? `Practice ${state.trial + 1} of ${n} (you will be told the answer)`
    : `Trial ${state.trial - n + 1} of ${s.trials.length - n}`;
  const img = document.getElementById("picture");
  img.style.visibility = "visible";
  img.src = itemURL(t.item);
  img.dataset.trial = state.trial;
  img.onload = () => {
    state.shownAt = performance.now();
    buttons(true);
    if (t.exposure_ms) state.timer = setTimeout(() => { img.style.visibility = "hidden"; }, t.exposure_ms);
  };
  const next = s.trials[state.trial + 1];
  if (next) new Image().src = itemURL(next.item);  // load the next picture while this one is judged
}

async function answer(choice) {
  const s = state.session, t = s.trials[state.trial];
  buttons(false);
  clearTimeout(state.timer);
  const ms = Math.round(performance.now() - state.shownAt);
  const r = await postJSON("/api/quiz/answer?" + runQuery(RUN), {
    name: s.participant, protocol: s.protocol.name, exposure_ms: s.protocol.name === "timed" ? s.protocol.exposure_ms : null,
    session_seed: s.session_seed, trial: t.index, answer: choice, response_ms: ms, pool: s.pool });
  const box = document.getElementById("feedback");
  if (r.feedback) {
    box.className = "feedback " + (r.feedback === choice ? "correct" : "wrong");
    box.textContent = (r.feedback === choice ? "Right: " : "Wrong: ") + `it was ${r.feedback}.`;
  } else box.textContent = "";
  state.trial += 1;
  if (state.trial < s.trials.length) setTimeout(present, r.feedback ? 700 : 150);
  else {
    state.done = true;
    document.getElementById("stage-box").hidden = true;
    await showResults();
  }
}

async function start() {
  const protocol = document.getElementById("protocol").value;
  const body = { name: document.getElementById("name").value, protocol };
  if (protocol === "timed") body.exposure_ms = Number(document.getElementById("exposure").value);
  try {
    state.session = await postJSON("/api/quiz/start?" + runQuery(RUN), body);
  } catch (e) { setError(e.message); return; }
  setError("");
  state.trial = 0; state.done = false;
  window.gankit.quizReport = null;  // the scores shown after this session are fetched when it ends
  document.getElementById("setup").hidden = true;
  document.getElementById("stage-box").hidden = false;
  present();
}

async function init() {
  const info = await getJSON("/api/quiz/info?" + runQuery(RUN));
  const select = document.getElementById("protocol");
  select.replaceChildren(...info.protocols.map(p => el("option", { value: p.name }, p.title)));
  const describe = () => {
    const p = info.protocols.find(x => x.name === select.value);
    document.getElementById("protocol-source").textContent =
      `${p.source}: ${p.practice} practice trials with feedback, then ${p.scored} scored trials, half real and half fake.`;
    document.getElementById("exposure-box").hidden = p.exposure_ms === null;
  };
  select.onchange = describe;
  describe();
  if (!info.prepared) {
    document.getElementById("pool-info").textContent = info.why;
    return;
  }
  document.getElementById("pool-info").textContent =
    `${info.items} pictures (${info.kind === "points" ? "scatter plots of 64 points" : "images"}), half of them generated.`;
  document.getElementById("start").onclick = start;
  document.getElementById("start").disabled = false;  // only now: a click before this would do nothing
  document.getElementById("say-real").onclick = () => answer("real");
  document.getElementById("say-fake").onclick = () => answer("fake");
  await showResults();
}
init().catch(e => setError(String(e.message || e)));
