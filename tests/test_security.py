"""Security regressions: each section pins one class of attack shut.

Sections are owned by the change that added them; add a new headed section
rather than editing another one.
"""

from __future__ import annotations

import functools
import io
import json
import operator
import os
import re
import socket
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import mlops_nb
from mlops_nb import registry
from mlops_nb.errors import IntegrityError, InvalidInputError, UntrustedModelError
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


# legitimate models still load, with nothing named


def _classification(rows: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = np.abs(rng.normal(size=(rows, 4)))
    return X, (X[:, 0] + X[:, 1] > 1.6).astype(int)


def _sweep() -> list[tuple[str, Callable[[], Any]]]:
    """Estimators of every family, fitted on a small array with their usual options."""
    from sklearn import (
        calibration,
        cluster,
        compose,
        covariance,
        decomposition,
        discriminant_analysis,
        dummy,
        ensemble,
        feature_selection,
        gaussian_process,
        impute,
        kernel_approximation,
        linear_model,
        manifold,
        mixture,
        model_selection,
        multiclass,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    lr, ridge = linear_model.LogisticRegression, linear_model.Ridge
    return [
        ("LogisticRegression", lr),
        ("LinearRegression", linear_model.LinearRegression),
        ("Ridge", ridge),
        ("Lasso", linear_model.Lasso),
        ("ElasticNetCV", lambda: linear_model.ElasticNetCV(cv=2)),
        ("SGDClassifier", linear_model.SGDClassifier),
        ("SGDRegressor", linear_model.SGDRegressor),
        ("Perceptron", linear_model.Perceptron),
        ("TweedieRegressor", linear_model.TweedieRegressor),
        ("PoissonRegressor", linear_model.PoissonRegressor),
        ("HuberRegressor", linear_model.HuberRegressor),
        ("QuantileRegressor", linear_model.QuantileRegressor),
        ("RANSACRegressor", lambda: linear_model.RANSACRegressor(random_state=0)),
        ("LogisticRegressionCV", lambda: linear_model.LogisticRegressionCV(cv=2)),
        ("DecisionTreeClassifier", tree.DecisionTreeClassifier),
        ("ExtraTreeRegressor", tree.ExtraTreeRegressor),
        ("RandomForestClassifier", lambda: ensemble.RandomForestClassifier(20)),
        ("RandomForestRegressor", lambda: ensemble.RandomForestRegressor(10)),
        ("ExtraTreesClassifier", lambda: ensemble.ExtraTreesClassifier(10)),
        (
            "GradientBoostingClassifier",
            lambda: ensemble.GradientBoostingClassifier(n_estimators=10),
        ),
        ("GradientBoostingRegressor", lambda: ensemble.GradientBoostingRegressor(n_estimators=10)),
        (
            "HistGradientBoostingClassifier",
            lambda: ensemble.HistGradientBoostingClassifier(max_iter=10),
        ),
        (
            "HistGradientBoostingRegressor",
            lambda: ensemble.HistGradientBoostingRegressor(max_iter=10),
        ),
        ("AdaBoostClassifier", lambda: ensemble.AdaBoostClassifier(n_estimators=5)),
        ("BaggingClassifier", lambda: ensemble.BaggingClassifier(n_estimators=5, max_features=0.5)),
        ("IsolationForest", lambda: ensemble.IsolationForest(n_estimators=10, random_state=0)),
        (
            "VotingClassifier",
            lambda: ensemble.VotingClassifier(
                [("lr", lr()), ("nb", naive_bayes.GaussianNB())], voting="soft"
            ),
        ),
        (
            "StackingRegressor",
            lambda: ensemble.StackingRegressor(
                [("ridge", ridge()), ("tree", tree.DecisionTreeRegressor())], cv=2
            ),
        ),
        ("KMeans", lambda: cluster.KMeans(3, n_init=2, random_state=0)),
        ("KMeansElkan", lambda: cluster.KMeans(3, n_init=2, algorithm="elkan", random_state=0)),
        ("MiniBatchKMeans", lambda: cluster.MiniBatchKMeans(3, n_init=2, random_state=0)),
        ("BisectingKMeans", lambda: cluster.BisectingKMeans(3, random_state=0)),
        ("FeatureAgglomeration", lambda: cluster.FeatureAgglomeration(2)),
        ("PCA", lambda: decomposition.PCA(2)),
        ("TruncatedSVD", lambda: decomposition.TruncatedSVD(2)),
        ("NMF", lambda: decomposition.NMF(2, max_iter=1000, random_state=0)),
        ("KernelPCA", lambda: decomposition.KernelPCA(2)),
        ("Isomap", lambda: manifold.Isomap(n_components=2)),
        ("LinearDiscriminantAnalysis", discriminant_analysis.LinearDiscriminantAnalysis),
        ("QuadraticDiscriminantAnalysis", discriminant_analysis.QuadraticDiscriminantAnalysis),
        ("GaussianNB", naive_bayes.GaussianNB),
        ("MultinomialNB", naive_bayes.MultinomialNB),
        ("KNeighborsClassifier", neighbors.KNeighborsClassifier),
        ("KNeighborsBallTree", lambda: neighbors.KNeighborsRegressor(algorithm="ball_tree")),
        ("NearestNeighbors", neighbors.NearestNeighbors),
        ("LocalOutlierFactor", lambda: neighbors.LocalOutlierFactor(novelty=True)),
        ("NearestCentroid", neighbors.NearestCentroid),
        ("SVC", lambda: svm.SVC(probability=True, random_state=0)),
        ("LinearSVC", svm.LinearSVC),
        ("SVR", svm.SVR),
        ("OneClassSVM", svm.OneClassSVM),
        ("MLPClassifier", lambda: neural_network.MLPClassifier((5,), max_iter=50, random_state=0)),
        (
            "MLPRegressorSGD",
            lambda: neural_network.MLPRegressor(
                hidden_layer_sizes=(5,), solver="sgd", max_iter=50, random_state=0
            ),
        ),
        ("GaussianProcessRegressor", gaussian_process.GaussianProcessRegressor),
        ("GaussianProcessClassifier", gaussian_process.GaussianProcessClassifier),
        ("GaussianMixture", lambda: mixture.GaussianMixture(2, random_state=0)),
        ("EllipticEnvelope", lambda: covariance.EllipticEnvelope(random_state=0)),
        ("DummyClassifier", dummy.DummyClassifier),
        ("CalibratedClassifierCV", lambda: calibration.CalibratedClassifierCV(cv=2)),
        (
            "CalibratedIsotonic",
            lambda: calibration.CalibratedClassifierCV(lr(), method="isotonic", cv=2),
        ),
        ("OneVsRestClassifier", lambda: multiclass.OneVsRestClassifier(lr())),
        ("OutputCodeClassifier", lambda: multiclass.OutputCodeClassifier(lr(), random_state=0)),
        ("GridSearchCV", lambda: model_selection.GridSearchCV(lr(), {"C": [0.1, 1.0]}, cv=2)),
        (
            "GridSearchCVScoredByName",
            lambda: model_selection.GridSearchCV(lr(), {"C": [1.0]}, cv=2, scoring="roc_auc"),
        ),
        (
            "TunedThresholdClassifierCV",
            lambda: model_selection.TunedThresholdClassifierCV(lr(), cv=2),
        ),
        ("SelectKBest", lambda: feature_selection.SelectKBest(k=2)),
        ("SelectPercentile", feature_selection.SelectPercentile),
        ("RFE", lambda: feature_selection.RFE(lr(), n_features_to_select=2)),
        ("VarianceThreshold", feature_selection.VarianceThreshold),
        ("SelectFromModel", lambda: feature_selection.SelectFromModel(lr())),
        ("StandardScaler", preprocessing.StandardScaler),
        ("MinMaxScaler", preprocessing.MinMaxScaler),
        ("RobustScaler", preprocessing.RobustScaler),
        ("QuantileTransformer", lambda: preprocessing.QuantileTransformer(n_quantiles=20)),
        ("PowerTransformer", preprocessing.PowerTransformer),
        ("PolynomialFeatures", preprocessing.PolynomialFeatures),
        ("SplineTransformer", preprocessing.SplineTransformer),
        ("KBinsDiscretizer", lambda: preprocessing.KBinsDiscretizer(3)),
        ("OneHotEncoder", lambda: preprocessing.OneHotEncoder(handle_unknown="ignore")),
        ("Nystroem", lambda: kernel_approximation.Nystroem(n_components=10, random_state=0)),
        ("RBFSampler", lambda: kernel_approximation.RBFSampler(random_state=0)),
        ("SimpleImputer", impute.SimpleImputer),
        ("KNNImputer", impute.KNNImputer),
        (
            "ScalerThenLogisticRegression",
            lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), lr()),
        ),
        ("TransformedTargetRegressor", lambda: compose.TransformedTargetRegressor(ridge())),
        (
            "FeatureUnion",
            lambda: pipeline.make_union(decomposition.PCA(1), preprocessing.StandardScaler()),
        ),
    ]


