"""Model-file trust and tree checks, rule by rule, on hand-made skops schemas and real trees.

``tests/test_security_models.py`` attacks whole model files with real gadgets; these
pin each rule of :mod:`mlops_nb.registry.trust` (which name, in which kind of
node, is trusted, and what a refusal says) and of
:mod:`mlops_nb.registry.trees` on their own, so that a changed rule fails here.
"""

import io
import json
import zipfile

import numpy as np
import pytest

from mlops_nb.errors import IntegrityError, InvalidInputError, UntrustedModelError
from mlops_nb.registry import trees, trust

LOGREG = "sklearn.linear_model._logistic.LogisticRegression"
HINT = (
    "; if you know who made the file, trust exact names with mlops_nb.trust(...), "
    "trusted=[...], MLOPS_NB_TRUSTED_TYPES or the command line's --trust"
)


@pytest.fixture(autouse=True)
def _no_trust_from_outside(monkeypatch):
    monkeypatch.delenv(trust.ENV_TRUST, raising=False)
    monkeypatch.setattr(trust, "_user_trusted", set())


def _file(schema, extra=()):
    """A skops file holding ``schema`` (and ``extra`` (name, bytes) members)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, data in extra:
            archive.writestr(name, data)
    return out.getvalue()


def node(name, loader="ObjectNode", **fields):
    module, _, cls = name.rpartition(".")
    return {"__module__": module, "__class__": cls, "__loader__": loader, **fields}


def refused(schema, trusted=()):
    with pytest.raises(UntrustedModelError) as caught:
        trust.audit(_file(schema), trusted)
    return str(caught.value), caught.value.types


# -- the names a user trusts --------------------------------------------------------


@pytest.mark.parametrize(
    "name, message",
    [
        ("lightgbm.", "'lightgbm.' is a prefix"),
        ("numpy.*", "'numpy.*' is a prefix"),
        ("numpy", "'numpy' is not an exact dotted name such as 'package.module.Type'"),
        ("numpy..log", "is not an exact dotted name"),
        ("numpy.1log", "is not an exact dotted name"),
        (5, "type names are strings, not 5"),
    ],
)
def test_a_trusted_name_must_be_exact(name, message):
    with pytest.raises(InvalidInputError, match=f"^where: .*{message}"):
        trust.check_names([name], "where")


def test_a_prefix_refusal_says_why_and_what_to_do_instead():
    with pytest.raises(InvalidInputError) as caught:
        trust.check_names(("lightgbm.",))
    assert str(caught.value) == (
        "trusted: 'lightgbm.' is a prefix, and mlops-nb trusts exact names only (a prefix "
        "would also trust every function of the package); name each type or function, "
        "e.g. 'lightgbm.sklearn.LGBMClassifier', as the refusal lists them"
    )


def test_names_are_trimmed_and_any_collection_of_them_is_taken():
    assert trust.check_names([" numpy.log1p "]) == ["numpy.log1p"]
    for names in (("a.b",), {"a.b"}, frozenset({"a.b"})):
        assert trust.check_names(names) == ["a.b"]
    with pytest.raises(InvalidInputError) as caught:
        trust.check_names("a.b", "mlops_nb.trust")
    assert str(caught.value) == ("mlops_nb.trust takes a list of exact type names, not 'a.b'")


def test_trusted_names_joins_trust_the_environment_and_the_call(monkeypatch):
    monkeypatch.setenv(trust.ENV_TRUST, " pkg.mod.A ,, pkg.mod.B,")
    trust.trust("pkg.mod.C")
    assert trust.trusted_names(["pkg.mod.D"]) == {
        "pkg.mod.A",
        "pkg.mod.B",
        "pkg.mod.C",
        "pkg.mod.D",
    }
    monkeypatch.setenv(trust.ENV_TRUST, "pkg.")
    with pytest.raises(InvalidInputError, match=f"^{trust.ENV_TRUST}: 'pkg.' is a prefix"):
        trust.trusted_names()


@pytest.mark.parametrize("value", [True, False])
def test_a_flag_is_a_real_bool(value):
    assert trust.require_flag(value, "allow_pickle") is value


@pytest.mark.parametrize("value", ["False", 0, 1, None])
def test_anything_else_is_refused_as_a_flag(value):
    with pytest.raises(InvalidInputError) as caught:
        trust.require_flag(value, "allow_pickle")
    assert str(caught.value) == f"allow_pickle must be True or False, not {value!r}"


# -- reading a file ------------------------------------------------------------------


def test_a_file_that_is_not_one_skops_archive_is_refused():
    with pytest.raises(UntrustedModelError) as caught:
        trust.read_schema(b"not a zip")
    assert str(caught.value) == "not a readable skops model file: File is not a zip file"
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = _file({}, [("schema.json", b"{}")])
    with pytest.raises(UntrustedModelError) as caught:
        trust.read_schema(twice)
    assert str(caught.value) == (
        "not a readable skops model file: it must hold exactly one schema.json"
    )


def test_a_schema_must_be_a_json_object():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("other.json", "{}")
    with pytest.raises(UntrustedModelError, match="exactly one schema.json"):
        trust.read_schema(out.getvalue())
    with pytest.raises(UntrustedModelError) as caught:
        trust.read_schema(_file([1, 2]))
    assert str(caught.value) == "not a readable skops model file: its schema is not an object"
    assert trust.read_schema(_file({"a": 1})) == {"a": 1}


@pytest.mark.parametrize(
    "bad",
    [
        {"__loader__": 5},
        {"__loader__": "ObjectNode", "__id__": "1"},
        {"__loader__": "ObjectNode", "__id__": True},
        {"__loader__": "ObjectNode", "__id__": 1.0},
    ],
)
def test_a_node_kind_must_be_text_and_its_id_a_whole_number(bad):
    # found however deep it sits, in dicts and in lists
    schema = node(LOGREG, content={"a": [{"b": [bad]}]})
    with pytest.raises(UntrustedModelError) as caught:
        trust.audit(_file(schema))
    assert str(caught.value) == "the model file is malformed: a node's kind or id"


@pytest.mark.parametrize(
    "bad, what",
    [
        ({"__loader__": "ObjectNode", "__class__": "X"}, "a ObjectNode node has no proper name"),
        ({"__loader__": "TypeNode", "__module__": "m", "__class__": 1}, "a TypeNode node"),
        (node("m.X", "MethodNode", content={}), "a method node has no method"),
        (node("m.X", "MethodNode", content=["f"]), "a method node has no method"),
        (
            node("numpy.random._generator.Generator", "RandomGeneratorNode", content={}),
            "a random generator names no bit generator",
        ),
    ],
)
def test_a_node_without_a_proper_name_is_malformed(bad, what):
    with pytest.raises(UntrustedModelError, match=f"^the model file is malformed: {what}"):
        trust.audit(_file({"content": [bad]}))


# -- which names are trusted where ------------------------------------------------------


def test_a_file_of_default_names_in_their_own_kinds_passes_and_lists_its_names():
    schema = node(
        LOGREG,
        __id__=1,
        content={
            "coef_": node("numpy.ndarray", "NdArrayNode", __id__=2),
            "classes_": node("builtins.list", "ListNode", content=[]),
            "plain": {"__loader__": "JsonNode", "content": "1"},
            "again": {"__loader__": "CachedNode", "__id__": 2},
            "score": node("sklearn.metrics._classification.accuracy_score", "FunctionNode"),
        },
    )
    assert trust.audit(_file(schema)) == sorted(
        [
            LOGREG,
            "numpy.ndarray",
            "builtins.list",
            "sklearn.metrics._classification.accuracy_score",
        ]
    )


def test_a_default_name_is_trusted_only_in_the_kinds_skops_writes_it_with():
    # a function referenced is fine; the same function built (called) is not
    score = "sklearn.metrics._classification.accuracy_score"
    message, names = refused(node(score, "ObjectNode"))
    assert message == f"the model file names what is not trusted: {score}" + HINT
    assert names == [score]
    # a class built is fine; the same class passed as a function reference is not
    assert refused(node(LOGREG, "FunctionNode"))[1] == [LOGREG]


def test_a_name_the_user_trusts_is_built_only_if_it_is_a_class():
    assert trust.audit(_file(node("collections.OrderedDict")), ["collections.OrderedDict"])
    message, names = refused(node("os.system"), ["os.system"])
    assert names == ["os.system"]
    assert message.startswith(
        "the model file names what is not trusted: os.system (not a class, and loading "
        "would call it); "
    )
    missing = node("no_such_module_here.Thing")
    assert refused(missing, ["no_such_module_here.Thing"])[1] == ["no_such_module_here.Thing"]


def test_a_class_the_user_trusts_is_found_by_importing_it():
    # not a default name: whether it is a class is learnt by importing its module
    assert trust.audit(_file(node("fractions.Fraction")), ["fractions.Fraction"]) == [
        "fractions.Fraction"
    ]
    # a default class built in a kind skops never writes it with is still a class
    assert trust.audit(_file(node("collections.OrderedDict")), ["collections.OrderedDict"])
    # a default function the user trusts is still a function: never built
    score = "sklearn.metrics._classification.accuracy_score"
    message, names = refused(node(score), [score])
    assert names == [score] and f"{score} (not a class, and loading would call it)" in message


def test_trust_names_itself_when_refusing_a_name():
    with pytest.raises(InvalidInputError, match=r"^mlops_nb\.trust: 'pkg\.' is a prefix"):
        trust.trust("pkg.")
    assert trust.trusted_names() == set()  # nothing of a refused call is kept


def test_a_name_the_user_trusts_may_be_referenced_whatever_it_is():
    assert trust.audit(_file(node("os.getcwd", "FunctionNode")), ["os.getcwd"]) == ["os.getcwd"]
    assert refused(node("os.getcwd", "FunctionNode"))[1] == ["os.getcwd"]


def test_a_method_is_trusted_by_its_own_name_not_its_class():
    method = node(LOGREG, "MethodNode", content={"func": "predict", "obj": node(LOGREG)})
    names = refused(method)[1]
    assert names == [f"{LOGREG}.predict"]  # the class itself is trusted
    assert trust.audit(_file(method), [f"{LOGREG}.predict"]) == [LOGREG, f"{LOGREG}.predict"]


def test_an_operator_getter_is_named_in_the_operator_module():
    getter = node("whatever.attrgetter", "OperatorFuncNode")
    assert refused(getter)[1] == ["operator.attrgetter"]
    assert trust.audit(_file(getter), ["operator.attrgetter"]) == ["operator.attrgetter"]


def test_a_protocol_0_function_is_named_by_the_function_it_loads():
    old = node(
        "builtins.function", "FunctionNode", content={"module_path": "os", "function": "system"}
    )
    assert refused(old)[1] == ["builtins.function", "os.system"]


def _generator(bit_generator):
    state = {
        "bit_generator": {"content": {"bit_generator": {"content": json.dumps(bit_generator)}}}
    }
    return node("numpy.random._generator.Generator", "RandomGeneratorNode", content=state)


def test_a_random_generator_may_name_numpy_bit_generators_only():
    ok = _generator("PCG64")
    assert trust.audit(_file(ok)) == [
        "numpy.random.PCG64",
        "numpy.random._generator.Generator",
    ]
    message, names = refused(_generator("Evil"))
    assert names == ["numpy.random.Evil"]
    assert message.startswith(
        "the model file names what is not trusted: numpy.random.Evil (not a numpy bit generator); "
    )
    with pytest.raises(UntrustedModelError, match="names no bit generator"):
        trust.audit(_file(_generator(5)))


def test_an_unknown_kind_of_node_is_refused_by_name_and_kind():
    message, names = refused(node(LOGREG, "MysteryNode"))
    assert names == [LOGREG]
    assert message == (
        f"the model file names what is not trusted: {LOGREG} (an unknown kind of node, "
        "MysteryNode)" + HINT
    )


def test_a_refusal_lists_every_name_sorted_each_once():
    schema = node(
        "zz.Last",
        content=[node("aa.First"), node("aa.First"), node("mm.Middle", "FunctionNode")],
    )
    message, names = refused(schema)
    assert names == ["aa.First", "mm.Middle", "zz.Last"]
    assert (
        message == "the model file names what is not trusted: aa.First, mm.Middle, zz.Last" + HINT
    )


# -- a dict's key types --------------------------------------------------------------


def _dict(key_types):
    return node("builtins.dict", "DictNode", content={}, key_types=key_types)


def _types(*items, loader="ListNode", **fields):
    return node("builtins.list", loader, content=list(items), **fields)


def test_a_dicts_key_types_must_be_a_list_of_trusted_classes():
    good = _dict(_types(node("builtins.str", "TypeNode"), node("builtins.int", "TypeNode")))
    assert trust.audit(_file(good)) == [
        "builtins.dict",
        "builtins.int",
        "builtins.list",
        "builtins.str",
    ]
    for bad in (
        None,
        [],
        node("builtins.tuple", "TupleNode", content=[]),
        node("builtins.list", "ListNode", content={}),
    ):
        assert refused(_dict(bad))[1] == ["builtins.dict"]
    message, _ = refused(_dict(_types(node("builtins.str", "TypeNode"), "str")))
    assert message.startswith(
        "the model file names what is not trusted: builtins.dict (its key types are not a list); "
    )


def test_a_key_type_that_is_a_function_is_refused_even_when_trusted_by_default():
    score = "sklearn.metrics._classification.accuracy_score"
    assert refused(_dict(_types(node(score, "FunctionNode"))))[1] == [score]
    # a default class in another kind of node is not a class reference either
    message, names = refused(_dict(_types(node("builtins.str", "ObjectNode"))))
    assert names == ["builtins.str"]
    assert "builtins.str (not a class, and loading would call it)" in message


def test_a_key_type_the_user_trusts_must_be_a_class():
    user = _dict(_types(node("collections.OrderedDict", "TypeNode")))
    assert "collections.OrderedDict" in trust.audit(_file(user), ["collections.OrderedDict"])
    func = _dict(_types(node("os.getcwd", "TypeNode")))
    assert refused(func, ["os.getcwd"])[1] == ["os.getcwd"]


def test_a_key_type_may_be_a_reference_to_a_class_node_elsewhere():
    cls = node("builtins.str", "TypeNode", __id__=7)
    ok = {"first": cls, "dict": _dict(_types({"__loader__": "CachedNode", "__id__": 7}))}
    assert "builtins.str" in trust.audit(_file(ok))
    # every node that shares the id is checked: one of them a function is enough to refuse
    score = "sklearn.metrics._classification.accuracy_score"
    bad = {**ok, "other": node(score, "FunctionNode", __id__=7)}
    assert refused(bad)[1] == [score]
    # a reference to no node at all leaves the list broken
    dangling = _dict(_types({"__loader__": "CachedNode", "__id__": 99}))
    assert refused(dangling)[1] == ["builtins.dict"]


def test_key_types_shared_by_id_are_checked_once_and_alike():
    shared = _types(node("builtins.str", "TypeNode"), __id__=3)
    dicts = [_dict(shared), _dict({"__loader__": "CachedNode", "__id__": 3})]
    assert "builtins.dict" in trust.audit(_file({"content": dicts}))
    bad = _types(node("os.getcwd", "TypeNode"), __id__=3)
    dicts = [_dict(bad), _dict({"__loader__": "CachedNode", "__id__": 3})]
    assert refused({"content": dicts})[1] == ["os.getcwd"]


# -- trees -------------------------------------------------------------------------


def _data(columns=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, columns))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _fitted(make, columns=4):
    return make().fit(*_data(columns))


def _tree_model(depth=3):
    from sklearn.tree import DecisionTreeClassifier

    return _fitted(lambda: DecisionTreeClassifier(max_depth=depth, random_state=0))


def _edit(tree, count=None, max_depth=None, **fields):
    """Rewrite a fitted tree's arrays in place: ``field=(index, value)``."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    for field, (index, value) in fields.items():
        nodes[field][index] = value
    changes = {"nodes": nodes}
    if count is not None:
        changes["node_count"] = count
    if max_depth is not None:
        changes["max_depth"] = max_depth
    tree.__setstate__({**state, **changes})


