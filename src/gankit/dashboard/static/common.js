// Shared helpers of the dashboard's pages. Everything is fetched from this server (same origin).
"use strict";
window.gankit = window.gankit || { charts: {} };

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (r.status === 204) return null;
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function postJSON(url, value) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify(value) });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function param(name) { return new URLSearchParams(location.search).get(name); }
function params(name) { return new URLSearchParams(location.search).getAll(name); }
function runQuery(name) { return "run=" + encodeURIComponent(name); }
function fileURL(run, path) { return `/api/file?${runQuery(run)}&path=${encodeURIComponent(path)}`; }

function fmtNum(v) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

function fmtTime(s) {
  if (s === null || s === undefined) return "";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}

function badge(status) { return el("span", { class: "badge " + status }, status); }

// Poll `fn` every `ms` milliseconds while the page is open; errors are shown, polling goes on.
function every(ms, fn) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try { await fn(); setError(""); } catch (e) { setError(String(e.message || e)); }
    finally { busy = false; }
  };
  tick();
  return setInterval(tick, ms);
}

function setError(text) {
  const box = document.getElementById("error");
  if (box) { box.textContent = text; box.hidden = !text; }
}

// Curve charts (uPlot, vendored). A chart keeps its data in window.gankit.charts[id].data.
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

function makeChart(id, container, title, seriesNames, extraLines) {
  const opts = {
    title, width: Math.max(320, container.clientWidth - 10), height: 220,
    scales: { x: { time: false } },
    series: [{ label: "step" }, ...seriesNames.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length],
                                                               width: 1.5, spanGaps: true }))],
    axes: [{ label: "step" }, {}],
    hooks: extraLines ? { draw: [u => extraLines(u)] } : {},
  };
  const data = [[], ...seriesNames.map(() => [])];
  const chart = new uPlot(opts, data, container);
  window.gankit.charts[id] = chart;
  return chart;
}

// A dashed horizontal line at y (D(x) and D(G(z)) meet at 1/2 at the game's equilibrium).
function hline(y, label) {
  return u => {
    const ctx = u.ctx, top = u.valToPos(y, "y", true);
    if (!isFinite(top)) return;
    ctx.save(); ctx.strokeStyle = "#888"; ctx.setLineDash([6, 4]); ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(u.bbox.left, top); ctx.lineTo(u.bbox.left + u.bbox.width, top); ctx.stroke();
    ctx.fillStyle = "#666"; ctx.font = "11px sans-serif"; ctx.fillText(label, u.bbox.left + 4, top - 3);
    ctx.restore();
  };
}