def _fit(model: Any) -> tuple[Any, np.ndarray]:
    from sklearn.base import is_classifier, is_regressor

    X, y = _classification()
    if is_classifier(model):
        return model.fit(X, y), X
    if is_regressor(model):
        return model.fit(X, X[:, 0] * 2 + X[:, 1]), X
    return model.fit(X, y), X


def _outputs(model: Any, X: Any) -> list[np.ndarray]:
    from scipy import sparse

    out = []
    for method in ("predict", "predict_proba", "transform", "decision_function", "score_samples"):
        if hasattr(model, method):
            result = getattr(model, method)(X)
            out.append(result.toarray() if sparse.issparse(result) else np.asarray(result))
    if hasattr(model, "kneighbors"):
        out.extend(np.asarray(part) for part in model.kneighbors(X))
    return out


SWEEP = _sweep()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("factory", [f for _, f in SWEEP], ids=[n for n, _ in SWEEP])
def test_scikit_learn_models_round_trip_with_nothing_named(factory):
    model, X = _fit(factory())
    loaded = serialization.load(serialization.dump(model, "skops"), "skops")
    assert type(loaded) is type(model)
    expected, got = _outputs(model, X), _outputs(loaded, X)
    assert expected, "the sweep must compare at least one output"
    for before, after in zip(expected, got, strict=True):
        np.testing.assert_array_equal(before, after)


def _notebook_pipeline(X: pd.DataFrame, estimator: Any, scale: bool) -> Any:
    """The ColumnTransformer + one-hot pipelines of notebooks/train_*.ipynb."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = X.select_dtypes("number").columns.tolist()
    categorical = [c for c in X.columns if c not in numeric]
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    preprocess = ColumnTransformer(
        [
            ("categorical", one_hot, categorical),
            ("numeric", StandardScaler() if scale else "passthrough", numeric),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def test_the_projects_own_models_round_trip_through_the_registry(store):
    from models import churn_pipeline
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from mlops_nb.datasets import (
        PRICING_TARGET,
        make_churn,
        make_repair_jobs,
        pricing_feature_columns,
    )

    churn = make_churn(600, seed=2)
    X, y = churn.drop(columns=["churned"]), churn["churned"]
    jobs = make_repair_jobs(400, seed=2)
    J, price = jobs[pricing_feature_columns()], jobs[PRICING_TARGET]
    cases = [
        ("churn-logreg", churn_pipeline(X, y), X),
        ("churn-gbm", _notebook_pipeline(X, HistGradientBoostingClassifier(max_iter=20), True), X),
        ("pricing", _notebook_pipeline(J, HistGradientBoostingRegressor(max_iter=20), False), J),
    ]
    for name, model, frame in cases:
        model.fit(frame, y if frame is X else price)
        with mlops_nb.track(name, store=store, model=model, data=frame):
            pass
        loaded = mlops_nb.load_model(name, store=store)
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


# trees are trusted by type, so their node arrays are checked after loading


def _stump_forest(kind: str) -> Any:
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    X, y = _classification()
    make = {
        "tree": lambda: DecisionTreeClassifier(max_depth=3),
        "forest": lambda: RandomForestClassifier(5, max_depth=3, random_state=0),
        "boosting": lambda: GradientBoostingClassifier(n_estimators=3, max_depth=2),
        "hgb": lambda: HistGradientBoostingClassifier(max_iter=3, max_depth=3),
        "hgb-categorical": lambda: HistGradientBoostingClassifier(
            max_iter=3, categorical_features=[0]
        ),
    }[kind]
    if kind == "hgb-categorical":
        X = np.column_stack([(X[:, 0] * 3).astype(int) % 4, X[:, 1:]])
    return make().fit(X, y)


def _edit_tree(tree: Any, **changes: Any) -> None:
    """Rewrite a fitted tree's node array in place (never predict with it afterwards)."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    for field, (index, value) in changes.items():
        if field == "max_depth":
            state["max_depth"] = value
        else:
            nodes[field][index] = value
    tree.__setstate__({**state, "nodes": nodes})


def _first_split(nodes: Any, leaf_field: str) -> int:
    inner = nodes["left_child"] != -1 if leaf_field == "left_child" else nodes["is_leaf"] == 0
    return int(np.flatnonzero(inner)[0])