def _refusal(model):
    with pytest.raises(IntegrityError) as caught:
        trees.check(model)
    text = str(caught.value)
    prefix, suffix = (
        "the model file is damaged or crafted: ",
        (" (refused, since predicting with it would read or write outside the model's memory)"),
    )
    assert text.startswith(prefix) and text.endswith(suffix)
    return text[len(prefix) : -len(suffix)]


def _splits(tree):
    nodes = tree.__getstate__()["nodes"]
    inner = np.flatnonzero(nodes["left_child"] != -1)
    leaves = np.flatnonzero(nodes["left_child"] == -1)
    return nodes, inner, leaves


def test_an_untouched_tree_of_its_declared_depth_passes():
    model = _tree_model()
    assert model.tree_.max_depth == model.get_depth() == 3
    trees.check(model)
    trees.check([{"nested": (model,)}])  # found inside containers too
    state = model.tree_.__getstate__()
    nodes = state["nodes"]
    assert trees._depth(nodes["left_child"], nodes["right_child"], nodes["left_child"] != -1) == 3


@pytest.mark.parametrize(
    "edit",
    [
        "left-outside",
        "right-outside",
        "left-is-the-node",
        "right-before-the-node",
        "two-parents",
        "leaf-with-a-right-child",
    ],
)
def test_a_tree_whose_nodes_point_wrong_is_refused(edit):
    model = _tree_model()
    tree = model.tree_
    nodes, inner, leaves = _splits(tree)
    split, count = int(inner[-1]), tree.node_count
    root_left = int(nodes["left_child"][0])
    change = {
        "left-outside": {"left_child": (split, count)},
        "right-outside": {"right_child": (split, count)},
        "left-is-the-node": {"left_child": (split, split)},
        "right-before-the-node": {"right_child": (split, 0)},
        "two-parents": {"right_child": (0, root_left)},
        "leaf-with-a-right-child": {"right_child": (int(leaves[0]), count - 1)},
    }[edit]
    _edit(tree, **change)
    assert _refusal(model) == "a decision tree's nodes point outside the tree or back up it"


