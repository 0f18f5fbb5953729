"""Which names a model file may use: exact types and functions, never prefixes.

A skops file is a tree of nodes. Each node names a Python object by module
and attribute, and its kind says what loading does with that object: build
an instance of it (most kinds), hand it over as a reference (``FunctionNode``,
``TypeNode``), or reach into it (a bound method, an ``operator`` getter, a
``functools.partial``). So trust is decided per name *and* per kind:

- scikit-learn's estimators and the exact numpy, scipy and scikit-learn types
  their fitted state is made of are trusted by default, each only in the node
  kind skops writes it with; the list is built from the installed packages;
- functions are trusted by default only as references (never called while
  loading), and only those scikit-learn itself puts in a fitted model: the
  callables its estimators take by default and those it looks up from a
  string option (a ``scoring`` name, a k-means ``algorithm``);
- anything else must be named exactly, with :func:`trust`, ``trusted=[...]``
  or ``MLOPS_NB_TRUSTED_TYPES``; a name the user trusts must still be a class
  wherever loading would call it.

Prefixes (``"lightgbm."``, ``"numpy.*"``) are refused: a prefix trusts every
function of a package, and numpy, scipy and scikit-learn all ship functions
that run code or write files (``numpy.testing``'s ``runstring`` execs its
argument). A refusal lists every name a file needs, so naming them is easy.
"""

from __future__ import annotations

import importlib
import io
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import InvalidInputError, UntrustedModelError
from .allowlist import bit_generators, default_trust

ENV_TRUST = "MLOPS_NB_TRUSTED_TYPES"

#: Node kinds that hand the named object over without calling it.
REFERENCE_KINDS = frozenset({"FunctionNode", "TypeNode"})
#: Node kinds that reach into an object or wrap a function (a method, an
#: ``operator`` getter, a partial): trusted only when named exactly.
MEMBER_KINDS = frozenset({"MethodNode", "OperatorFuncNode", "PartialNode"})
#: Node kinds that carry no name: plain JSON, and a reference to an earlier node.
NAMELESS_KINDS = frozenset({"JsonNode", "CachedNode"})
#: Node kinds that import the named type and call it (or its ``__new__``).
BUILD_KINDS = frozenset(
    {
        "BytearrayNode",
        "BytesNode",
        "ConstructorFromReduceNode",
        "DTypeNode",
        "DefaultDictNode",
        "DictNode",
        "ListNode",
        "LossNode",
        "MaskedArrayNode",
        "NdArrayNode",
        "ObjectNode",
        "QuantileForestNode",
        "RandomGeneratorNode",
        "RandomStateNode",
        "SetNode",
        "SliceNode",
        "SparseMatrixNode",
        "TreeNode",
        "TupleNode",
    }
)

_user_trusted: set[str] = set()


# -- what the user trusts -------------------------------------------------------


def trust(*names: str) -> None:
    """Trust more types or functions, each by its exact dotted name, in this process.

    Name them as a refusal (:class:`~mlops_nb.errors.UntrustedModelError`)
    lists them. Prefixes such as ``"lightgbm."`` are refused: a prefix would
    also trust every function of the package.

    Examples
    --------
    >>> mlops_nb.trust("numpy.log1p", "lightgbm.sklearn.LGBMClassifier")  # doctest: +SKIP
    """
    _user_trusted.update(check_names(names, "mlops_nb.trust"))


def check_names(names: Any, where: str = "trusted") -> list[str]:
    """``names`` as a list of exact dotted names, or :class:`InvalidInputError`."""
    if not isinstance(names, (list, tuple, set, frozenset)):
        raise InvalidInputError(f"{where} takes a list of exact type names, not {names!r}")
    return [_check_name(name, where) for name in names]


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise InvalidInputError(f"{where}: type names are strings, not {name!r}")
    text = name.strip()
    if text.endswith(".") or "*" in text:
        raise InvalidInputError(
            f"{where}: {name!r} is a prefix, and mlops-nb trusts exact names only (a prefix "
            "would also trust every function of the package); name each type or function, "
            "e.g. 'lightgbm.sklearn.LGBMClassifier', as the refusal lists them"
        )
    parts = text.split(".")
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise InvalidInputError(
            f"{where}: {name!r} is not an exact dotted name such as 'package.module.Type'"
        )
    return text


