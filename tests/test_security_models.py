"""Security regressions, model files: a model file is data, and loading it never runs code.

Trust is by exact type: a gadget hidden in a model tracked the normal way is
refused by name before anything of it runs, directly or through a drift
check. Legitimate models and trees: test_security_legitimate.py. Add a new
headed section rather than editing another one.
"""

from __future__ import annotations

import functools
import io
import json
import operator
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_nb
from mlops_nb import registry
from mlops_nb.errors import InvalidInputError, UntrustedModelError
from mlops_nb.registry import serialization

# -- model files: exact-type trust --
#
# A model file is data, but loading it builds objects: whatever type or
# function a node of the skops file names is imported and, for most node
# kinds, called. Each gadget below hides code in a model tracked the normal
# way (``mlops_nb.track``, or a skops file rewritten at the moment tracking
# writes it) and proves that loading it, directly or through a drift check,
# refuses the file by name before anything runs.

NUMPY_EXEC = "numpy.testing._private.utils"  # home of runstring/measure, which exec code
SKLEARN_SCRIPT = "sklearn.utils._testing.assert_run_python_script_without_output"


def _frame(rows: int = 80, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    return X, pd.Series((X["a"] + 0.3 * X["b"] > 0).astype("int64"), name="y")


def _logreg() -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = _frame()
    return LogisticRegression().fit(X, y)


def _impostor(module: str, name: str, base: type = object, **attrs: Any) -> type:
    """A class that skops will write down as ``module.name``: the name a gadget borrows."""
    cls = type(name, (base,), attrs)
    cls.__module__ = module
    cls.__qualname__ = name
    return cls


def _writes(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"


def _with(attr: str, value: Any) -> Any:
    """A fitted logistic regression that carries ``value`` in its fitted state."""
    model = _logreg()
    setattr(model, attr, value)
    return model


def _constructor_gadget(module: str, name: str, args: Callable[[Path], tuple]) -> Callable:
    """An object skops saves as "call ``module.name`` with ``args``" (its ``__reduce__``)."""

    def build(marker: Path) -> Any:
        cls = _impostor(module, name)
        cls.__reduce__ = lambda self: (type(self), args(marker))  # type: ignore[method-assign]
        return _with("gadget_", cls())

    return build


def _key_type_gadget(module: str, name: str) -> Callable:
    """A dict whose key type is ``module.name``: loading calls it on the key (the code)."""

    def build(marker: Path) -> Any:
        key_type = _impostor(module, name, str)
        return _with("lookup_", {key_type(_writes(marker)): 1})

    return build


def _sparse(marker: Path) -> tuple:
    from scipy.sparse import csr_matrix

    return (str(marker), csr_matrix(np.eye(2)))


def _nodes(state: Any):
    """Every node (a dict with ``__loader__``) of a skops schema, depth first."""
    if isinstance(state, dict):
        if "__loader__" in state:
            yield state
        for value in state.values():
            yield from _nodes(value)
    elif isinstance(state, list):
        for value in state:
            yield from _nodes(value)


def _rewrite(blob: bytes, edit: Callable[[dict], None]) -> bytes:
    """The same skops file with ``schema.json`` edited by hand."""
    source = zipfile.ZipFile(io.BytesIO(blob))
    schema = json.loads(source.read("schema.json"))
    edit(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = json.dumps(schema) if info.filename == "schema.json" else source.read(info)
            target.writestr(info, data)
    return out.getvalue()


def _node(schema: dict, cls: str, loader: str = "ObjectNode") -> dict:
    return next(n for n in _nodes(schema) if n["__class__"] == cls and n["__loader__"] == loader)


def _scaled_logreg(marker: Path) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(*_frame())


def _scaler_as_function(blob: bytes, marker: Path) -> bytes:
    def edit(schema: dict) -> None:
        node = _node(schema, "StandardScaler")
        for key in set(node) - {"__class__", "__module__", "__id__"}:
            del node[key]
        node["__loader__"] = "FunctionNode"

    return _rewrite(blob, edit)


def _scaler_as_method(blob: bytes, marker: Path) -> bytes:
    def edit(schema: dict) -> None:
        node = _node(schema, "StandardScaler")
        original = dict(node)
        node.clear()
        node.update(
            __class__=original["__class__"],
            __module__=original["__module__"],
            __loader__="MethodNode",
            content={"func": "fit", "obj": original},
        )

    return _rewrite(blob, edit)


def _key_type_function(blob: bytes, marker: Path) -> bytes:
    """A hand-written function node as a dict's key type: called on the key while loading."""

    def edit(schema: dict) -> None:
        state = _node(schema, "LogisticRegression")["content"]
        state["key_types"]["content"][0] = {
            "__class__": "measure",
            "__module__": NUMPY_EXEC,
            "__loader__": "FunctionNode",
        }
        first, *rest = state["content"].items()
        state["content"] = {_writes(marker): first[1], **dict(rest)}

    return _rewrite(blob, edit)


def _bit_generator_seed(blob: bytes, marker: Path) -> bytes:
    """A random generator whose bit generator "class" is the function numpy.random.seed."""

    def edit(schema: dict) -> None:
        node = _node(schema, "Generator", "RandomGeneratorNode")
        name = node["content"]["bit_generator"]["content"]["bit_generator"]
        name["content"] = json.dumps("seed")

    return _rewrite(blob, edit)


def _hgb(marker: Path) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=5).fit(*_frame())


def _agglomerated(marker: Path) -> Any:
    from sklearn.cluster import FeatureAgglomeration
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(FeatureAgglomeration(n_clusters=1), LogisticRegression()).fit(*_frame())


def _protocol_0_function(blob: bytes, marker: Path) -> bytes:
    """Protocol 0 named a function in the node's content: the reader that old files get."""

    def edit(schema: dict) -> None:
        schema["protocol"] = 0
        node = _node(schema, "mean", "FunctionNode")
        node["content"] = {"module_path": NUMPY_EXEC, "function": "runstring"}

    return _rewrite(blob, edit)


class SetstateRunsCode:
    """Writes the marker it was given the moment it is unpickled or rebuilt."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).write_text("ran")
        self.__dict__.update(state)


def _fake_builtin(name: str) -> Any:
    def stand_in(*args: Any) -> None:
        return None

    stand_in.__module__, stand_in.__name__, stand_in.__qualname__ = "builtins", name, name
    return stand_in


def _transformer_then_logreg(func: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(func), LogisticRegression())


def _methodcaller(marker: Path) -> Any:
    # transform(X) runs X.to_csv(marker) on every prediction, e.g. in a drift check
    model = _transformer_then_logreg(operator.methodcaller("to_csv", str(marker)))
    X, y = _frame()
    model.steps[1][1].fit(X, y)
    model.steps[0][1].fit(X)
    return model


def _attrgetter(marker: Path) -> Any:
    return _with("getter_", operator.attrgetter("__init__.__globals__"))


@dataclass(frozen=True)
class Gadget:
    id: str
    refused: str
    build: Callable[[Path], Any]
    craft: Callable[[bytes, Path], bytes] | None = None


GADGETS = [
    # the reported attack: a numpy testing helper that runs exec, called as a "constructor"
    Gadget(
        "numpy-runstring-constructor",
        f"{NUMPY_EXEC}.runstring",
        _constructor_gadget(NUMPY_EXEC, "runstring", lambda m: (_writes(m), {})),
    ),
    # a trusted-prefix *function* used where a key type (a class) is called
    Gadget(
        "numpy-measure-key-type", f"{NUMPY_EXEC}.measure", _key_type_gadget(NUMPY_EXEC, "measure")
    ),
    Gadget("builtins-eval-key-type", "builtins.eval", _key_type_gadget("builtins", "eval")),
    Gadget(
        "sklearn-testing-runs-a-script",
        SKLEARN_SCRIPT,
        _constructor_gadget(*SKLEARN_SCRIPT.rsplit(".", 1), lambda m: (_writes(m),)),
    ),
    Gadget(
        "scipy-sparse-save-npz",
        "scipy.sparse._matrix_io.save_npz",
        _constructor_gadget("scipy.sparse._matrix_io", "save_npz", _sparse),
    ),
    # functions referenced, not called, by the loader: still named, never trusted by prefix
    Gadget(
        "numpy-runstring-function",
        f"{NUMPY_EXEC}.runstring",
        lambda m: _with("helper_", np.testing._private.utils.runstring),
    ),
    Gadget(
        "builtins-exec-function",
        "builtins.exec",
        lambda m: _with("helper_", _fake_builtin("exec")),
    ),
    Gadget(
        "partial-of-a-numpy-exec-helper",
        f"{NUMPY_EXEC}.runstring",
        lambda m: _with("helper_", functools.partial(np.testing._private.utils.runstring, "")),
    ),
    Gadget("operator-methodcaller", "operator.methodcaller", _methodcaller),
    Gadget("operator-attrgetter", "operator.attrgetter", _attrgetter),
    Gadget(
        "bound-method-of-a-trusted-type",
        "sklearn.preprocessing._data.StandardScaler.inverse_transform",
        lambda m: _with("helper_", _scaled_logreg(m).steps[0][1].inverse_transform),
    ),
    Gadget(
        "setstate-runs-code",
        f"{SetstateRunsCode.__module__}.SetstateRunsCode",
        lambda m: _with("hook_", SetstateRunsCode(m)),
    ),
    # hand-edited schema.json: a trusted type's name on a node of another kind
    Gadget(
        "trusted-type-as-function-node",
        "sklearn.preprocessing._data.StandardScaler",
        _scaled_logreg,
        _scaler_as_function,
    ),
    Gadget(
        "trusted-type-as-method-node",
        "sklearn.preprocessing._data.StandardScaler.fit",
        _scaled_logreg,
        _scaler_as_method,
    ),
    Gadget(
        "function-node-as-key-type",
        f"{NUMPY_EXEC}.measure",
        lambda m: _logreg(),
        _key_type_function,
    ),
    Gadget("bit-generator-not-a-class", "numpy.random.seed", _hgb, _bit_generator_seed),
    Gadget("protocol-0-function", f"{NUMPY_EXEC}.runstring", _agglomerated, _protocol_0_function),
]


def _track_gadget(store, monkeypatch, gadget: Gadget, marker: Path) -> str:
    """Track the gadget's model the normal way; return the model's name."""
    model, real_dump = gadget.build(marker), serialization.dump
    X, y = _frame()
    with monkeypatch.context() as patch:
        if gadget.craft is not None:
            crafted = gadget.craft
            patch.setattr(serialization, "dump", lambda m, f: crafted(real_dump(m, f), marker))
        with mlops_nb.track("gadget", store=store, model=model, data=X, target=y):
            pass
    # a gadget that acts on prediction already ran in the attacker's own process, while
    # tracking profiled the model's outputs; what matters is the victim's process
    marker.unlink(missing_ok=True)
    return "gadget"


@pytest.mark.parametrize("gadget", GADGETS, ids=[g.id for g in GADGETS])
def test_gadget_is_refused_by_name_before_it_runs(store, db_rows, tmp_path, monkeypatch, gadget):
    marker = tmp_path / "ran.npz"  # save_npz appends .npz to any other name
    name = _track_gadget(store, monkeypatch, gadget, marker)
    with pytest.raises(UntrustedModelError) as info:
        mlops_nb.load_model(name, store=store)
    assert gadget.refused in info.value.types, info.value.types
    assert gadget.refused in str(info.value)
    assert not marker.exists()
    before = db_rows()
    with pytest.raises(UntrustedModelError) as info:
        mlops_nb.check_drift(name, _frame(30, seed=1)[0], store=store)
    assert gadget.refused in info.value.types
    assert not marker.exists()
    assert db_rows() == before  # no drift check, alert or event half-recorded


@pytest.mark.parametrize("gadget", GADGETS, ids=[g.id for g in GADGETS])
def test_drift_check_command_refuses_the_gadget_with_exit_5(
    store, tmp_path, monkeypatch, capsys, gadget
):
    from mlops_nb.cli import main

    marker = tmp_path / "ran.npz"
    name = _track_gadget(store, monkeypatch, gadget, marker)
    batch = tmp_path / "batch.csv"
    _frame(30, seed=1)[0].to_csv(batch, index=False)
    capsys.readouterr()
    code = main(["drift", "check", name, str(batch)])
    err = capsys.readouterr().err
    assert code == 5, err
    assert gadget.refused in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not marker.exists()


def test_installed_mlops_nb_refuses_the_reported_gadget(cli, store, tmp_path, monkeypatch):
    """The reported attack, through the real entry point in a fresh process."""
    gadget, marker, batch = GADGETS[0], tmp_path / "ran", tmp_path / "batch.csv"
    name = _track_gadget(store, monkeypatch, gadget, marker)
    _frame(30, seed=1)[0].to_csv(batch, index=False)
    result = cli("drift", "check", name, str(batch), "--json")
    assert result.code == 5, (result.code, result.out, result.err)
    assert gadget.refused in result.err and result.out == ""
    assert not marker.exists()
    trusted = cli("drift", "check", name, str(batch), "--trust", gadget.refused)
    assert trusted.code == 5 and "not a class" in trusted.err  # named, yet never called
    assert not marker.exists()


CALLED_WHILE_LOADING = [g for g in GADGETS if g.id.endswith(("-constructor", "-key-type"))]


@pytest.mark.parametrize("gadget", CALLED_WHILE_LOADING, ids=[g.id for g in CALLED_WHILE_LOADING])
def test_a_function_trusted_by_name_is_still_never_called_by_the_loader(
    store, tmp_path, monkeypatch, gadget
):
    marker = tmp_path / "ran"
    name = _track_gadget(store, monkeypatch, gadget, marker)
    with pytest.raises(UntrustedModelError, match="not a class") as info:
        mlops_nb.load_model(name, store=store, trusted=[gadget.refused])
    assert info.value.types == [gadget.refused]
    assert not marker.exists()


@pytest.mark.parametrize("prefix", ["lightgbm.", "numpy.", "sklearn.*", "numpy.testing.*", "*"])
def test_prefixes_are_refused_everywhere(store, monkeypatch, prefix):
    with pytest.raises(InvalidInputError, match="exact"):
        mlops_nb.trust(prefix)
    with mlops_nb.track("plain", store=store, model=_logreg()):
        pass
    with pytest.raises(InvalidInputError, match="exact"):
        mlops_nb.load_model("plain", store=store, trusted=[prefix])
    monkeypatch.setenv("MLOPS_NB_TRUSTED_TYPES", f"sklearn.linear_model.Ridge,{prefix}")
    with pytest.raises(InvalidInputError, match="MLOPS_NB_TRUSTED_TYPES"):
        mlops_nb.load_model("plain", store=store)


@pytest.mark.parametrize("bad", ["numpy.log1p", True, None, 3, [""], ["numpy log1p"], [1]])
def test_trusted_must_be_a_list_of_exact_names(store, bad):
    with mlops_nb.track("plain", store=store, model=_logreg()):
        pass
    with pytest.raises(InvalidInputError, match="trusted"):
        mlops_nb.load_model("plain", store=store, trusted=bad)


def test_functions_a_user_passed_must_be_named_exactly(store, monkeypatch):
    from sklearn.preprocessing import FunctionTransformer

    X, y = _frame()
    model = _transformer_then_logreg(np.log1p).fit(X.abs(), y)
    with mlops_nb.track("logs", store=store, model=model):
        pass
    with pytest.raises(UntrustedModelError) as info:
        mlops_nb.load_model("logs", store=store)
    assert info.value.types == ["numpy.log1p"]
    assert "mlops_nb.trust" in str(info.value)
    loaded = mlops_nb.load_model("logs", store=store, trusted=["numpy.log1p"])
    assert isinstance(loaded.steps[0][1], FunctionTransformer)
    assert (loaded.predict(X.abs()) == model.predict(X.abs())).all()
    monkeypatch.setenv("MLOPS_NB_TRUSTED_TYPES", " numpy.log1p ")
    assert mlops_nb.load_model("logs", store=store).steps[0][1].func is np.log1p
    monkeypatch.delenv("MLOPS_NB_TRUSTED_TYPES")
    from mlops_nb.registry import trust as trust_module

    monkeypatch.setattr(trust_module, "_user_trusted", set())
    mlops_nb.trust("numpy.log1p")
    assert mlops_nb.load_model("logs", store=store).steps[0][1].func is np.log1p


def test_a_class_the_user_names_loads_and_its_neighbours_do_not(store, tmp_path):
    marker = tmp_path / "ran"
    with mlops_nb.track("named", store=store, model=_with("hook_", SetstateRunsCode(marker))):
        pass
    name = f"{SetstateRunsCode.__module__}.SetstateRunsCode"
    for near in (f"{name}X", name.rsplit(".", 1)[0] + ".Other", f"{name}.__setstate__"):
        with pytest.raises(UntrustedModelError):
            mlops_nb.load_model("named", store=store, trusted=[near])
    assert not marker.exists()
    loaded = mlops_nb.load_model("named", store=store, trusted=[name])
    assert isinstance(loaded.hook_, SetstateRunsCode)
    assert marker.read_text() == "ran"  # trusted by its exact name, it is rebuilt as asked


# allow_pickle and the other security switches take a real bool, nothing truthy


class Pickled:
    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize("flag", ["False", "false", "True", "no", 0, 1, None, np.True_, [True]])
def test_allow_pickle_takes_a_real_bool(store, flag):
    with mlops_nb.track("pickled", store=store, model=Pickled(), serializer="pickle"):
        pass
    blob = store.get_artifact(store.get_version("pickled", 1).artifact_sha256)
    calls = [
        lambda: mlops_nb.load_model("pickled", store=store, allow_pickle=flag),
        lambda: registry.load_model("pickled", store, allow_pickle=flag),
        lambda: serialization.load(blob, "pickle", allow_pickle=flag),
        lambda: mlops_nb.check_drift("pickled", _frame()[0], store=store, allow_pickle=flag),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="allow_pickle must be True or False"):
            call()
    with pytest.raises(UntrustedModelError, match="allow_pickle=True"):
        mlops_nb.load_model("pickled", store=store, allow_pickle=False)
    assert isinstance(mlops_nb.load_model("pickled", store=store, allow_pickle=True), Pickled)


# -- model files: a loaded model is reused only under the same trust -----------------


def test_a_model_loaded_with_extra_trust_is_not_reused_without_it(store):
    """Drift checks keep loaded models per process; the trust given is part of the key."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = pd.DataFrame({"a": np.linspace(1, 50, 200), "b": np.linspace(2, 9, 200)})
    labels = (frame["a"] > 25).astype(int)
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(frame, labels)
    with mlops_nb.track("logged", store=store, model=model, data=frame, target=labels):
        pass
    report = mlops_nb.check_drift("logged", frame, store=store, trusted=["numpy.log1p"])
    assert not any("model not loaded" in note for note in report.notes)
    with pytest.raises(UntrustedModelError, match="numpy.log1p"):
        mlops_nb.check_drift("logged", frame, store=store)
