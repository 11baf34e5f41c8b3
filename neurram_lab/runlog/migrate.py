"""Every knowledge of older run-file formats, in one place: what a run file from before is read as today.

Readers call these as they read (the journal's decoder, the experiment
registry), so the rest of the code sees only current names:

- :func:`class_path`: a class named in a journal by its Python path (every file
  written before type tags, :mod:`._type_tags`) -> its current ``module:qualname``,
  through the modules that moved (:data:`MOVED_MODULES`) and the top-level
  packages that moved under ``neurram_lab`` (:data:`OLD_TOP_PACKAGES`);
- :func:`experiment_name`: an experiment's old name -> its current one
  (:data:`OLD_EXPERIMENT_NAMES`);
- :func:`board_kind`: a board kind as an older run file or calibration names it
  -> its current name (:data:`OLD_BOARD_KINDS`: the real Opal Kelly board,
  ``okusb://``, was kind ``"fpga"``); :func:`board_snapshot` and
  :func:`record_fields` apply it to a run's board snapshot and to the records a
  journal spells out (a :class:`~neurram_lab.board.contract.BoardInfo`'s ``kind``,
  a calibration's conditions' ``board_kind``);
- :func:`current_record`: a run record with its experiment's current name and
  the parameters and summary the experiment has today: deploy runs recorded
  before the paper's protocol name ``relax_s`` (the wait before inference) and
  ran that protocol's way (write-verify passes settled :data:`LEGACY_SETTLE_S`,
  per-column calibration only), which the current parameters say as
  ``settle_s``, ``calibration`` and ``inference_wait_s``; their summaries gain
  the keys the experiment reports today, where the recorded ones determine them
  (:func:`unrecorded_summary_keys`: those they do not).

A replay (:class:`~neurram_lab.runlog.replay.ReplayBoard`) serves a run with its
current record, so an experiment module sees only current parameters.
"""

from __future__ import annotations

# Modules that moved when neurram_lab got its tier folders: run files written before name the old ones.
MOVED_MODULES: dict[str, str] = {
    "neurram_lab.board": "neurram_lab.board.contract",
    "neurram_lab.capabilities": "neurram_lab.board.capabilities",
    "neurram_lab.limits": "neurram_lab.board.limits",
    "neurram_lab.registry": "neurram_lab.board.registry",
    "neurram_lab.writeverify": "neurram_lab.program.writeverify",
    "neurram_lab.programming": "neurram_lab.program.programming",
    "neurram_lab.weights": "neurram_lab.program.weights",
    "neurram_lab.mvm": "neurram_lab.mvm.mvm",
    "neurram_lab.calibration": "neurram_lab.mvm.calibration",
    "neurram_lab.recurrent": "neurram_lab.mvm.recurrent",
    "neurram_lab.runlog": "neurram_lab.runlog.runlog",
    "neurram_lab.journal": "neurram_lab.runlog.journal",
    "neurram_lab.journal_board": "neurram_lab.runlog.journal_board",
    "neurram_lab.replay": "neurram_lab.runlog.replay",
}
# Top-level packages of files written before they moved under neurram_lab (issue 21).
OLD_TOP_PACKAGES = ("drivers", "sim_backend")

# An experiment's name (its module's ``EXPERIMENT``, stored in the run record and starting its run
# file's name) is its CLI command's words joined by "-": run files written before that rule carry these.
OLD_EXPERIMENT_NAMES: dict[str, str] = {
    "write-verify": "characterize-write-verify",
    "relaxation": "characterize-relaxation",
    "characterize_mvm": "characterize-mvm",
    "characterize_energy": "characterize-energy",
}

# A board's kind (``BoardInfo.kind``): run files and calibrations from before issue 23 name the real
# Opal Kelly board (okusb://) "fpga", a name that fits hil:// and rtl:// as well.
OLD_BOARD_KINDS: dict[str, str] = {
    "fpga": "okusb",
}
# the records a journal spells out that name a board kind, and the field that does
_BOARD_KIND_FIELDS: dict[str, str] = {"BoardInfo": "kind", "CalibrationConditions": "board_kind"}

LEGACY_SETTLE_S = 1.0  # write-verify settle of deploy runs recorded before the paper's protocol (they name relax_s)
# Deploy experiments whose runs from before the paper's protocol name ``relax_s``; a deploy-train-small
# run of then names neither ``relax_s`` nor ``settle_s`` (it waited 1800 s before inference).
_RELAX_S_EXPERIMENTS = ("deploy-mnist-cnn", "deploy-rbm-recovery", "deploy-train-small")
_TRAIN_SMALL_RELAX_S = 1800.0


def class_path(path: str) -> str:
    """The current ``module:qualname`` of a class a journal names by ``path`` (``module:qualname``)."""
    mod_name, _, qual = str(path).partition(":")
    mod_name = MOVED_MODULES.get(mod_name, mod_name)
    if mod_name.split(".")[0] in OLD_TOP_PACKAGES:
        mod_name = "neurram_lab." + mod_name
    return f"{mod_name}:{qual}"