def _crafted_tree(kind: str, edit: str) -> Any:
    model = _stump_forest(kind)
    if kind.startswith("hgb"):
        predictor = model._predictors[0][0]
        nodes = predictor.nodes.copy()
        split = _first_split(nodes, "is_leaf")
        if edit == "child-outside":
            nodes["left"][split] = 10**6
        elif edit == "child-loops-back":
            nodes["right"][split] = split
        elif edit == "feature-outside":
            nodes["feature_idx"][split] = model.n_features_in_
        elif edit == "category-without-bitset":
            nodes["is_categorical"][split], nodes["bitset_idx"][split] = 1, 50
        predictor.nodes = nodes
        return model
    tree = (model if kind == "tree" else np.ravel(model.estimators_)[0]).tree_
    split = _first_split(tree.__getstate__()["nodes"], "left_child")
    if edit == "child-outside":
        _edit_tree(tree, left_child=(split, 10**6))
    elif edit == "child-loops-back":
        _edit_tree(tree, right_child=(split, split))
    elif edit == "feature-outside":
        _edit_tree(tree, feature=(split, tree.n_features))
    elif edit == "shallower-than-declared":
        _edit_tree(tree, max_depth=(None, 0))
    elif edit == "estimator-narrower-than-tree":
        model.n_features_in_ = 2  # X is checked against 2 columns, the trees read 4
    return model


CRAFTED_TREES = [
    (kind, edit)
    for kind in ("tree", "forest", "boosting")
    for edit in (
        "child-outside",
        "child-loops-back",
        "feature-outside",
        "shallower-than-declared",
        "estimator-narrower-than-tree",
    )
] + [
    ("hgb", "child-outside"),
    ("hgb", "child-loops-back"),
    ("hgb", "feature-outside"),
    ("hgb-categorical", "category-without-bitset"),
]


@pytest.mark.parametrize("kind, edit", CRAFTED_TREES, ids=[f"{k}-{e}" for k, e in CRAFTED_TREES])
def test_trees_that_point_outside_themselves_are_refused(kind, edit):
    blob = serialization.dump(_crafted_tree(kind, edit), "skops")
    with pytest.raises(IntegrityError, match="damaged or crafted"):
        serialization.load(blob, "skops")


def test_a_crafted_tree_is_refused_through_the_registry(store):
    with mlops_nb.track("crafted", store=store, model=_crafted_tree("forest", "child-outside")):
        pass
    with pytest.raises(IntegrityError, match="point outside the tree"):
        mlops_nb.load_model("crafted", store=store)


@pytest.mark.parametrize("kind", ["tree", "forest", "boosting", "hgb", "hgb-categorical"])
def test_untouched_trees_pass_the_check(kind):
    model = _stump_forest(kind)
    loaded = serialization.load(serialization.dump(model, "skops"), "skops")
    X = _classification()[0]
    if kind == "hgb-categorical":
        X = np.column_stack([(X[:, 0] * 3).astype(int) % 4, X[:, 1:]])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# -- input at the boundary --------------------------------------------------------
#
# User-supplied text reaches the store through the Python API, the magics, the
# CLI, the REST API and the widgets; all of them go through the core, which
# checks it once. Whatever is refused changes nothing; whatever is accepted
# keeps `audit verify` green and is never printed raw to a terminal.

ESC_LINE = "\x1b[2K\raudit log intact"  # would redraw the line as a fake verdict
NOT_TEXT = [42, 4.2, True, ["x"], {"a": 1}, b"bytes"]
STORABLE_ODDITIES = [
    "line one\nline two",
    ESC_LINE,
    "bell\x07 delete\x7f csi\x9b",
    "right-to-left \u202eevil",
    "line\u2028separator",
    "emoji 🚀 and combining e\u0301",
]


def _verified(store):
    from mlops_nb.store import audit

    result = audit.verify(store)
    assert result.ok, result.problem
    return result


def _raw_control(text):
    """Control characters a terminal would act on (newlines excluded)."""
    import unicodedata

    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


@pytest.fixture
def two_versions(store, fitted):
    from mlops_nb import tracking

    for auc in (0.9, 0.5):
        with tracking.track(store, "churn", model=fitted[0], metrics={"auc": auc}):
            pass
    _verified(store)
    return store


@pytest.mark.backends
@pytest.mark.parametrize("reason", NOT_TEXT, ids=lambda v: type(v).__name__)
def test_a_reason_that_is_not_text_is_refused_and_verify_stays_green(two_versions, reason):
    import mlops_nb
    from mlops_nb import registry
    from mlops_nb.errors import InvalidInputError

    store = two_versions
    with pytest.raises(InvalidInputError, match="reason must be text"):
        registry.promote(store, "churn", 1, reason=reason)
    with pytest.raises(InvalidInputError, match="reason must be text"):
        mlops_nb.promote("churn", 1, reason=reason, store=store)
    assert store.alias_holder("churn", "production") is None
    registry.promote(store, "churn", 1)
    registry.promote(store, "churn", 2)
    with pytest.raises(InvalidInputError, match="reason must be text"):
        registry.rollback(store, "churn", reason=reason)
    assert store.alias_holder("churn", "production").version == 2
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize(
    "column, value",
    [("reason", 42), ("reason", 1.5), ("reason", True), ("gate", 7), ("actor", 3)],
)
def test_the_store_refuses_a_value_it_would_keep_differently_from_its_event(
    two_versions, column, value
):
    """The root of the poisoning: SQLite keeps 42 in a text column as '42' while the
    event hashed 42, so verify saw a row "changed outside mlops-nb" (PostgreSQL
    refused the value with a driver error). The store now refuses such a value."""
    from mlops_nb.errors import InvalidInputError

    store = two_versions
    options = {"action": "promote", "actor": "alice", column: value}
    with pytest.raises(InvalidInputError, match=f"{column} must be text"):
        store.change_alias("churn", "production", 1, **options)
    assert store.alias_holder("churn", "production") is None
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("pid", "123", "pid must be a whole number"),
        ("pid", 2**70, "pid must be a whole number"),
        ("notebook_path", 5, "notebook_path must be text"),
        ("error", "nul \x00 inside", "NUL"),
        ("error", "half a pair \ud800", "not valid Unicode"),
    ],
)
def test_the_store_refuses_every_column_type_mismatch(store, field, value, message):
    from mlops_nb.errors import InvalidInputError

    fields = {
        "run_id": "f" * 32,
        "kind": "track",
        "name": "churn",
        "status": "running",
        "started_at": "2026-01-01T00:00:00.000000+00:00",
        field: value,
    }
    with pytest.raises(InvalidInputError, match=message):
        store.insert_run(fields, "alice")
    assert store.list_runs() == []
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize("reason", STORABLE_ODDITIES)
def test_any_text_the_store_accepts_verifies(two_versions, reason):
    from mlops_nb import registry

    store = two_versions
    change = registry.promote(store, "churn", 1, reason=reason)
    assert change.reason == reason  # kept exactly as given
    assert store.alias_changes("churn")[-1].reason == reason
    _verified(store)


