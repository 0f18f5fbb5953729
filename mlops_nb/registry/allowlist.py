"""What model files may use by default: exact types and functions, built from scikit-learn.

:func:`default_trust` maps each trusted name to the skops node kinds it may
appear in. It holds, each only in the node kind skops writes it with:

- every estimator :func:`sklearn.utils.all_estimators` lists, and the exact
  scikit-learn types their fitted state is made of (trees, losses, links,
  kernels, distance metrics, splitters, scorers, binners, optimizers);
- the numpy containers, scalar and dtype types, random states and
  generators; scipy's sparse containers and ``BSpline``; the builtin
  containers;
- as references only, the functions scikit-learn itself puts in a fitted
  model: the callables its estimators take by default (``f_classif``,
  ``numpy.mean``), the metrics behind its named scorers, the k-means
  routines picked by ``algorithm=``, the input check of HistGradientBoosting
  (in a ``functools.partial``, which only binds arguments) and ``BSpline``'s
  ``asarray``. Each computes on arrays and nothing more; none is called
  while loading.

Nothing is trusted by module prefix, and nothing from a testing or mocking
module: those are where numpy, scipy and scikit-learn keep functions that run
code.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections import defaultdict
from typing import Any

# scikit-learn types found in fitted models besides the estimators themselves;
# names that the installed version lacks are skipped.
_SKLEARN_STATE_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.cluster._bisect_k_means._BisectingTree",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn._loss.link.Interval",
    "sklearn.metrics._scorer._CurveScorer",
    "sklearn.metrics._scorer._MultimetricScorer",
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.metrics._scorer._Scorer",
    "sklearn.multiclass._ConstantPredictor",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
    "scipy.interpolate._bsplines.BSpline",
)
# (module, base class): every class of the module derived from the base.
_SKLEARN_STATE_FAMILIES = (
    ("sklearn._loss.link", "sklearn._loss.link.BaseLink"),
    ("sklearn._loss.loss", "sklearn._loss.loss.BaseLoss"),
    ("sklearn.gaussian_process.kernels", "sklearn.gaussian_process.kernels.Kernel"),
    ("sklearn.metrics._dist_metrics", "sklearn.metrics._dist_metrics.DistanceMetric"),
    # cross-validation splitters, kept by searches and CV estimators
    ("sklearn.model_selection._split", "sklearn.utils._metadata_requests._MetadataRequester"),
)
# Cython losses, rebuilt by skops' LossNode.
_SKLEARN_LOSS_FAMILIES = (
    ("sklearn._loss._loss", "sklearn._loss._loss.CyLossFunction"),
    ("sklearn.linear_model._sgd_fast", "sklearn._loss._loss.CyLossFunction"),
)
_SKLEARN_LOSS_TYPES = ("sklearn._loss._loss.CyHalfMultinomialLoss",)
# Functions scikit-learn puts in fitted state itself: the k-means routine its
# ``algorithm=`` picks, and the input check HistGradientBoosting wraps in a
# ``functools.partial`` when it has categorical features.
_SKLEARN_OWN_FUNCTIONS = (
    "sklearn.cluster._kmeans._kmeans_single_elkan",
    "sklearn.cluster._kmeans._kmeans_single_lloyd",
    "sklearn.utils.validation.check_array",
)


# Where packages keep helpers that run code (numpy.testing's runstring execs its
# argument, scikit-learn's _testing runs scripts): never trusted, whatever refers to them.
_TEST_MODULE_PARTS = frozenset({"testing", "_testing", "tests", "_mocking", "estimator_checks"})


def _name_of(obj: Any) -> str | None:
    """``module.name`` as skops writes it, if that name leads back to ``obj``."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    if _TEST_MODULE_PARTS.intersection(module.split(".")):
        return None
    return f"{module}.{name}" if getattr(sys.modules.get(module), name, None) is obj else None


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # not in the installed version
        return None


