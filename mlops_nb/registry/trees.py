"""Structural checks of the decision trees a loaded model holds.

Trusting a type cannot vouch for its arrays. scikit-learn walks a tree's node
array in compiled code without bounds checks, so a crafted file whose child
or feature indices point outside the arrays makes ``predict`` read outside
them, and a path longer than the stored depth makes ``decision_path`` write
outside its buffer. skops refuses ``sklearn.tree._tree.Tree`` and
HistGradientBoosting's ``TreePredictor`` unless named for that reason;
mlops-nb trusts them, so that forests and boosted trees load as they are, and
checks every one after loading instead:

- each split's children come later in the node array (so no path loops) and
  inside it, every node but the root has exactly one parent, and leaves have
  no children;
- each split's feature exists in the tree and in the estimator that feeds it
  (an ensemble's members see the ensemble's input);
- no path is longer than the depth the tree declares;
- a categorical split of a boosted tree names a categorical feature and an
  existing bitset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import IntegrityError


def check(model: Any) -> None:
    """Raise :class:`IntegrityError` if a tree anywhere in ``model`` points outside itself."""
    try:
        from sklearn.ensemble import BaseEnsemble
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
        from sklearn.tree._tree import Tree
    except ImportError:  # nothing of scikit-learn's to check
        return
    for obj in _reachable(model):
        if isinstance(obj, Tree):
            _tree(obj)
        elif isinstance(obj, TreePredictor):
            _predictor(obj, None, None)
        state = getattr(obj, "__dict__", {})
        n_features = state.get("n_features_in_")
        if isinstance(state.get("tree_"), Tree) and n_features is not None:
            _same(state["tree_"].n_features, n_features, "a tree's features")
        if isinstance(obj, BaseEnsemble) and n_features is not None:
            _members(obj, n_features)
        if "_predictors" in state and n_features is not None:
            categorical = getattr(state.get("_bin_mapper"), "is_categorical_", None)
            if categorical is not None:
                _same(len(categorical), n_features, "a boosted model's binned features")
            for predictors in state["_predictors"]:
                for predictor in predictors:
                    _predictor(predictor, n_features, categorical)


def _reachable(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through containers and instance attributes."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif isinstance(getattr(obj, "__dict__", None), dict):
            stack.extend(vars(obj).values())


def _fail(what: str) -> None:
    raise IntegrityError(
        f"the model file is damaged or crafted: {what} (refused, since predicting with it "
        "would read or write outside the model's memory)"
    )


def _same(found: Any, expected: Any, what: str) -> None:
    if found != expected:
        _fail(f"{what} number {found}, where its input has {expected}")


def _members(ensemble: Any, n_features: int) -> None:
    """An ensemble hands its own input (or the columns it picked) to each member unchecked."""
    members = np.asarray(getattr(ensemble, "estimators_", []), dtype=object).ravel().tolist()
    picked = getattr(ensemble, "estimators_features_", None)
    for i, member in enumerate(members):
        own = getattr(member, "__dict__", {}).get("n_features_in_")
        if own is None:
            continue
        if picked is None:
            _same(own, n_features, "an ensemble member's features")
            continue
        columns = np.asarray(picked[i])
        if columns.size and (columns.min() < 0 or columns.max() >= n_features):
            _fail("an ensemble member reads columns its ensemble does not have")
        _same(own, columns.size, "an ensemble member's features")


def _splits_ok(left: Any, right: Any, inner: Any, size: int) -> bool:
    """Children come later and inside the array, and every node but the root has one parent."""
    at = np.arange(size)[inner]
    left, right = left[inner].astype(np.int64), right[inner].astype(np.int64)
    if not ((left > at) & (right > at) & (left < size) & (right < size)).all():
        return False
    parents = np.bincount(np.concatenate([left, right]), minlength=size)
    return bool(parents[0] == 0 and (parents[1:] == 1).all())


def _tree(tree: Any) -> None:
    state = tree.__getstate__()
    count = int(state["node_count"])
    if not 0 < count <= len(state["nodes"]):
        _fail(f"a decision tree counts {count} nodes in an array of {len(state['nodes'])}")
    nodes = state["nodes"][:count]
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    inner = left != -1
    if not (right[~inner] == -1).all() or not _splits_ok(left, right, inner, count):
        _fail("a decision tree's nodes point outside the tree or back up it")
    if not ((feature[inner] >= 0) & (feature[inner] < tree.n_features)).all():
        _fail("a decision tree splits on a feature it does not have")
    if _depth(left, right, inner) > int(state["max_depth"]):
        _fail("a decision tree is deeper than it declares")


def _depth(left: Any, right: Any, inner: Any) -> int:
    """The longest path from the root, level by level (a checked tree: each node once)."""
    level, depth = np.array([0]), 0
    while True:
        split = level[inner[level]]
        if not split.size:
            return depth
        level, depth = np.concatenate([left[split], right[split]]), depth + 1


def _predictor(predictor: Any, n_features: int | None, categorical: Any) -> None:
    nodes = predictor.nodes
    size = len(nodes)
    inner = nodes["is_leaf"] == 0
    if not size or not _splits_ok(nodes["left"], nodes["right"], inner, size):
        _fail("a boosted tree's nodes point outside the tree or back up it")
    feature = nodes["feature_idx"][inner]
    upper = np.iinfo(np.intp).max if n_features is None else n_features
    if not ((feature >= 0) & (feature < upper)).all():
        _fail("a boosted tree splits on a feature it does not have")
    split_on_category = inner & (nodes["is_categorical"] != 0)
    if split_on_category.any():
        bitsets = min(len(predictor.raw_left_cat_bitsets), len(predictor.binned_left_cat_bitsets))
        if (nodes["bitset_idx"][split_on_category] >= bitsets).any():
            _fail("a boosted tree's categorical split has no bitset")
        features = nodes["feature_idx"][split_on_category]
        if categorical is not None and not np.asarray(categorical, dtype=bool)[features].all():
            _fail("a boosted tree splits by category on a feature that is not categorical")