def _with_node_count(blob, count):
    """A skops file of a decision tree whose tree says it holds ``count`` nodes."""
    from test_security_models import _rewrite

    def edit(schema):
        tree = schema["content"]["content"]["tree_"]
        assert tree["__class__"] == "Tree"
        # a fresh id: skops gives every node with one id the object loaded first
        tree["content"]["content"]["node_count"].update(content=str(count), __id__=1)

    return _rewrite(blob, edit)


def test_a_tree_counting_no_nodes_is_refused():
    from mlops_nb.registry import serialization

    blob = _with_node_count(serialization.dump(_tree_model(), "skops"), 0)
    with pytest.raises(IntegrityError) as caught:
        serialization.load(blob, "skops")
    assert "a decision tree counts 0 nodes in an array of 0 " in str(caught.value)


@pytest.mark.parametrize("count", [12, 10**7])
def test_a_count_beyond_the_node_array_is_cut_to_it_when_loading(count):
    # scikit-learn sizes a new tree's buffer by its node array and cuts the count
    # to it, so the count check cannot see a larger one: the tree is the original
    from mlops_nb.registry import serialization

    model = _tree_model()
    blob = _with_node_count(serialization.dump(model, "skops"), count)
    assert serialization.load(blob, "skops").tree_.node_count == model.tree_.node_count == 11


