"""Notebooks (issue 21 item 3): the README's notebook example runs in a Jupyter kernel, and what it shows.

The README's ```ipython block (cells split at ``# %%``) runs with nbclient in a
real IPython kernel (ipykernel, from the test extra) in a scratch folder. Its
outputs are checked: the experiment's result and the run read back display as
HTML tables with the run's own figure embedded (the PNG beside the run file,
byte for byte), the write-verify passes drew tqdm's notebook widget bars that
reached their totals, and nothing raised. Without a kernel, ``_repr_html_``
of a run read with ``verify=False`` shows its damage, and every value of a run
file is escaped, never markup.
"""

from __future__ import annotations

import base64
import gzip
import re
import shutil
from pathlib import Path

import h5py
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from neurram_lab import RunLog, read_run
from neurram_lab._progress import bar_factory, in_notebook, progress_bar
from neurram_lab.errors import InputError
from neurram_lab.runlog._html import RunSummary

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```ipython\n(.*?)^```", re.S | re.M)
_IMG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def notebook_cells() -> list[str]:
    """The README's notebook example, one string per ``# %%`` cell."""
    blocks = _BLOCK.findall(README.read_text())
    assert len(blocks) == 1, f"README.md should have one ```ipython block (the notebook example), has {len(blocks)}"
    cells = re.split(r"^(?=# %%)", blocks[0], flags=re.M)
    return [c.strip("\n") for c in cells if c.strip()]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The example executed in a kernel: (notebook, folder it ran in)."""
    where = tmp_path_factory.mktemp("notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in notebook_cells()]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=False, store_widget_state=True,
                            resources={"metadata": {"path": str(where)}})
    client.execute()
    return nb, where


def _outputs(cell, kind: str) -> list:
    return [o for o in cell.outputs if o.output_type in ("display_data", "execute_result") and kind in o.data]


def _embedded_png(html_text: str) -> bytes:
    imgs = _IMG.findall(html_text)
    assert len(imgs) == 1, f"{len(imgs)} embedded figures"
    return base64.b64decode(imgs[0])


def test_readme_notebook_runs_and_shows_tables_figures_and_notebook_bars(executed):
    nb, where = executed
    assert len(nb.cells) == 3
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    runs = sorted((where / "runs").glob("*.h5"))
    assert len(runs) == 1, runs
    run = read_run(runs[0])
    figure = runs[0].with_suffix(".png")
    # cell 1: the result, a table of the run's summary with its figure, and one notebook bar per pass
    result_html = _outputs(nb.cells[0], "text/html")
    assert len(result_html) == 1 and result_html[0].output_type == "execute_result"
    text = result_html[0].data["text/html"]
    assert 'class="neurram-result"' in text and "<table" in text
    for key in ("mean_pulses_per_cell", "in_window_fraction", "sigma_us_by_iteration"):
        assert f"<td style=\"text-align:left;padding:0.1em 0.8em 0.1em 0;vertical-align:top\">{key}</td>" in text, key
    assert _embedded_png(text) == figure.read_bytes()
    bars = _outputs(nb.cells[0], "application/vnd.jupyter.widget-view+json")
    assert len(bars) == run.record["parameters"]["iterations"], [o.data for o in nb.cells[0].outputs]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    progress = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    planned = run.tables["wv_plan"].groupby("iteration").size().tolist()
    assert sorted((p["value"], p["max"]) for p in progress) == sorted((n, n) for n in planned)  # each bar full
    # cell 2: the run read back, its record and tables as HTML with the same figure
    run_html = _outputs(nb.cells[1], "text/html")
    assert len(run_html) == 1
    text = run_html[0].data["text/html"]
    assert 'class="neurram-run"' in text and ">success</span>" in text and "damaged" not in text
    for name, df in run.tables.items():
        assert f">{name}</td>" in text and f">{len(df)}</td>" in text, name
    assert _embedded_png(text) == figure.read_bytes()
    # cell 3: an ordinary DataFrame (pandas' own HTML), the mean pulses per cell by pass
    frame = _outputs(nb.cells[2], "text/plain")
    means = run.tables["wv_cells"].groupby("iteration")["pulses"].mean()
    assert f"{means.iloc[0]:.6f}"[:6] in frame[0].data["text/plain"]


def test_repr_html_shows_damage_and_escapes_values(tmp_path, executed):
    _, where = executed
    src = sorted((where / "runs").glob("*.h5"))[0]
    damaged = tmp_path / "damaged.h5"
    shutil.copy(src, damaged)
    with h5py.File(damaged, "r+") as f:
        ds = f["run/stop_json"]
        ds[10] = ds[10] ^ 0x04
    run = read_run(damaged, verify=False)
    text = run._repr_html_()
    assert 'class="neurram-damage"' in text and "damaged: stop record" in text and ">damaged</span>" in text
    assert ">wv_cells</td>" in text
    # a run whose record holds markup: shown as text
    evil = tmp_path / "evil.h5"
    with RunLog(evil, "<script>alert(1)</script>", {"note": "<img src=x onerror=alert(2)>"},
                {"t": {"x": ("f8", "")}}, {"info": {"spec": "<b>board</b>"}}) as log:
        log.append("t", x=np.arange(3.0))
        log.close("failed", {"k": "<i>v</i>"}, error="<u>boom</u>")
    text = read_run(evil)._repr_html_()
    for raw in ("<script>", "<img src=x", "<b>board", "<i>v", "<u>boom"):
        assert raw not in text, raw
    assert "&lt;script&gt;" in text and "&lt;u&gt;boom" in text and ">failed</span>" in text
    old = tmp_path / "run_v3.h5"  # a file of an older format: shown, marked, with its journal's size
    with gzip.open(Path(__file__).parent / "fixtures" / "run_v3.h5.gz") as f, open(old, "wb") as g:
        shutil.copyfileobj(f, g)
    run = read_run(old, journal=True)
    text = run._repr_html_()
    assert "version 3, not fully verifiable" in text and f"journal: {len(run.journal)} board calls" in text
    assert "no figure<" in text  # its summary names none, and none is beside it
    summary = RunSummary({"a": [1.0] * 20, "figure": str(tmp_path / "none.png")})
    assert "20 values" in summary._repr_html_() and "no figure at" in summary._repr_html_()


def test_progress_outside_a_notebook_is_text_or_nothing():
    assert not in_notebook()
    assert bar_factory(None) is None and bar_factory(False) is None and bar_factory(True) is progress_bar
    f = lambda total, desc: None  # noqa: E731
    assert bar_factory(f) is f
    with pytest.raises(InputError, match="progress"):
        bar_factory("yes")
    bar = progress_bar(3, "x", disable=True)
    assert type(bar).__module__.startswith("tqdm") and "notebook" not in type(bar).__module__
    bar.close()