def require_flag(value: Any, name: str) -> bool:
    """``value`` if it is ``True`` or ``False``; anything else (``"False"``, 0, None) is refused.

    Security switches must not turn on by accident: ``allow_pickle="False"``
    is truthy, and would otherwise allow what it says it does not.
    """
    if value is True or value is False:
        return value
    raise InvalidInputError(f"{name} must be True or False, not {value!r}")


def trusted_names(extra: Any = ()) -> set[str]:
    """Every name the user trusts: :func:`trust`, ``MLOPS_NB_TRUSTED_TYPES`` and ``extra``."""
    env = [part for part in os.environ.get(ENV_TRUST, "").split(",") if part.strip()]
    return {
        *_user_trusted,
        *(_check_name(part, ENV_TRUST) for part in env),
        *check_names(extra, "trusted"),
    }


# -- reading a file's names ----------------------------------------------------


def read_schema(data: bytes) -> dict[str, Any]:
    """The parsed ``schema.json`` of a skops file, or :class:`UntrustedModelError`."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if archive.namelist().count("schema.json") != 1:
                raise ValueError("it must hold exactly one schema.json")
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise UntrustedModelError(f"not a readable skops model file: {exc}") from None
    if not isinstance(schema, dict):
        raise UntrustedModelError("not a readable skops model file: its schema is not an object")
    return schema


def _nodes(state: Any) -> Iterator[dict[str, Any]]:
    """Every node of a schema (any object with ``__loader__``), without recursion."""
    stack = [state] if isinstance(state, (dict, list)) else []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                ident = item.get("__id__")
                if not isinstance(item["__loader__"], str) or not (
                    ident is None or (isinstance(ident, int) and not isinstance(ident, bool))
                ):
                    raise UntrustedModelError("the model file is malformed: a node's kind or id")
                yield item
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        else:
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def _own_name(node: dict[str, Any]) -> str:
    module, cls = node.get("__module__"), node.get("__class__")
    if not isinstance(module, str) or not isinstance(cls, str):
        raise UntrustedModelError(
            f"the model file is malformed: a {node.get('__loader__')} node has no proper name"
        )
    return f"{module}.{cls}"


def _names_of(node: dict[str, Any], kind: str) -> list[str]:
    """The names a node makes loading import, as skops' own audit spells them."""
    name = _own_name(node)
    content: Any = node.get("content")
    if kind == "MethodNode":
        func = content.get("func") if isinstance(content, dict) else None
        if not isinstance(func, str):
            raise UntrustedModelError("the model file is malformed: a method node has no method")
        return [name, f"{name}.{func}"]
    if kind == "OperatorFuncNode":
        return [f"operator.{node['__class__']}"]
    if kind == "FunctionNode" and isinstance(content, dict) and "module_path" in content:
        # protocol 0 named the function in the content, and that name is the one loaded
        return [name, f"{content.get('module_path')}.{content.get('function')}"]
    if kind == "RandomGeneratorNode":
        try:
            state = content["bit_generator"]["content"]["bit_generator"]["content"]
            bit_generator = json.loads(state)
        except (KeyError, TypeError, ValueError):
            bit_generator = None
        if not isinstance(bit_generator, str):
            raise UntrustedModelError(
                "the model file is malformed: a random generator names no bit generator"
            )
        return [name, f"numpy.random.{bit_generator}"]
    return [name]