def experiment_name(name: str) -> str:
    """The current name of experiment ``name`` (an old run file's name mapped through ``OLD_EXPERIMENT_NAMES``)."""
    return OLD_EXPERIMENT_NAMES.get(name, name)


def board_kind(kind):
    """The current name of board kind ``kind`` (an old one mapped through ``OLD_BOARD_KINDS``)."""
    return OLD_BOARD_KINDS.get(kind, kind) if isinstance(kind, str) else kind


def board_snapshot(snapshot):
    """A run's board snapshot (its record's ``board``) with the board's current kind; a copy when it changes."""
    info = snapshot.get("info") if isinstance(snapshot, dict) else None
    if not isinstance(info, dict):
        return snapshot
    current = _with_current_kind(info, "kind")
    return snapshot if current is info else {**snapshot, "info": current}


def record_fields(cls_name: str, fields: dict) -> dict:
    """The fields of a record of class ``cls_name`` a journal spells out, as the current class takes them
    (a board kind by its current name); a copy when they change."""
    key = _BOARD_KIND_FIELDS.get(cls_name)
    return fields if key is None else _with_current_kind(fields, key)


def _with_current_kind(d: dict, key: str) -> dict:
    """``d`` with the board kind at ``key`` by its current name; ``d`` itself when it already is."""
    kind = d.get(key)
    return d if board_kind(kind) == kind else {**d, key: board_kind(kind)}


def board_capabilities(record: dict):
    """The :class:`~neurram_lab.board.capabilities.BoardCapabilities` a run's board declared (its start
    snapshot); the full set for runs recorded before boards declared capabilities."""
    from ..board.capabilities import BoardCapabilities

    caps = (record or {}).get("board", {}).get("capabilities")
    return BoardCapabilities.from_dict(caps) if caps else BoardCapabilities()


def recorded_without(op: str, next_op: str | None) -> bool:
    """Whether a replay's ``op`` was a call the recording board did not have (its journal goes on with
    ``next_op``): runs recorded before boards had ``rail_range_v`` read their rail ranges from the safety
    limits, without a board call."""
    return op == "rail_range_v" and next_op != "rail_range_v"


def _relax_s(experiment: str, params: dict):
    """The old ``relax_s`` of a deploy run recorded before the paper's protocol, else None."""
    if experiment not in _RELAX_S_EXPERIMENTS:
        return None
    if "relax_s" in params:
        return params["relax_s"]
    if experiment == "deploy-train-small" and "settle_s" not in params:
        return _TRAIN_SMALL_RELAX_S
    return None


def current_parameters(experiment: str, params: dict) -> dict:
    """The parameters the current experiment ``experiment`` (its current name) repeats a recorded run with.

    A deploy run from before the paper's protocol (``relax_s``): write-verify passes settled
    ``LEGACY_SETTLE_S``, per-column calibration, ``inference_wait_s`` = its ``relax_s``.
    """
    params = dict(params or {})
    relax_s = _relax_s(experiment, params)
    if relax_s is None:
        return params
    params.pop("relax_s", None)
    return {**params, "settle_s": LEGACY_SETTLE_S, "calibration": "per-column", "inference_wait_s": relax_s}


def _summary_additions(experiment: str, s: dict) -> dict:
    """What a summary of a run from before the paper's protocol lacks, as the current experiment reports it
    (per-column calibration, the only one those runs made)."""
    base = {"calibration": "per-column", "settle_s": LEGACY_SETTLE_S}
    if experiment == "deploy-mnist-cnn":
        return {**base, "accuracy_paper": None, "accuracy_per_column": s.get("accuracy"),
                "calibration_residual_per_column": s.get("calibration_residual")}
    if experiment == "deploy-rbm-recovery":
        return {**base, "l2_after_paper": None, "l2_after_per_column": s.get("l2_after"),
                "l2_reduction_per_column": s.get("l2_reduction")}
    if experiment == "deploy-train-small":
        return {**base, "accuracy_per_column": s.get("accuracy")}
    return {}


def unrecorded_summary_keys(record: dict) -> list[str]:
    """Summary keys the current experiment reports that a run recorded before them cannot give (a replay
    reports them, the recording has none): a deploy-mnist-cnn run from before the paper's protocol has no
    ``layer_error``."""
    rec = record or {}
    name = experiment_name(rec.get("experiment") or "")
    if _relax_s(name, rec.get("parameters") or {}) is not None and name == "deploy-mnist-cnn":
        return ["layer_error"]
    return []


def current_record(record: dict) -> dict:
    """``record`` (a run record as :func:`~neurram_lab.runlog.runlog.read_run` gives it) with its experiment's
    current name, parameters (:func:`current_parameters`) and summary; the recorded one is not changed."""
    rec = dict(record or {})
    name = rec.get("experiment")
    if not name:
        return rec
    rec["experiment"] = name = experiment_name(name)
    params = rec.get("parameters") or {}
    if _relax_s(name, params) is None:
        return rec
    rec["parameters"] = current_parameters(name, params)
    if isinstance(rec.get("summary"), dict):
        recorded = rec["summary"]
        rec["summary"] = {**recorded, **{k: v for k, v in _summary_additions(name, recorded).items()
                                         if k not in recorded}}
    return rec