@pytest.mark.parametrize(
    "reason, message",
    [
        ("x" * 10_001, "10001 characters long; at most 10000"),
        ("nul \x00 inside", "NUL"),
        ("half a pair \udcff", "not valid Unicode"),
    ],
    ids=["too long", "nul", "surrogate"],
)
def test_reasons_the_store_cannot_keep_are_refused(two_versions, reason, message):
    from mlops_nb import registry
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        registry.promote(two_versions, "churn", 1, reason=reason)
    assert two_versions.alias_holder("churn", "production") is None
    registry.promote(two_versions, "churn", 1, reason="x" * 10_000)  # the limit itself is fine
    _verified(two_versions)


@pytest.mark.parametrize(
    "actor, message",
    [
        (ESC_LINE, "control"),
        ("alice\nmallory", "control"),
        ("alice\u202e", "control"),
        ("alice\x00", "NUL"),
        (" alice", "surrounding spaces"),
        ("a" * 201, "at most 200"),
        (42, "actor must be text"),
    ],
    ids=["escape", "newline", "bidi", "nul", "spaces", "long", "int"],
)
def test_an_actor_with_control_characters_is_refused(two_versions, actor, message):
    from mlops_nb import registry
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        registry.promote(two_versions, "churn", 1, actor=actor)
    assert two_versions.alias_holder("churn", "production") is None
    _verified(two_versions)


@pytest.mark.parametrize("actor", [ESC_LINE, "alice\nmallory", " alice", "a" * 201, "bob\udcff"])
def test_mlops_nb_actor_with_control_characters_is_refused(cli, two_versions, actor):
    result = cli("promote", "churn", "1", env={"MLOPS_NB_ACTOR": actor})
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "MLOPS_NB_ACTOR" in result.err
    assert _raw_control(result.err) == []
    assert two_versions.alias_holder("churn", "production") is None
    _verified(two_versions)


@pytest.mark.parametrize(
    "tags, message",
    [
        ({"team": 42}, "tag 'team' must be text"),
        ({7: "x"}, "tag key must be text"),
        ({"te\x1bam": "x"}, "control"),
        ({"": "x"}, "empty"),
        ({"k" * 201: "x"}, "at most 200"),
        ({"team": "v" * 10_001}, "at most 10000"),
        (["team", "x"], "tags must be a mapping"),
    ],
    ids=["int value", "int key", "escape key", "empty key", "long key", "long value", "list"],
)
def test_tags_are_text_with_limits(store, fitted, tags, message):
    from mlops_nb import tracking
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        tracking.track(store, "churn", model=fitted[0], tags=tags)
    assert store.list_runs() == []
    _verified(store)


@pytest.mark.parametrize(
    "key, message",
    [(42, "key must be text"), ("a\x1bb", "control"), ("k" * 201, "at most 200")],
)
def test_recorded_value_keys_are_labels(two_versions, key, message):
    from mlops_nb import tracking
    from mlops_nb.errors import InvalidInputError

    run_id = two_versions.list_runs()[0].run_id
    with pytest.raises(InvalidInputError, match=message):
        tracking.record_value(two_versions, run_id, key, 1)
    _verified(two_versions)


@pytest.mark.parametrize(
    "batch, message", [(42, "batch label must be text"), ("b" * 201, "at most 200")]
)
def test_batch_labels_are_text_with_a_limit(two_versions, churn_data, batch, message):
    import mlops_nb
    from mlops_nb.errors import InvalidInputError

    X_train = churn_data[0]
    with pytest.raises(InvalidInputError, match=message):
        mlops_nb.check_drift("churn", X_train, batch=batch, store=two_versions)
    assert two_versions.drift_checks("churn") == []
    _verified(two_versions)


# Look-alike names: one name, one model.


@pytest.mark.backends
def test_nfd_and_nfc_spellings_are_one_model(store, fitted):
    import unicodedata

    import mlops_nb
    from mlops_nb import registry, tracking

    nfc, nfd = "café", unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    with tracking.track(store, nfc, model=fitted[0]):
        pass
    with tracking.track(store, nfd, model=fitted[0]) as second:
        pass
    assert [m["name"] for m in store.list_models()] == [nfc]
    assert second.version.model == nfc and second.version.version == 2
    assert [v.version for v in mlops_nb.versions(nfd, store=store)] == [1, 2]
    registry.promote(store, nfd, 2)
    assert registry.resolve(store, f"{nfd}@production").version == 2
    assert registry.which(store, f"{nfd}:1").model == nfc
    _verified(store)


@pytest.mark.parametrize(
    "name, scripts",
    [
        ("p\u0430yments", "Cyrillic and Latin"),  # Cyrillic а among Latin letters
        ("ch\u03c5rn", "Greek and Latin"),  # Greek upsilon
        ("\u0441hurn-2", "Cyrillic and Latin"),
        ("моdель", "Cyrillic and Latin"),
        ("αβγ-абв", "Cyrillic and Greek"),
    ],
)
def test_names_mixing_scripts_are_refused(store, fitted, name, scripts):
    from mlops_nb import tracking
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=f"mixes {scripts} letters"):
        tracking.track(store, name, model=fitted[0])
    assert store.list_models() == []
    _verified(store)


@pytest.mark.parametrize(
    "name",
    [
        "платежи",
        "модель-2 (№3)",
        "支払い予測",
        "チャーン予測",
        "churn予測",
        "이탈 예측",
        "Ünïcödé_naïve",
    ],
)
def test_names_in_one_script_stay_allowed(store, fitted, name):
    from mlops_nb import tracking

    with tracking.track(store, name, model=fitted[0]) as run:
        pass
    assert run.version.model == name
    _verified(store)


@pytest.mark.parametrize(
    "name",
    ["a\u2028b", "a\u200bb", "a\x1bb", "a\u202eb", "a\x85b"],
    # plain ids: a backslash in a test id (ids=repr) is not found again when the id
    # is passed back to pytest in the same process, as `make mutate` does
    ids=["line-separator", "zero-width-space", "escape", "right-to-left-override", "next-line"],
)
def test_names_with_invisible_or_control_characters_are_refused(store, fitted, name):
    from mlops_nb import tracking
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="may not contain"):
        tracking.track(store, name, model=fitted[0])
    assert store.list_models() == []


# Terminal output: user text is shown, never obeyed.


def test_records_render_control_characters_visibly(two_versions):
    from mlops_nb import registry

    change = registry.promote(two_versions, "churn", 1, reason=ESC_LINE + "\nline two")
    text = str(change)
    assert _raw_control(text) == []
    assert "\\x1b[2K\\raudit log intact\\nline two" in text
    # one line per field: the reason cannot draw a line of its own
    line = next(line for line in text.splitlines() if "line two" in line)
    assert line.lstrip().startswith("reason")
    _verified(two_versions)


def test_tables_render_control_characters_visibly():
    from mlops_nb.display import table_text

    text = table_text(
        [{"name": "m", "tags": {"k\x1b": "v\x1b[31m"}, "note": "a\nb\u202e"}],
        ["name", "tags", "note"],
    )
    assert _raw_control(text) == [] and text.count("\n") == 1
    assert "k\\x1b=v\\x1b[31m" in text and "a\\nb\\u202e" in text


