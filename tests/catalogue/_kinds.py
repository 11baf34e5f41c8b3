"""What kind of value each parameter of a public function takes, and hypothesis strategies of bad ones.

The kind comes from the parameter's type hint, its default and, where the
code carries no hint, the project's naming rules (STYLE.md: units in names,
``*_bits`` and ``n_*`` counts, cell addresses ``core``/``row``/``col``). Each
strategy draws only values no reading of the documentation would accept: a
string or a boolean for a number, a fraction for a count, NaN or an infinity,
``"no"`` for a flag, a scalar for a mapping, a ragged list for an array.
"""

from __future__ import annotations

import inspect
import math

from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")

# parameters that take callables or free text: nothing generic is bad for them
FREE = {"progress", "on_event", "on_done", "observers", "name", "experiment", "label", "desc", "spec", "kind",
        "source", "where", "units", "op", "path", "arch", "weights_path", "resume_from", "log", "info", "extra",
        "config", "mvm", "mvm_options", "rng", "args", "kwargs", "options", "more", "table", "inputs", "layers",
        "input_shape", "input_quant", "factory", "scheme", "dead", "tables", "parameters", "board_snapshot",
        "record", "journal", "stores", "meta", "calls", "ops", "error", "response", "capabilities", "limits",
        "request", "req", "placement", "mapping", "model", "rbm", "chip_rbm", "matrices", "cores"}
ARRAY_NAMES = {"core", "row", "col", "rows", "cols", "target_s", "weights", "x", "x_cal", "g", "g_s", "images",
               "labels", "w_x", "w_h", "bias", "W", "a", "b", "v_in_v", "v_pulse", "width_s", "v_gate", "offsets",
               "g_target_s", "g_measured_s"}


def _hint(param: inspect.Parameter) -> str:
    a = param.annotation
    return "" if a is inspect.Parameter.empty else (a if isinstance(a, str) else getattr(a, "__name__", str(a)))


def kind_of(param: inspect.Parameter) -> str | None:
    """``"flag"``, ``"count"``, ``"number"``, ``"mapping"``, ``"array"``, ``"board"`` or None (not generated)."""
    name, hint, default = param.name, _hint(param), param.default
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name in FREE or name == "self":
        return None
    if name == "board":
        return "board"
    if hint.startswith("bool") or isinstance(default, bool):
        return "flag"
    if hint.startswith("int") or (isinstance(default, int) and not isinstance(default, bool)):
        return "count"
    if hint.startswith("float") or isinstance(default, float):
        return "number"
    if hint.startswith("dict"):
        return "mapping"
    if name in ARRAY_NAMES:
        return "array"
    return None


def optional(param: inspect.Parameter) -> bool:
    """None is a documented value of this parameter (its default, or ``| None`` in its hint)."""
    return param.default is None or "None" in _hint(param)


_text = st.text(alphabet="abcxyz-_ ", min_size=1, max_size=6)
_fraction = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda f: not float(f).is_integer())


def bad_values(kind: str, param: inspect.Parameter) -> st.SearchStrategy:
    """A strategy of values that ``param`` (of ``kind``) must refuse with a typed error."""
    none = st.nothing() if optional(param) else st.none()
    if kind == "flag":
        return st.one_of(st.sampled_from(["yes", "no", "true", "False", ""]), st.integers(2, 100), _fraction,
                         st.just(NAN), none)
    if kind == "count":
        return st.one_of(_fraction, st.sampled_from([NAN, INF, -INF, "3", True, -(10**30)]), _text,
                         st.just(1 + 2j), none)
    if kind == "number":
        return st.one_of(st.sampled_from([NAN, INF, -INF, "1.0", True, False, 1 + 2j]), _text,
                         st.just([1.0, 2.0]) if param.name not in ARRAY_NAMES else st.nothing(), none)
    if kind == "mapping":
        return st.one_of(st.floats(allow_nan=True), _text, st.lists(st.integers(), max_size=3))
    if kind == "array":
        return st.one_of(_text, st.just([[1, 2], [3]]), st.just([NAN]), st.just([INF]), st.just({"a": 1}),
                         st.just(object()), none)
    if kind == "board":
        return st.one_of(_text, st.integers(), st.just(None), st.just(object()))
    raise ValueError(kind)


def named(message: str, param: inspect.Parameter, value) -> bool:
    """The error message names the parameter (or an alias of it) or the value."""
    m = message.lower()
    stems = {param.name.lower(), param.name.lower().rstrip("s"), param.name.lower().split("_")[0]}
    if any(s and s in m for s in stems):
        return True
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001
        return False
    return len(r) < 40 and r.lower() in m or (isinstance(value, float) and math.isnan(value) and "nan" in m)
