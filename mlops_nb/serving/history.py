"""Which serving processes answered with which version, at any past moment.

Every serving process records its steps as deploy rows (started, swapped,
refused, stopped; see :mod:`mlops_nb.serving.holder`); replaying one
process's rows up to a moment gives the version it answered with then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store


def serving_version(row: dict[str, Any]) -> int | None:
    """The version a process answered with after the deploy step ``row`` (``None``: stopped)."""
    if row["action"] in ("started", "swapped"):
        return _number(row["to_version"])
    if row["action"] == "refused":
        return _number(row["from_version"])
    return None


def servers_at(
    store: Store,
    model: str,
    at: str,
    *,
    alias: str | None = None,
    version: int | None = None,
) -> list[dict[str, Any]]:
    """The serving processes of ``model`` running at time ``at``, with the version each
    answered with and since when.

    Only those following ``alias``, or answering with ``version``, when given.
    A process killed without recording its stop counts as running until a
    later server on its host records that it is gone.
    """
    state: dict[str, dict[str, Any]] = {}
    for row in store.deploys(model, until=at):
        serving = serving_version(row)
        known = state.get(row["instance"])
        if serving is None:
            state.pop(row["instance"], None)
            continue
        since = known["since"] if known and known["version"] == serving else row["at"]
        state[row["instance"]] = {
            "instance": row["instance"],
            "server": row["server"],
            "host": row["host"],
            "address": row["address"],
            "pid": row["pid"],
            "alias": row["alias"],
            "version": serving,
            "since": since,
        }
    found = [
        s
        for s in state.values()
        if (alias is None or s["alias"] == alias) and (version is None or s["version"] == version)
    ]
    return sorted(found, key=lambda s: (s["host"], s["address"], s["instance"]))


def _number(value: Any) -> int | None:
    return None if value is None else int(value)