def test_cli_text_output_never_carries_raw_escapes(cli, two_versions):
    from mlops_nb import tracking

    with tracking.track(
        two_versions,
        "churn",
        params={"note": ESC_LINE},
        tags={"owner": "\x1b]0;pwned\x07"},
        metrics={"auc\x1b[2K": 0.7},
        register=False,
    ) as run:
        pass
    promoted = cli("promote", "churn", "1", "--reason", ESC_LINE)
    assert promoted.code == 0, promoted.err
    for args in (
        ("runs",),
        ("show", run.run_id),
        ("versions", "churn"),
        ("which", "churn@production"),
        ("rollback", "churn", "--reason", "\x1b[31mred\x1b[0m"),
    ):
        result = cli(*args)
        assert _raw_control(result.out + result.err) == [], (args, result.out, result.err)
    shown = cli("which", "churn@production")
    assert "\\x1b[2K\\raudit log intact" in shown.out
    as_json = cli("show", run.run_id, "--json").json()  # JSON keeps the exact text
    assert as_json["params"]["note"] == ESC_LINE and as_json["tags"]["owner"] == "\x1b]0;pwned\x07"
    _verified(two_versions)


def test_cli_errors_quoting_user_input_are_neutralised(cli, two_versions, tmp_path):
    for code, args in (
        (2, ("versions", "\x1b[2Kchurn")),
        (2, ("promote", "churn", "1", "--alias", "\x1b[2K")),
        (2, ("promote", "churn", "1", "--require", "auc>0.5\x1b[2K")),
        (3, ("drift", "check", "churn", str(tmp_path / "no\x1b[2Khere.csv"))),
        (2, ("promote", "churn", "1", "--reason", "\udcff")),
    ):
        result = cli(*args)
        assert result.code == code, (args, result.err)
        assert result.err.count("\n") == 1 and _raw_control(result.err) == [], result.err
        assert "\\x1b" in result.err or "surrogate" in result.err
    assert two_versions.alias_holder("churn", "production") is None
    _verified(two_versions)


def test_a_tampered_actor_cannot_draw_on_the_terminal(cli, two_versions, raw_sql):
    from mlops_nb import registry

    registry.promote(two_versions, "churn", 1)
    raw_sql("update events set actor = :a where seq = 1", a=ESC_LINE)
    log = cli("audit", "log")
    assert log.code == 0 and _raw_control(log.out) == [] and "\\x1b[2K" in log.out
    verdict = cli("audit", "verify")
    assert verdict.code == 5 and "BROKEN" in verdict.out
    assert _raw_control(verdict.out + verdict.err) == []


# -- secrets and reports --------------------------------------------------------
#
# Credentials never appear in output, events or errors, whatever characters a
# password holds; an executed notebook's own HTML cannot run script in its report.


pytest_plugins = ["pytest_jupyter.jupyter_server"]  # jp_fetch: the REST API in a real server

# Passwords with every character that splits URLs differently in different
# parsers: SQLAlchemy cuts a password at the first '@', urlsplit (fsspec,
# urllib) ends the host part at '/', '?' or '#', and ':' separates a port.
PASSWORDS = [
    "Zx9/aQ+r7#k",
    "Qw@Er/Ty#Ui?Op",
    "pa?ss#wo/rd",
    "Sx:cr3t:Tail9",
    "Hu@nt@er22",
    "wörd/ümlaut#Sieben",
    "percent%41Sign",
]


def _pieces(secret: str) -> set[str]:
    """The secret and every part of it that a parser could put somewhere else."""
    return {p for p in [secret, *re.split(r"[/?#@:]", secret)] if len(p) >= 2}


def _leaked(text: str, secret: str) -> list[str]:
    """Parts of ``secret`` (as typed, decoded or percent-encoded) found in ``text``."""
    forms = _pieces(secret) | _pieces(quote(secret, safe=""))
    return sorted(p for p in forms if re.search(rf"(?<![\w%]){re.escape(p)}(?![\w%])", text))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("encode", [False, True], ids=["as-typed", "percent-encoded"])
def test_database_urls_are_masked_like_the_driver_reads_them(password, encode):
    from mlops_nb.store.location import mask_url

    typed = quote(password, safe="") if encode else password
    url = f"postgresql+psycopg://app:{typed}@db.example.com:5432/mlops?sslmode=require"
    shown = mask_url(url)
    assert not _leaked(shown, password), shown
    driver = sa.engine.make_url(url).password
    assert driver and driver not in shown
    if encode or "@" not in password:
        # The driver reads this URL as meant: everything but the password is shown.
        assert shown == "postgresql+psycopg://app:***@db.example.com:5432/mlops?sslmode=require"


@pytest.mark.parametrize("password", PASSWORDS)
def test_secret_query_parameters_are_masked(password):
    from mlops_nb.store.location import mask_url

    url = f"postgresql://app@h/d?application_name=x&password={quote(password, safe='')}"
    shown = mask_url(url)
    assert not _leaked(shown, password) and "application_name=x" in shown
    assert "password=***" in shown


@pytest.mark.parametrize(
    "password", ["Zx9/aQ+r7#k", "Qw@Er/Ty#Ui?Op", "Hu@nt@er22", "Sx:cr3t:Tail9"]
)
@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "nohost.invalid"])
def test_database_errors_on_the_command_line_keep_passwords_out(cli, password, host):
    url = f"postgresql://app:{password}@{host.format(port=_free_port())}/db?connect_timeout=5"
    result = cli("--db-url", url, "runs")
    assert result.code != 0 and result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-nb: error: "), result.err
    assert "internal error" not in result.err
    assert not _leaked(result.err, password), result.err


def test_scrubbed_messages_stay_readable():
    from mlops_nb.redaction import scrub, url_secrets

    secrets = url_secrets("postgresql://app:Hu@nt@er22@db/x", user_is_secret=False)
    said = "failed to resolve host 'nt@er22@db'; password authentication failed for user app"
    assert scrub(said, secrets) == (
        "failed to resolve host '***@***@db'; password authentication failed for user app"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["audit", "verify"],
        ["store", "copy", "--artifacts", "file:///nowhere"],
    ],
    ids=["init", "audit", "store-copy"],
)
def test_every_command_keeps_the_database_password_out(cli, tmp_path, command):
    password = "Qw@Er/Ty#Ui?Op"
    url = f"postgresql://app:{password}@127.0.0.1:{_free_port()}/db?connect_timeout=5"
    if command[0] == "store":
        assert cli("init").code == 0
        result = cli(*command[:2], "--to", url, *command[2:])
    else:
        result = cli("--home", str(tmp_path / "h"), "--db-url", url, *command)
    assert result.code != 0 and "internal error" not in result.err
    assert result.err.startswith("mlops-nb: error: ") and result.err.count("\n") == 1
    assert not _leaked(result.out + result.err, password), result.err


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