def test_a_tree_counting_fewer_nodes_is_checked_on_those_only():
    from sklearn.tree import DecisionTreeClassifier

    stump = _fitted(lambda: DecisionTreeClassifier(max_depth=1, random_state=0))
    _edit(stump.tree_, count=1)  # only the root, a split whose children are beyond the count
    assert "point outside the tree" in _refusal(stump)


@pytest.mark.parametrize("feature", [-3, 4])
def test_a_split_on_a_feature_the_tree_lacks_is_refused(feature):
    model = _tree_model()
    _, inner, _ = _splits(model.tree_)
    _edit(model.tree_, feature=(int(inner[-1]), feature))
    assert _refusal(model) == "a decision tree splits on a feature it does not have"


def test_a_tree_deeper_than_it_declares_is_refused():
    model = _tree_model()
    _edit(model.tree_, max_depth=2)
    assert _refusal(model) == "a decision tree is deeper than it declares"


def test_a_tree_reading_more_features_than_its_estimator_is_refused():
    model = _tree_model()
    model.n_features_in_ = 2
    assert _refusal(model) == "a tree's features number 4, where its input has 2"


def test_every_member_of_a_forest_must_see_the_forests_input():
    from sklearn.ensemble import RandomForestClassifier

    forest = _fitted(lambda: RandomForestClassifier(3, max_depth=2, random_state=0))
    trees.check(forest)
    forest.estimators_[-1].n_features_in_ = 3
    assert _refusal(forest) == "an ensemble member's features number 3, where its input has 4"


