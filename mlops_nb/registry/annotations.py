"""What people say about a version: a description and tags, edited after registration.

A version's model file, metrics and lineage never change; its description
("retrained on the March data, better recall on new customers") and tags
(``reviewed=yes``, ``ticket=ML-142``) do. Each edit is an audit event
``version.annotated`` naming who changed what, from which value to which,
in the transaction that changes the row; editing to the same values writes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..errors import InvalidInputError
from ..records import ModelVersion
from ..text import check_label, check_tags, check_text, quote
from .names import check_model_name, parse_version

if TYPE_CHECKING:
    from ..store import Store

#: Longest description, in characters (a few paragraphs).
DESCRIPTION_LIMIT = 5_000
#: Longest tag key and tag value, in characters.
TAG_KEY_LIMIT = 64
TAG_VALUE_LIMIT = 500
#: Most tags on one version.
MAX_TAGS = 50
#: Characters a tag key may not hold: ``=`` separates key from value on the
#: command line (``--tag key=value``), ``,`` separates tags in lists.
_KEY_RESERVED = frozenset("=,")


def check_tag_key(key: Any) -> str:
    """A tag key: one line of visible text (:func:`~mlops_nb.text.check_label`), at most
    :data:`TAG_KEY_LIMIT` characters, without ``=`` or ``,``."""
    key = check_label(key, "tag key", limit=TAG_KEY_LIMIT)
    reserved = sorted(set(key) & _KEY_RESERVED)
    if reserved:
        raise InvalidInputError(f"tag key {quote(key)} may not contain {' or '.join(reserved)}")
    return key


def check_version_tags(tags: Any) -> dict[str, str]:
    """Tags to set: a mapping of tag key (:func:`check_tag_key`) to text of at most
    :data:`TAG_VALUE_LIMIT` characters."""
    return check_tags(tags, check_key=check_tag_key, value_limit=TAG_VALUE_LIMIT)


def check_untag(keys: Any) -> list[str]:
    """Tag keys to remove: a list of keys (a single key alone is refused, not split)."""
    if keys is None:
        return []
    if isinstance(keys, (str, bytes, Mapping)) or not isinstance(keys, Iterable):
        raise InvalidInputError(f"untag must be a list of tag keys, not {type(keys).__name__}")
    return [check_tag_key(k) for k in keys]


def annotate(
    store: Store,
    name: str,
    version: int | str,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    untag: Iterable[str] | None = None,
    actor: str | None = None,
) -> ModelVersion:
    """Edit the description and tags of ``name:version``; return the version as it now is.

    Parameters
    ----------
    description
        The new description; ``""`` removes it, ``None`` leaves it as it is.
    tags
        Tags to set (added, or their value replaced); the others stay.
    untag
        Keys of tags to remove (a key that is not there is no error).
    actor
        Who edits (default: the current user, as for every registry change).

    Raises
    ------
    InvalidInputError
        A description over :data:`DESCRIPTION_LIMIT` characters, a bad tag key
        (:func:`check_tag_key`), a value over :data:`TAG_VALUE_LIMIT`, a key both
        set and removed, or more than :data:`MAX_TAGS` tags in the end.
    NotFoundError
        No such model or version.
    """
    name, number = check_model_name(name), parse_version(version)
    if description is not None:
        description = check_text(description, "description", limit=DESCRIPTION_LIMIT)
    setting, removing = check_version_tags(tags), check_untag(untag)
    both = sorted(set(setting) & set(removing))
    if both:
        raise InvalidInputError(f"tag {quote(both[0])} is both set and removed: say which you mean")
    who = default_actor() if actor is None else check_label(actor, "actor")

    def change(before: ModelVersion) -> tuple[str | None, dict[str, str]]:
        after = {k: v for k, v in before.tags.items() if k not in removing}
        after.update(setting)
        if len(after) > MAX_TAGS:
            raise InvalidInputError(
                f"{name}:{number} would have {len(after)} tags; at most {MAX_TAGS} are allowed"
            )
        text = before.description if description is None else (description or None)
        return text, dict(sorted(after.items()))

    updated, _ = store.annotate_version(name, number, change, who)
    return updated