REST_PASSWORD = "Qw@Er/Ty#Ui?Op"


@pytest.fixture
def unreachable_database(home, monkeypatch):
    """A database URL with a password, set before the Jupyter server starts.

    The server resolves its store when the extension loads, so the variable
    must be there first: this fixture is requested ahead of ``jp_fetch`` (and
    after ``home``, which clears the variable for SQLite tests).
    """
    url = f"postgresql://app:{REST_PASSWORD}@127.0.0.1:{_free_port()}/db?connect_timeout=5"
    monkeypatch.setenv("MLOPS_NB_DB_URL", url)
    return url


async def test_rest_errors_keep_the_database_password_out(unreachable_database, jp_fetch):
    response = await jp_fetch("mlops-nb", "api", "models", raise_error=False)
    text = response.body.decode()
    assert response.code == 503 and not _leaked(text, REST_PASSWORD), text  # unavailable
    assert json.loads(text)["error"].startswith("cannot use the metadata database")


@pytest.mark.parametrize("url", ["postgresql://app:a@b:c@h/db", "postgresql://app:se:cr@t@h:x/db"])
def test_malformed_database_url_is_bad_input_without_its_password(cli, url):
    result = cli("--db-url", url, "runs")
    assert result.code == 2, result.err
    assert result.err.startswith("mlops-nb: error: ") and result.err.count("\n") == 1
    password = url.split("app:", 1)[1].rsplit("@", 1)[0]
    assert not _leaked(result.err, password), result.err


@pytest.mark.parametrize(
    "text",
    [
        "db_url: postgresql://app:Zx9aQr7k@h/db: x\n",
        "db_url: [postgresql://app:Zx9aQr7k@h/db\n",
        "artifacts: s3://AKIA:Zx9aQr7k@bucket\n\tdb_url: x\n",
    ],
)
def test_a_broken_config_file_is_reported_without_quoting_it(tmp_path, monkeypatch, text):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.store import Store

    monkeypatch.delenv("MLOPS_NB_DB_URL", raising=False)
    monkeypatch.delenv("MLOPS_NB_ARTIFACTS", raising=False)
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(InvalidInputError, match=r"config.yaml is not valid YAML \(line") as info:
        Store(tmp_path)
    assert "Zx9aQr7k" not in str(info.value)


def test_redacted_object_urls_hide_credentials_whatever_they_hold():
    from mlops_nb.store.artifacts import redact_url

    for password in PASSWORDS:
        for typed in (password, quote(password, safe="")):
            shown = redact_url(f"s3://AKIAEXAMPLE:{typed}@bucket/prefix?versionId=3")
            assert not _leaked(shown, password), shown
            assert "AKIAEXAMPLE" not in shown and shown.endswith("?versionId=3")
    assert redact_url("s3://bucket/models@v2/x") == "s3://bucket/models@v2/x"
    assert "tok3n" not in redact_url("https://host/p?X-Amz-Security-Token=tok3n&a=1")


def test_object_storage_errors_keep_credentials_out(tmp_path):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.store import Store

    for url in ("s3://AKIA:se/cr3t@bucket/p", "nosuchproto://user:Hu@nt@er22@bucket/p"):
        with pytest.raises(InvalidInputError) as info:
            Store(tmp_path / "h", artifacts=url)
        password = url.split(":", 2)[2].rsplit("@", 1)[0]
        assert not _leaked(str(info.value), password), str(info.value)


@pytest.fixture
def pg_secret_url(pg_url):
    """``pg_url`` with a password full of URL delimiters, written the way users type it.

    The test server trusts 127.0.0.1 and ignores passwords, so the store opens.
    """
    parsed = sa.engine.make_url(pg_url)
    password = "Zx9/aQ+r7#kX?"
    where = f"{parsed.host}:{parsed.port}/{parsed.database}"
    return f"postgresql://{parsed.username}:{password}@{where}", password


def test_store_repr_and_messages_hide_a_real_password(tmp_path, pg_secret_url):
    from mlops_nb.store import Store

    url, password = pg_secret_url
    store = Store(tmp_path / "team", db_url=url)
    assert store.backend == "postgresql"
    assert not _leaked(repr(store), password) and ":***@" in repr(store)
    assert not _leaked(store._where, password)
    store.close()


def test_store_copy_reports_its_target_without_credentials(tmp_path, pg_url, cli, home):
    parsed = sa.engine.make_url(pg_url)
    secret = "Qw3rty/Zx#9"
    target = (
        f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
        f"?password={quote(secret, safe='')}&application_name=copy"
    )
    assert cli("init").code == 0
    artifacts = (tmp_path / "objects").as_uri()
    text = cli("store", "copy", "--to", target, "--artifacts", artifacts)
    assert text.code == 0, text.err
    assert not _leaked(text.out + text.err, secret), text.out
    assert "password=***" in text.out


def test_alert_channel_with_credentials_in_its_url_is_refused(cli, home, db_rows):
    assert cli("init").code == 0
    before = db_rows()
    for url in (
        "https://hook:Zx9/aQ+r7#k@chat.example/hook",
        "https://chat.example/hook?token=Zx9aQr7k",
        "https://Zx9aQr7kTOKEN@chat.example/hook",
    ):
        result = cli("alerts", "add", "churn", "--webhook", url)
        assert result.code == 2, result.err
        assert "--webhook-env" in result.err and result.err.count("\n") == 1
        assert not _leaked(result.err, "Zx9/aQ+r7#k") and "Zx9aQr7k" not in result.err
    assert db_rows() == before  # nothing recorded


class _Hook:
    """A local HTTP endpoint that records what is posted to it."""

    def __init__(self):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers.get("Authorization"), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = _Hook()
    yield server
    server.close()


def test_webhook_secret_lives_in_the_environment_never_in_the_store(store, hook, monkeypatch):
    import base64

    from mlops_nb.monitoring import alerting

    secret = "Zx9/aQ+r7#k"
    url = f"http://bot:{quote(secret, safe='')}@127.0.0.1:{hook.port}/hooks/T0?token=abc123"
    monkeypatch.setenv("TEAM_HOOK", url)
    channel = alerting.add_channel(store, "*", "webhook", url_env="TEAM_HOOK")
    assert channel["config"] == {"url_env": "TEAM_HOOK"}
    alert = alerting.raise_alert(store, "drift", "churn", "churn drifted", "drift!", {})
    assert [d["ok"] for d in alert.deliveries] == [True], alert.deliveries
    path, auth, body = hook.received[0]
    assert path == "/hooks/T0?token=abc123" and json.loads(body)["text"] == "drift!"
    assert base64.b64decode(auth.split()[1]).decode() == f"bot:{secret}"
    recorded = json.dumps([e.to_json() for e in store.iter_events()]) + str(store.snapshot_tables())
    assert not _leaked(recorded, secret) and "abc123" not in recorded
    assert "TEAM_HOOK" in recorded  # which variable, so a reader knows where it goes