class _Audit:
    """One pass over a file's nodes: what it names, and what of that is refused."""

    def __init__(self, schema: dict[str, Any], user: set[str]) -> None:
        self.user = user
        self.defaults = default_trust()
        self.nodes = list(_nodes(schema))
        self.by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for node in self.nodes:
            if node.get("__id__") is not None:
                self.by_id[node["__id__"]].append(node)
        self.names: set[str] = set()
        self.refused: dict[str, str] = {}
        self.verdicts: dict[tuple[str, str, int], bool] = {}

    def run(self) -> None:
        for node in self.nodes:
            kind = node["__loader__"]
            if kind in NAMELESS_KINDS:
                continue
            names = _names_of(node, kind)
            self.names.update(names)
            if kind in BUILD_KINDS:
                self._built(node, names[0], kind)
                for extra in names[1:]:  # the bit generator a Generator node calls
                    if extra.rpartition(".")[2] not in bit_generators():
                        self.refuse(extra, "not a numpy bit generator")
            elif kind in REFERENCE_KINDS or kind in MEMBER_KINDS:
                # a method's own name is its class's, and the object it is bound to is
                # a node of its own, checked as such: only the method's name is new here
                for name in names[-1:] if kind == "MethodNode" else names:
                    if kind not in self.defaults.get(name, ()) and name not in self.user:
                        self.refuse(name, "")
            else:
                self.refuse(names[0], f"an unknown kind of node, {kind}")
            if kind == "DictNode":
                self._key_types(node)

    def refuse(self, name: str, why: str) -> None:
        self.refused.setdefault(name, why)

    def _built(self, node: dict[str, Any], name: str, kind: str) -> None:
        if kind in self.defaults.get(name, ()):
            return
        if name not in self.user:
            self.refuse(name, "")
        elif not self._is_class(node):
            self.refuse(name, "not a class, and loading would call it")

    def _is_class(self, node: dict[str, Any]) -> bool:
        """Whether a name the user trusts leads to a class (its module is imported)."""
        if _own_name(node) in self.defaults and "TypeNode" in self.defaults[_own_name(node)]:
            return True
        try:
            found = getattr(importlib.import_module(node["__module__"]), node["__class__"])
        except (ImportError, AttributeError, ValueError, TypeError):
            return False
        return isinstance(found, type)

    def _same_id(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The nodes loading may use in ``node``'s place: skops reuses the first with its id."""
        found = self.by_id.get(node["__id__"], []) if node.get("__id__") is not None else []
        return [n for n in [node, *found] if n["__loader__"] != "CachedNode"]

    def _checked_once(self, node: dict[str, Any], check: Any) -> bool:
        """``check`` over ``node`` and every node sharing its id, remembered per id.

        Real files repeat one id thousands of times (the ``str`` key type of
        every estimator's attribute dict), so the verdict is computed once.
        """
        ident = node.get("__id__")
        key = (check.__name__, "file" if ident is not None else "object", ident or id(node))
        if key not in self.verdicts:
            group = self._same_id(node)
            self.verdicts[key] = bool(group) and all([check(n) for n in group])
        return self.verdicts[key]

    def _key_types(self, node: dict[str, Any]) -> None:
        """A dict's key types are called on its keys while loading: they must be classes."""
        key_types = node.get("key_types")
        if not isinstance(key_types, dict) or not self._checked_once(key_types, self._type_list):
            self.refuse(_own_name(node), "its key types are not a list")

    def _type_list(self, listed: dict[str, Any]) -> bool:
        """Whether ``listed`` is a list; each item that is not a class is refused by name."""
        items = listed.get("content")
        if listed["__loader__"] != "ListNode" or not isinstance(items, list):
            return False
        for item in items:
            if not isinstance(item, dict):
                return False
            # a failing class is refused by name; a reference to no node is a broken list
            if not self._checked_once(item, self._a_class) and not self._same_id(item):
                return False
        return True

    def _a_class(self, target: dict[str, Any]) -> bool:
        name = _own_name(target)
        if target["__loader__"] == "TypeNode" and (
            "TypeNode" in self.defaults.get(name, ())
            or (name in self.user and self._is_class(target))
        ):
            return True
        self.refuse(name, "not a class, and loading would call it")
        return False


def audit(data: bytes, trusted: Iterable[str] = ()) -> list[str]:
    """Check every name a skops file uses; return them all, for skops' own audit.

    Raises
    ------
    InvalidInputError
        If ``trusted`` (or ``MLOPS_NB_TRUSTED_TYPES``) holds something other
        than exact dotted names.
    UntrustedModelError
        Listing every refused name, if the file uses any name the defaults
        and the user do not trust in that place.
    """
    user = trusted_names(trusted)
    check = _Audit(read_schema(data), user)
    check.run()
    if check.refused:
        listed = [f"{name} ({why})" if why else name for name, why in sorted(check.refused.items())]
        raise UntrustedModelError(
            "the model file names what is not trusted: "
            + ", ".join(listed)
            + "; if you know who made the file, trust exact names with mlops_nb.trust(...), "
            f"trusted=[...], {ENV_TRUST} or the command line's --trust",
            sorted(check.refused),
        )
    return sorted(check.names)
