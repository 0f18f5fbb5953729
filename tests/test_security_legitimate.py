"""Security regressions, model files that must keep loading: trust by exact type is not a wall.

Every scikit-learn model a user is likely to track round-trips through the
registry with nothing named, and the trees trusted by type have their node
arrays checked after loading, so a crafted tree is refused. Add a new headed
section rather than editing another one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_nb
from mlops_nb.errors import IntegrityError
from mlops_nb.registry import serialization

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