def test_a_member_without_an_input_width_is_left_to_its_own_checks():
    from sklearn.ensemble import RandomForestClassifier

    forest = _fitted(lambda: RandomForestClassifier(2, max_depth=2, random_state=0))
    del forest.estimators_[0].n_features_in_
    forest.estimators_[1].n_features_in_ = 3
    assert _refusal(forest) == "an ensemble member's features number 3, where its input has 4"


@pytest.mark.parametrize(
    "columns, message",
    [
        ([0, 4], "an ensemble member reads columns its ensemble does not have"),
        ([-1, 2], "an ensemble member reads columns its ensemble does not have"),
        ([0, 1, 2], "an ensemble member's features number 2, where its input has 3"),
    ],
)
def test_a_bagging_member_must_read_columns_its_ensemble_has(columns, message):
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    bag = _fitted(
        lambda: BaggingClassifier(
            DecisionTreeClassifier(max_depth=2), n_estimators=2, max_features=2, random_state=0
        )
    )
    trees.check(bag)
    bag.estimators_features_[1] = np.array(columns)
    assert _refusal(bag) == message


def _hgb(**options):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    if options.get("categorical_features") is not None:
        category = (X[:, 0] * 3).astype(int) % 4
        X, y = np.column_stack([category, X[:, 1:]]), np.isin(category, [1, 2]).astype(int)
    return HistGradientBoostingClassifier(max_iter=2, max_depth=3, **options).fit(X, y)