def _find(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(_module(module), name, None)


def _family(module: str, base: str) -> list[type]:
    found, root = _module(module), _find(base)
    if found is None or not isinstance(root, type):
        return []
    return [
        obj
        for obj in vars(found).values()
        if isinstance(obj, type) and issubclass(obj, root) and obj.__module__ == module
    ]


def _default_functions(estimators: list[type]) -> list[Any]:
    """Functions scikit-learn itself puts in fitted models (see the module docstring)."""
    import inspect

    from sklearn.metrics import get_scorer, get_scorer_names

    found: list[Any] = []
    for cls in estimators:
        try:
            defaults = inspect.signature(cls).parameters.values()
        except (TypeError, ValueError):
            continue
        found += [p.default for p in defaults if callable(p.default)]
    for scoring in get_scorer_names():
        found.append(getattr(get_scorer(scoring), "_score_func", None))
    found += [_find(path) for path in _SKLEARN_OWN_FUNCTIONS]
    try:  # scipy's BSpline (SplineTransformer) keeps its array namespace's asarray
        import numpy as np
        from scipy._lib._array_api import array_namespace

        found.append(array_namespace(np.empty(0)).asarray)
    except (ImportError, AttributeError):
        pass
    return [f for f in found if f is not None and not isinstance(f, type)]


@functools.cache
def default_trust() -> dict[str, frozenset[str]]:
    """Name -> the node kinds it is trusted in, by default. Built once per process."""
    import collections

    import numpy as np
    import scipy.sparse
    from sklearn.utils import all_estimators

    allowed: dict[str, set[str]] = defaultdict(set)

    def add(kind: str, *objects: Any) -> None:
        for obj in objects:
            name = _name_of(obj)
            if name is not None:
                allowed[name].add(kind)
                if isinstance(obj, type):  # a class may also be handed over as itself
                    allowed[name].add("TypeNode")

    add("DictNode", dict, collections.OrderedDict, _find("sklearn.utils._bunch.Bunch"))
    add("DefaultDictNode", collections.defaultdict)
    add("ListNode", list)
    add("TupleNode", tuple)
    add("SetNode", set)
    add("BytesNode", bytes)
    add("BytearrayNode", bytearray)
    add("SliceNode", slice)
    add("TypeNode", str, int, float, bool, complex)
    add("NdArrayNode", np.ndarray, *set(np.sctypeDict.values()))
    add("DTypeNode", np.dtype)
    add("MaskedArrayNode", np.ma.MaskedArray)
    add("RandomStateNode", np.random.RandomState)
    add("RandomGeneratorNode", np.random.Generator)
    sparse = tuple(t for t in (scipy.sparse.spmatrix, getattr(scipy.sparse, "sparray", None)) if t)
    add(
        "SparseMatrixNode",
        *(
            obj
            for obj in vars(scipy.sparse).values()
            if isinstance(obj, type) and issubclass(obj, sparse) and obj not in sparse
        ),
    )
    estimators = [cls for _, cls in all_estimators()]
    add("ObjectNode", *estimators, *(_find(path) for path in _SKLEARN_STATE_TYPES))
    for module, base in _SKLEARN_STATE_FAMILIES:
        # a distance computed by an arbitrary Python function is the user's to name
        add("ObjectNode", *(t for t in _family(module, base) if "PyFunc" not in t.__name__))
    add("TreeNode", _find("sklearn.tree._tree.Tree"))
    for module, base in _SKLEARN_LOSS_FAMILIES:
        add("LossNode", *_family(module, base))
    add("LossNode", *(_find(path) for path in _SKLEARN_LOSS_TYPES))
    add("FunctionNode", *_default_functions(estimators))
    # a partial only binds arguments; the function it wraps is a node of its own, checked
    allowed["functools.partial"].add("PartialNode")
    return {name: frozenset(kinds) for name, kinds in allowed.items()}


@functools.cache
def bit_generators() -> frozenset[str]:
    """Names of numpy's bit generator classes, the only ones a random generator may name."""
    import numpy as np

    return frozenset(
        name
        for name, obj in vars(np.random).items()
        if isinstance(obj, type)
        and issubclass(obj, np.random.BitGenerator)
        and obj is not np.random.BitGenerator
    )
