"""The compliance evidence pack: one model, one period, everything an auditor asks.

:func:`report` builds it (:mod:`~mlops_nb.evidence.pack`) as an
:class:`EvidencePack`: ``to_json()`` for machines, ``to_html()`` for people
(:mod:`~mlops_nb.evidence.html`), shown as HTML in a notebook.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .pack import PACK_KIND, SECTIONS, Provider, build, period

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["PACK_KIND", "SECTIONS", "EvidencePack", "Provider", "build", "period", "report"]


class EvidencePack:
    """An evidence pack: the data (:meth:`to_json`) and its page (:meth:`to_html`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @property
    def verified(self) -> bool:
        """Whether ``audit verify`` passed while the pack was built."""
        return bool(self.data["audit"]["verification"]["ok"])

    def to_json(self) -> dict[str, Any]:
        return self.data

    def to_html(self) -> str:
        from .html import render

        return render(self.data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML page to ``path`` (all or nothing); return the path."""
        from ..errors import InvalidInputError

        target = Path(path).expanduser()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(self.to_html(), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise InvalidInputError(f"cannot write {target}: {exc.strerror}") from None
        return target

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        d = self.data
        return (
            f"<EvidencePack {d['model']} {d['period']['from']} to {d['period']['to']}: "
            f"{len(d['holders'])} holders, {len(d['versions'])} versions, "
            f"{len(d['drift_checks'])} checks, {len(d['alerts'])} alerts, "
            f"verified={self.verified}>"
        )


def report(store: Store, name: str, start: Any, end: Any, **options: Any) -> EvidencePack:
    """The evidence pack of ``name`` from ``start`` to ``end``; ``options`` as :func:`~.pack.build`
    takes them (``sections``, ``actor``)."""
    return EvidencePack(build(store, name, start, end, **options))
