// The game on the plane, as GAN Lab draws it: D's verdict as the background, real (green) and fake
// (purple) points, G's warp of a z-grid as a mesh, and the gradient arrows G's loss puts on the fakes.
"use strict";
class Live2D {
  static async available(run) {
    const r = await getJSON(`/api/live?${runQuery(run)}&list=1`);
    return r.steps.length > 0;
  }
  constructor(run, canvas) {
    this.run = run; this.canvas = canvas; this.ctx = canvas.getContext("2d");
    this.seq = -1; this.follow = true; this.drawn = 0; this.replaying = false; this.snapshot = null;
  }
  async poll() {
    if (!this.follow || this.replaying) return;
    const snap = await getJSON(`/api/live?${runQuery(this.run)}&after=${this.seq}`);
    if (snap) { this.seq = snap.seq; this.draw(snap); }
  }
  async replay() {
    if (this.replaying) return;
    this.replaying = true;
    try {
      const { steps } = await getJSON(`/api/live?${runQuery(this.run)}&list=1`);
      for (const step of steps) {
        try { this.draw(await getJSON(`/api/live?${runQuery(this.run)}&step=${step}`)); } catch (e) { continue; }
        await new Promise(r => setTimeout(r, 120));
      }
    } finally { this.replaying = false; }
  }
  draw(s) {
    const { ctx, canvas } = this, W = canvas.width, H = canvas.height;
    const [x0, x1, y0, y1] = s.bounds;
    const X = x => (x - x0) / (x1 - x0) * W, Y = y => H - (y - y0) / (y1 - y0) * H;
    ctx.clearRect(0, 0, W, H);
    if (s.surface) this.drawSurface(s, X, Y);
    if (s.warp) {
      ctx.strokeStyle = "rgba(60,60,60,0.35)"; ctx.lineWidth = 1;
      const rows = s.warp.points, cols = rows[0] ? rows[0].length : 0;
      const line = pts => { ctx.beginPath(); pts.forEach(([x, y], i) => i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y)));
                            ctx.stroke(); };
      rows.forEach(line);
      for (let j = 0; j < cols && rows.length > 1; j++) line(rows.map(r => r[j]));
    }
    const dots = (pts, colour) => { ctx.fillStyle = colour;
      for (const [x, y] of pts) { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.5, 0, 2 * Math.PI); ctx.fill(); } };
    dots(s.real, "#2e7d32");
    dots(s.fake, "#7b1fa2");
    if (s.pull) this.drawPull(s, X, Y);
    this.snapshot = s; this.drawn += 1;
    canvas.dataset.step = s.step; canvas.dataset.seq = s.seq;
    document.getElementById("live-step").textContent = s.step + (s.manual && s.manual.length ? ` (+ ${s.manual.join(", ")} by hand)` : "");
    document.getElementById("live-what").textContent = [
      s.surface ? `background: ${s.surface_of} (${s.surface_kind})` : `no surface: ${s.surface_why}`,
      s.pull ? `arrows: −∂${s.pull_of}/∂fake` : `no arrows: ${s.pull_why}`].join(" · ");
  }
  drawSurface(s, X, Y) {
    const { xs, ys, values } = s.surface, ctx = this.ctx;
    let lo = 0, hi = 1;
    if (s.surface_kind !== "probability") {
      const flat = values.flat().filter(Number.isFinite);
      lo = Math.min(...flat); hi = Math.max(...flat);
      if (hi - lo < 1e-12) hi = lo + 1;
    }
    const dx = xs.length > 1 ? xs[1] - xs[0] : 1, dy = ys.length > 1 ? ys[1] - ys[0] : 1;
    for (let i = 0; i < ys.length; i++) for (let j = 0; j < xs.length; j++) {
      const t = Math.min(1, Math.max(0, (values[i][j] - lo) / (hi - lo)));  // 0: "fake" (purple), 1: "real" (green)
      const [c0, c1, u] = t < 0.5 ? [[205, 170, 225], [255, 255, 255], 2 * t] : [[255, 255, 255], [165, 215, 165], 2 * t - 1];
      const [r, g, b] = c0.map((c, k) => Math.round(c + (c1[k] - c) * u));
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      const px = X(xs[j] - dx / 2), py = Y(ys[i] + dy / 2);
      ctx.fillRect(px, py, X(xs[j] + dx / 2) - px + 1, Y(ys[i] - dy / 2) - py + 1);
    }
  }
  drawPull(s, X, Y) {
    const ctx = this.ctx, lens = s.pull.map(([a, b]) => Math.hypot(a, b)).sort((a, b) => a - b);
    const ref = lens[Math.floor(0.95 * (lens.length - 1))] || 1;
    const scale = 25 / ref;  // the 95th-percentile arrow is 25 px long
    ctx.strokeStyle = "rgba(123,31,162,0.8)"; ctx.lineWidth = 1;
    s.fake.forEach(([x, y], i) => {
      const [a, b] = s.pull[i], px = X(x), py = Y(y);
      const ex = px + Math.max(-40, Math.min(40, a * scale)), ey = py - Math.max(-40, Math.min(40, b * scale));
      ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(ex, ey); ctx.stroke();
    });
  }
}
