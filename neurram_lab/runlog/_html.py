"""How a run and an experiment's result show in Jupyter: an HTML table and the run's figure inline.

:func:`run_html` is :meth:`Run._repr_html_ <neurram_lab.runlog._read.Run>`
(a run read with ``read_run``): experiment, status, board, times, the damage
of a file read with ``verify=False``, the summary, the parameters, the tables
and the experiment's figure. :class:`RunSummary` is what every experiment's
``run()`` returns: its summary dict, unchanged as a dict (JSON, comparisons,
replays), displayed as a table with its figure. A figure is the PNG the
experiment drew beside its run file, embedded in the page (base64), so the
notebook holds it and needs no file or server to show it. Every value is
escaped: nothing in a run file becomes markup.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

MAX_LIST = 8  # list values show their first this many items, then how many there are
MAX_TEXT = 240  # characters of a value's text shown
MAX_FIGURE_BYTES = 8_000_000  # a larger PNG is linked by its path, not embedded
_COLORS = {"success": "#2ca02c", "running": "#1f77b4", "interrupted": "#777", "failed": "#d62728",
           "aborted": "#d62728", "damaged": "#d62728"}


def _text(v) -> str:
    """A value as a short line of text: floats to 6 significant digits, long lists cut with their length."""
    if isinstance(v, bool) or v is None:
        s = str(v)
    elif isinstance(v, float):
        s = f"{v:.6g}" if math.isfinite(v) else str(v)
    elif isinstance(v, (list, tuple)):
        items = ", ".join(_text(x) for x in v[:MAX_LIST])
        s = f"[{items}" + (f", … ({len(v)} values)]" if len(v) > MAX_LIST else "]")
    elif isinstance(v, dict):
        s = json.dumps(v, default=str, separators=(", ", ": "))
    else:
        s = str(v)
    return s if len(s) <= MAX_TEXT else s[: MAX_TEXT - 1] + "…"


def _table(rows, head=None, cls="neurram-kv") -> str:
    """An HTML table of ``rows`` (sequences of values), every cell escaped."""
    out = [f'<table class="{cls}" style="border-collapse:collapse;margin:0.3em 0">']
    if head:
        out.append("<tr>" + "".join(f'<th style="text-align:left;padding:0.1em 0.8em 0.1em 0">{html.escape(h)}</th>'
                                     for h in head) + "</tr>")
    for row in rows:
        cells = "".join(f'<td style="text-align:left;padding:0.1em 0.8em 0.1em 0;vertical-align:top">'
                        f"{html.escape(_text(c) if not isinstance(c, str) else c)}</td>" for c in row)
        out.append(f"<tr>{cells}</tr>")
    return "".join(out) + "</table>"


def _kv(d: dict) -> str:
    return _table([(k, v) for k, v in (d or {}).items()], ("key", "value"))


def figure_html(path, alt: str) -> str:
    """``<img>`` of a PNG with its bytes embedded (base64), or a line saying why there is none."""
    if not path:
        return '<p style="color:#666">no figure</p>'
    p = Path(path)
    if not p.is_file():
        return f'<p style="color:#666">no figure at {html.escape(str(p))} (not beside the run file)</p>'
    if p.stat().st_size > MAX_FIGURE_BYTES:
        return f'<p>figure: {html.escape(str(p))} ({p.stat().st_size} bytes, not embedded)</p>'
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    return (f'<img class="neurram-figure" alt="{html.escape(alt)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"/>')


def _badge(status: str) -> str:
    color = _COLORS.get(status, "#777")
    return (f'<span class="neurram-status" style="background:{color};color:white;padding:0.05em 0.6em;'
            f'border-radius:0.8em">{html.escape(status)}</span>')


def _run_figure(run) -> Path | None:
    """The experiment's figure of ``run``: the summary's ``figure`` if it is there, else ``RUN.png`` beside it."""
    named = (run.record.get("summary") or {}).get("figure")
    beside = Path(run.path).with_name(Path(run.path).stem + ".png")
    for p in (Path(named) if isinstance(named, str) else None, beside):
        if p is not None and p.is_file():
            return p
    return Path(named) if isinstance(named, str) else None


def run_html(run) -> str:
    """The HTML of a :class:`~neurram_lab.runlog._read.Run` (see the module doc)."""
    rec = run.record
    info = (rec.get("board") or {}).get("info", {}) or {}
    board = f"{info.get('spec', '?')} ({info.get('kind', '?')}, serial {info.get('serial', '?')})"
    parts = [f'<div class="neurram-run"><h4 style="margin:0.2em 0">{html.escape(str(rec.get("experiment")))} '
             f"{_badge(run.status)}</h4>",
             _table([("file", str(run.path)), ("board", board), ("started", rec.get("start_time_iso") or "-"),
                     ("stopped", rec.get("stop_time_iso") or "-"),
                     ("format", f"version {run.format_version}"
                                + ("" if run.fully_verifiable else ", not fully verifiable"))])]
    if run.damage:
        parts.append('<div class="neurram-damage" style="background:#fde0dc;border:1px solid #d62728;'
                     'padding:0.3em 0.8em;white-space:pre-wrap">'
                     + html.escape("damaged: " + "\ndamaged: ".join(run.damage)) + "</div>")
    if rec.get("error"):
        parts.append(f'<div class="neurram-error" style="color:#d62728">error of the run: '
                     f'{html.escape(_text(rec["error"]))}</div>')
    if rec.get("summary"):
        parts.append("<b>summary</b>" + _kv(rec["summary"]))
    parts.append("<details><summary><b>parameters</b></summary>" + _kv(rec.get("parameters") or {}) + "</details>")
    if run.tables:
        parts.append("<b>tables</b>" + _table(
            [(name, str(len(df)), ", ".join(map(str, df.columns))) for name, df in run.tables.items()],
            ("table", "rows", "columns")))
    if run.journal is not None:
        parts.append(f"<p>journal: {len(run.journal)} board calls</p>")
    if run.status != "interrupted":
        parts.append(figure_html(_run_figure(run), f"figure of {rec.get('experiment')}"))
    return "".join(parts) + "</div>"


class RunSummary(dict):
    """An experiment's summary (a plain dict in every other way) that shows in Jupyter as a table and its figure."""

    def _repr_html_(self) -> str:
        rows = [(k, v) for k, v in self.items() if k != "figure"]
        head = (f'<div class="neurram-result"><h4 style="margin:0.2em 0">result of '
                f'{html.escape(Path(str(self.get("run_file", "a run"))).name)}</h4>')
        tail = "" if "run_file" not in self else \
            f'<p style="color:#666">tables and journal: <code>read_run({html.escape(repr(str(self["run_file"])))})</code></p>'
        return head + _table(rows, ("key", "value")) + figure_html(self.get("figure"), "figure of the run") + tail + "</div>"

    def __reduce__(self):  # pickles (Dask sweeps) and copies as a plain dict
        return (dict, (dict(self),))