def test_webhook_env_must_name_a_set_variable(store, monkeypatch):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.monitoring import alerting

    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    with pytest.raises(InvalidInputError, match="NO_SUCH_HOOK"):
        alerting.add_channel(store, "*", "webhook", url_env="NO_SUCH_HOOK")
    monkeypatch.setenv("BAD_HOOK", "ftp://x")
    with pytest.raises(InvalidInputError, match="BAD_HOOK") as info:
        alerting.add_channel(store, "*", "webhook", url_env="BAD_HOOK")
    assert "ftp://x" not in str(info.value)  # the value may be a secret: never shown


def test_channels_recorded_with_credentials_before_are_masked_when_shown(
    store, cli, hook, monkeypatch
):
    from mlops_nb import environment
    from mlops_nb.monitoring import alerting

    secret = "Zx9/aQ+r7#k"
    bad = f"https://bot:{secret}@127.0.0.1:{_free_port()}/hook"  # nobody listens there
    good = f"http://bot:{quote(secret, safe='')}@127.0.0.1:{hook.port}/hook?sig=abc123"
    # As a store made before channels were checked holds them.
    for url in (bad, good):
        store.add_alert_channel(
            {"model": "*", "kind": "webhook", "config": {"url": url}, "created_at": "t"},
            environment.actor(),
        )
    alert = alerting.raise_alert(store, "drift", "churn", "churn drifted", "drift!", {})
    assert [d["ok"] for d in alert.deliveries] == [False, True], alert.deliveries
    assert hook.received and hook.received[0][1].startswith("Basic ")
    for args in (["alerts", "channels"], ["alerts", "channels", "--json"], ["alerts", "list"]):
        shown = cli(*args)
        assert shown.code == 0, shown.err
        assert not _leaked(shown.out, secret) and "abc123" not in shown.out, shown.out
    listed = json.dumps([a.to_json() for a in alerting.list_alerts(store)])
    # The delivery outcome recorded with the alert names the target without secrets.
    assert not _leaked(listed, secret) and "abc123" not in listed, listed


def test_default_email_sender_is_one_address(store, monkeypatch):
    from email.headerregistry import Address

    from mlops_nb.monitoring import alerting

    monkeypatch.delenv("MLOPS_NB_ACTOR", raising=False)
    monkeypatch.setattr("mlops_nb.environment._user_host", lambda: ("root", "build-7"))
    channel = alerting.add_channel(store, "*", "email", to="ops@example.com", smtp_host="h")
    sender = Address(addr_spec=channel["config"]["sender"])
    assert sender.domain == "build-7" and sender.username == "mlops-nb"
    monkeypatch.setenv("MLOPS_NB_ACTOR", "alice@example.com")
    channel = alerting.add_channel(store, "*", "email", to="ops@example.com", smtp_host="h")
    assert channel["config"]["sender"].count("@") == 1


@pytest.mark.parametrize(
    "options",
    [
        {"to": "ops@example.com", "sender": "a@b@c"},
        {"to": "x@y@z"},
        {"to": ["ops@example.com", "Bob <bob@example.com>\nBcc: all@example.com"]},
    ],
)
def test_email_addresses_must_each_be_one_address(store, options):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.monitoring import alerting

    with pytest.raises(InvalidInputError, match="address"):
        alerting.add_channel(store, "*", "email", smtp_host="h", **options)


def test_default_sender_is_accepted_by_a_real_smtp_server(store, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from mlops_nb.monitoring import alerting

    class Keep(Sink):
        def __init__(self):
            self.senders = []

        async def handle_DATA(self, server, session, envelope):
            self.senders.append(envelope.mail_from)
            return "250 OK"

    monkeypatch.delenv("MLOPS_NB_ACTOR", raising=False)
    monkeypatch.setattr("mlops_nb.environment._user_host", lambda: ("root", "build-7"))
    handler = Keep()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        alerting.add_channel(
            store, "*", "email", to="ops@example.com", smtp_host="127.0.0.1", smtp_port=port
        )
        alert = alerting.raise_alert(store, "drift", "churn", "s", "drift!", {})
    finally:
        controller.stop()
    assert [d["ok"] for d in alert.deliveries] == [True], alert.deliveries
    assert handler.senders == ["mlops-nb@build-7"]


def test_webhook_env_from_the_command_line(cli, home):
    assert cli("init").code == 0
    env = {"TEAM_HOOK": "https://bot:Zx9aQr7k@chat.example/hook"}
    added = cli("alerts", "add", "*", "--webhook-env", "TEAM_HOOK", "--json", env=env)
    assert added.code == 0, added.err
    assert added.json()["config"] == {"url_env": "TEAM_HOOK"}
    listed = cli("alerts", "channels", env=env)
    assert "TEAM_HOOK" in listed.out and "Zx9aQr7k" not in listed.out
    log = cli("audit", "log", "--json", env=env)
    assert "TEAM_HOOK" in log.out and "Zx9aQr7k" not in log.out


PNG_1X1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Erk"
    "Jggg=="
)


# What a notebook could print to act in whoever opens its report. ``{remote}``
# is a local server that records any request; ``#act`` is clicked.
ATTACKS = {
    "script": "<script>window.__ran = 'script'</script>",
    "onerror": "<img src='nothing' onerror=\"window.__ran = 'onerror'\">",
    "svg-onload": "<svg onload=\"window.__ran = 'svg'\"><circle r='1'/></svg>",
    "javascript-link": "<a id='act' href=\"javascript:void(window.__ran = 'link')\">click</a>",
    "meta-refresh": "<META HTTP-EQUIV='refresh' content='0;url=about:blank#moved'>",
    "iframe": "<iframe srcdoc=\"<script>parent.__ran = 'iframe'</script>\"></iframe>",
    "object": "<object data='{remote}/o.html'></object><embed src='{remote}/e.html'>",
    "remote-fetch": "<img src='{remote}/pixel.png'><link rel=stylesheet href='{remote}/s.css'>"
    "<div style=\"background:url('{remote}/bg.png')\">x</div>",
    "form": "<form action='{remote}/steal' method='post'><button id='act'>go</button></form>",
    "base": "<base href='{remote}/'><img src='relative.png'>",
    "markdown": "markdown:<img src='nothing' onerror=\"window.__ran = 'markdown'\">",
}