def _first_inner(predictor):
    return int(np.flatnonzero(predictor.nodes["is_leaf"] == 0)[0])


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("left", 10**6, "a boosted tree's nodes point outside the tree or back up it"),
        ("right", 0, "a boosted tree's nodes point outside the tree or back up it"),
        ("feature_idx", 4, "a boosted tree splits on a feature it does not have"),
        ("feature_idx", -1, "a boosted tree splits on a feature it does not have"),
    ],
)
def test_a_boosted_tree_is_checked_like_a_decision_tree(field, value, message):
    model = _hgb()
    trees.check(model)
    predictor = model._predictors[1][0]  # not only the first
    nodes = predictor.nodes.copy()
    nodes[field][_first_inner(predictor)] = value
    predictor.nodes = nodes
    assert _refusal(model) == message


def test_a_boosted_tree_on_its_own_has_no_input_width_to_check():
    model = _hgb()
    predictor = model._predictors[0][0]
    nodes = predictor.nodes.copy()
    nodes["feature_idx"][_first_inner(predictor)] = 40  # beyond the model's input
    predictor.nodes = nodes
    trees.check(predictor)  # alone, only its own structure is known
    predictor.nodes = nodes[:0]
    assert _refusal(predictor) == "a boosted tree's nodes point outside the tree or back up it"


def test_a_boosted_models_binned_features_must_match_its_input():
    model = _hgb()
    model._bin_mapper.is_categorical_ = np.zeros(3, dtype=np.uint8)
    assert _refusal(model) == "a boosted model's binned features number 3, where its input has 4"


def test_a_categorical_split_needs_a_bitset_and_a_categorical_feature():
    model = _hgb(categorical_features=[0])
    trees.check(model)
    predictor = model._predictors[0][0]
    nodes = predictor.nodes.copy()
    split = _first_inner(predictor)
    bitsets = len(predictor.raw_left_cat_bitsets)
    nodes["is_categorical"][split], nodes["bitset_idx"][split] = 1, bitsets
    predictor.nodes = nodes
    assert _refusal(model) == "a boosted tree's categorical split has no bitset"
    nodes["bitset_idx"][split], nodes["feature_idx"][split] = bitsets - 1, 1
    predictor.nodes = nodes
    assert _refusal(model) == (
        "a boosted tree splits by category on a feature that is not categorical"
    )
    nodes["feature_idx"][split] = 0
    predictor.nodes = nodes
    trees.check(model)


def test_trees_are_found_wherever_a_model_keeps_them():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    inside = _tree_model()
    _edit(inside.tree_, max_depth=1)
    holder = type("Holder", (), {})()
    holder.parts = np.array([None, {"k": [inside]}], dtype=object)
    for model in (make_pipeline(StandardScaler(), inside), holder, {"a": (1, "s", holder)}):
        assert _refusal(model) == "a decision tree is deeper than it declares"
    holder.parts = np.array([1.0, 2.0])  # numbers hold no trees
    trees.check(holder)
    loop = []
    loop.append(loop)
    trees.check(loop)  # a cycle is walked once


def test_key_types_without_ids_are_each_checked_on_their_own():
    # verdicts are remembered per id; nodes without one must not share a verdict
    good = _dict(_types(node("builtins.str", "TypeNode")))
    bad = _dict(_types(node("os.getcwd", "TypeNode")))
    assert refused({"content": [good, bad]}, ["os.getcwd"])[1] == ["os.getcwd"]
    assert refused({"content": [bad, good]}, ["os.getcwd"])[1] == ["os.getcwd"]


def test_a_key_type_that_is_no_default_is_a_class_only_if_the_user_trusts_it():
    fraction = _dict(_types(node("fractions.Fraction", "TypeNode")))
    assert "fractions.Fraction" in trust.audit(_file(fraction), ["fractions.Fraction"])
    message, names = refused(fraction)
    assert names == ["fractions.Fraction"]
    assert "fractions.Fraction (not a class, and loading would call it)" in message


def test_names_passed_for_one_call_are_refused_as_trusted():
    with pytest.raises(InvalidInputError, match=r"^trusted: 'pkg\.' is a prefix"):
        trust.trusted_names(["pkg."])
