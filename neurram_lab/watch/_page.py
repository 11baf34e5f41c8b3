"""The live view's page: HTML, a style sheet and the script that fetches ``snapshot.json`` and draws with plotly.js.

The charts are plotly.js (``Plotly.react`` on the figure dicts of
:mod:`._figures`), loaded from the watch server itself (``/plotly.min.js``,
the bundle of the installed ``plotly`` package): the page fetches nothing
from the internet. Every value is put in the page as text (``textContent``),
never as HTML. ``window.neurramWatch`` holds the poll count, the last snapshot
and the figures' point counts, for tests and for the curious.
"""

from __future__ import annotations

import json

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: 0.2em; }
.state { display: inline-block; padding: 0.1em 0.6em; border-radius: 0.8em; color: white; background: #777; }
.state.running { background: #1f77b4; } .state.success { background: #2ca02c; }
.state.failed, .state.aborted, .state.damaged, .state.unreadable { background: #d62728; }
.banner { background: #fde0dc; border: 1px solid #d62728; padding: 0.5em 1em; margin: 0.5em 0; white-space: pre-wrap; }
.banner:empty { display: none; }
table.kv { border-collapse: collapse; font-size: 0.9em; } table.kv td { padding: 0.1em 0.8em 0.1em 0; vertical-align: top; }
table.kv td:first-child { color: #555; }
#figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 0.5em; }
progress { width: 24em; } .small { color: #666; font-size: 0.85em; }
"""

_SCRIPT = r"""
const REFRESH_MS = __REFRESH_MS__;
const W = window.neurramWatch = {polls: 0, snapshot: null, points: {}, errors: 0};
function el(id) { return document.getElementById(id); }
function fmtS(s) {
  if (s === null || s === undefined) return "-";
  s = Math.round(s); const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + (s % 60) + " s";
}
function val(v) { return (typeof v === "object" && v !== null) ? JSON.stringify(v) : String(v); }
function kv(id, obj) {
  const t = el(id); t.replaceChildren();
  for (const [k, v] of Object.entries(obj || {})) {
    const tr = t.insertRow(); tr.dataset.key = k;
    tr.insertCell().textContent = k; tr.insertCell().textContent = val(v);
  }
}
function points(fig) {
  let n = 0;
  for (const tr of fig.data) {
    if (tr.type === "heatmap") { for (const r of tr.z) for (const z of r) if (z !== null) n++; }
    else if (tr.y) n += tr.y.filter(y => y !== null).length;
  }
  return n;
}
function render(s) {
  W.snapshot = s;
  document.title = (s.experiment || "run") + " - " + s.state;
  el("experiment").textContent = s.experiment || "(unknown experiment)";
  const st = el("state"); st.textContent = s.state + (s.frozen ? " (frozen)" : ""); st.className = "state " + s.state.split(" ")[0];
  el("path").textContent = s.path;
  const b = s.board || {};
  el("board").textContent = `${b.spec || "?"} (${b.kind || "?"}, serial ${b.serial || "?"}, firmware ${b.firmware || "?"})`
    + (s.replay_of ? `, replay of ${val(s.replay_of)}` : "");
  el("times").textContent = `started ${s.start_time_iso || "-"}, stopped ${s.stop_time_iso || "-"}`;
  const p = s.progress;
  el("bar").value = p ? p.fraction : 0; el("bar").style.display = p ? "" : "none";
  el("progress").textContent = p ? `${(100 * p.fraction).toFixed(1)} %: ${p.what}` : "progress: not counted for this run";
  el("eta").textContent = s.frozen ? "" : ("time left: " + (s.eta_s === null || s.eta_s === undefined ? "measuring" : "about " + fmtS(s.eta_s)));
  el("damage").textContent = s.damage_error ? s.damage_error + "\n" + s.damage.map(d => "damaged: " + d).join("\n") : "";
  el("read_error").textContent = s.read_error || "";
  el("error").textContent = s.error ? "error of the run: " + s.error : "";
  kv("parameters", s.parameters); kv("summary", s.summary);
  el("summary_head").style.display = Object.keys(s.summary || {}).length ? "" : "none";
  kv("tables", s.tables);
  el("polled").textContent = `poll ${s.poll}, read in ${(1000 * s.read_s).toFixed(0)} ms, shown ${new Date().toISOString()}`;
  const box = el("figures");
  for (const f of s.figures || []) {
    let div = el("fig-" + f.id);
    if (!div) { div = document.createElement("div"); div.id = "fig-" + f.id; div.className = "figure"; box.appendChild(div); }
    Plotly.react(div, f.figure.data, f.figure.layout, {displaylogo: false, responsive: true});
    W.points[f.id] = points(f.figure);
  }
}
async function poll() {
  let frozen = false;
  try {
    const r = await fetch("snapshot.json", {cache: "no-store"});
    const s = await r.json();
    render(s); frozen = s.frozen; W.polls++;
    el("conn").textContent = "";
  } catch (e) { W.errors++; el("conn").textContent = "the watch server does not answer: " + e; }
  setTimeout(poll, frozen ? 4 * REFRESH_MS : REFRESH_MS);
}
poll();
"""

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>neurram watch</title>
<style>__STYLE__</style>
<script src="plotly.min.js"></script>
</head><body>
<h1><span id="experiment">loading</span> <span id="state" class="state">...</span></h1>
<div class="small" id="path"></div>
<div class="banner" id="conn"></div>
<div class="banner" id="damage"></div>
<div class="banner" id="read_error"></div>
<div class="banner" id="error"></div>
<table class="kv"><tr><td>board</td><td id="board"></td></tr><tr><td>time</td><td id="times"></td></tr></table>
<p><progress id="bar" max="1" value="0"></progress> <span id="progress"></span> <span id="eta"></span></p>
<div id="figures"></div>
<h3 id="summary_head">summary</h3><table class="kv" id="summary"></table>
<h3>parameters</h3><table class="kv" id="parameters"></table>
<h3>tables (rows)</h3><table class="kv" id="tables"></table>
<p class="small" id="polled"></p>
<script>__SCRIPT__</script>
</body></html>
"""


def page(refresh_s: float) -> str:
    """The page, polling every ``refresh_s`` seconds (four times slower once the run is frozen)."""
    script = _SCRIPT.replace("__REFRESH_MS__", json.dumps(int(refresh_s * 1000)))
    return _HTML.replace("__STYLE__", _STYLE).replace("__SCRIPT__", script)