def _report_with(store, attack: str) -> str:
    """The HTML report of a notebook run whose outputs hold ``attack`` and harmless HTML."""
    import nbformat

    from mlops_nb.execution import report
    from mlops_nb.jsonutil import utcnow

    def html(text):
        return nbformat.v4.new_output("display_data", data={"text/html": text})

    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        html("<b id='own-html'>bold</b>"),
        html(
            "<table class='dataframe'><tr style='text-align: right;'><th>a</th></tr>"
            "<tr><td>1</td></tr></table>"
        ),
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1X1}),
    ]
    cells = [cell]
    if attack.startswith("markdown:"):
        cells.insert(0, nbformat.v4.new_markdown_cell("# Findings\n\n" + attack[9:]))
    else:
        cell.outputs.append(html(attack))
    nb = nbformat.v4.new_notebook(cells=cells)
    sha = store.put_artifact(nbformat.writes(nb).encode(), "notebook", "me")
    now = utcnow()
    run_id = store.insert_run(
        {
            "run_id": sha[:32],
            "kind": "notebook",
            "name": "hostile.ipynb",
            "status": "finished",
            "started_at": now,
            "ended_at": now,
            "notebook_path": "hostile.ipynb",
            "input_sha256": sha,
            "output_sha256": sha,
        },
        "me",
    )
    return report.render(store, run_id)


def test_report_declares_a_policy_that_lets_nothing_run(store):
    page = _report_with(store, ATTACKS["meta-refresh"])
    head = re.search(
        r"<head[^>]*>\s*<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]+)\"", page
    )
    assert head, "the policy must come first in <head>, before any script or style"
    policy = dict(d.strip().split(" ", 1) for d in head.group(1).split(";"))
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["img-src"] == "data:" and policy["style-src"] == "'unsafe-inline'"
    assert "unsafe-eval" not in head.group(1)
    assert not re.search(r"<meta[^>]*refresh", page, re.IGNORECASE)
    assert "id='mlops-nb-provenance'" in page and "own-html" in page


CHROMIUM = "/usr/bin/chromium"


def _look_at(uri: str) -> dict:
    """Open ``uri`` in headless Chromium, click ``#act`` if there is one, report what happened.

    Run in a thread of its own: Playwright's sync API drives an event loop,
    which must not be the one the Jupyter server fixtures of this module own.
    """
    from playwright.sync_api import sync_playwright

    seen: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("MLOPS_NB_CHROMIUM", CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.goto(uri)
        page.wait_for_timeout(1000)  # time for a refresh or a late handler to fire
        seen["url"] = page.url
        if seen["url"] == uri:
            seen.update(
                page.evaluate(
                    """() => {
                    const css = (sel, prop) => getComputedStyle(document.querySelector(sel))
                        .getPropertyValue(prop).trim();
                    const png = document.querySelector("img[src^='data:image/png']");
                    return {
                        provenance: css("#mlops-nb-provenance", "border-top-style"),
                        own_html: document.querySelector("#own-html").textContent,
                        table: css("table.dataframe tr", "text-align"),
                        png: png.complete ? png.naturalWidth : 0,
                        stylesheet: css(".jp-Notebook", "--jp-cell-padding"),
                    };
                }"""
                )
            )
            if page.locator("#act").count():
                # A click from the page itself: Playwright's own would wait for a
                # navigation that the policy never lets start.
                page.evaluate("document.getElementById('act').click()")
                page.wait_for_timeout(500)
            seen["ran"] = page.evaluate("window.__ran")
            seen["url_after"] = page.url
        browser.close()
    return seen


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_notebook_output_cannot_act_in_a_real_browser(store, tmp_path, attack):
    from concurrent.futures import ThreadPoolExecutor

    from conftest import skip_or_fail

    if not os.path.exists(os.environ.get("MLOPS_NB_CHROMIUM", CHROMIUM)):
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}")
    remote = _Hook()
    fetched = []
    remote.server.RequestHandlerClass.do_GET = lambda self: fetched.append(self.path)
    try:
        url = f"http://127.0.0.1:{remote.port}"
        path = tmp_path / "report.html"
        path.write_text(_report_with(store, ATTACKS[attack].format(remote=url)), encoding="utf-8")
        with ThreadPoolExecutor(1) as browser:
            seen = browser.submit(_look_at, path.as_uri()).result(timeout=120)
    finally:
        remote.close()
    assert seen["url"] == path.as_uri(), "the report navigated away"
    # The report renders: its styles, the table's style attribute, embedded
    # images and the notebook's own harmless HTML...
    assert seen["provenance"] == "solid" and seen["own_html"] == "bold"
    assert seen["table"] == "right" and seen["png"] == 1
    assert seen["stylesheet"], "nbconvert's stylesheet did not apply"
    # ...but nothing in it ran, navigated, or fetched or sent anything.
    assert seen["ran"] is None and seen["url_after"] == path.as_uri()
    assert fetched == [] and remote.received == []


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


# -- the prediction log: erasure expressions are data, hashed values stay hashed -----
#
# ``predictions erase --where`` takes an expression from whoever handles a
# deletion request; it selects rows and is never evaluated as code. Columns a
# policy hashes never reach a log file in clear, and the key never leaves the store.


@pytest.mark.parametrize(
    "where",
    [
        "__import__('os').system('touch PWNED') == 1",
        "x0 == 1; import os",
        "x0 == 1 or 1 == 1",
        "x0.__class__ == 1",
        "@x0 == 1",
        "x0 == 1 and",
        "x0 == '\\x00' or True",
    ],
)
def test_an_erasure_expression_is_parsed_never_evaluated(bench, tmp_path, monkeypatch, where):
    from mlops_nb.serving import privacy
    from mlops_nb.serving.scoring import score

    frame = pd.DataFrame(np.zeros((4, 5)), columns=[f"x{i}" for i in range(5)])
    score(bench, "bench", frame)
    monkeypatch.chdir(tmp_path)
    before = bench.log_batches("bench", "predictions")
    if where.startswith("x0.__class__"):
        # a dotted name is a column name (``input.x``): this one matches no column
        assert privacy.erase(bench, "bench", where).rows == 0
    else:
        with pytest.raises(InvalidInputError, match="cannot read --where"):
            privacy.erase(bench, "bench", where)
    assert not (tmp_path / "PWNED").exists()
    assert bench.log_batches("bench", "predictions") == before


def test_hashed_columns_and_their_key_never_leave_in_clear(bench, cli, tmp_path):
    from mlops_nb.serving import privacy
    from mlops_nb.serving.scoring import score

    policy = privacy.set_policy(bench, "bench", hash=["phone"], mask=["email"])
    frame = pd.DataFrame(np.zeros((3, 5)), columns=[f"x{i}" for i in range(5)])
    score(bench, "bench", frame.assign(phone="555-0199", email="someone@example.com"))
    exported = tmp_path / "log.parquet"
    assert cli("predictions", "bench", "-o", str(exported), "--json").code == 0
    shown = cli("predictions", "policy", "bench", "--json")
    for text in (exported.read_bytes(), shown.out.encode(), shown.err.encode()):
        assert b"555-0199" not in text and b"someone@example.com" not in text
        assert policy["salt"].encode() not in text
    assert (
        privacy.hash_value(policy["salt"], "555-0199")
        in pd.read_parquet(exported)["phone"].tolist()
    )
