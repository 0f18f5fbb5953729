"""Pipeline files as schedule targets from the panel: checked, listed back, shown.

A pipeline is named like a notebook, by its path under the folder the
Jupyter server shows, and must stay in it, with every notebook its steps
run. :func:`pipeline_under` reads it as ``mlops-nb pipeline run`` would and
answers 400 naming the problem (``field == "pipeline"``); ``GET
pipelines/steps?path=`` lists its steps back so the schedule form shows what
will run before anything is saved. :func:`snapshot_steps` reads the steps
of a schedule's approved snapshot for the Schedules tab.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado

from ..errors import InvalidInputError, NotFoundError
from ..schedules import schedule as sch
from .routes import BaseHandler
from .schedules import file_under

if TYPE_CHECKING:
    from ..execution.pipeline import Pipeline
    from ..store import Store

#: Snapshot bundle SHA-256 → its steps (content-addressed, so never stale).
_steps_cache: dict[str, list[dict[str, Any]] | None] = {}


def pipeline_under(root: str | None, given: Any) -> Pipeline:
    """The pipeline file ``given`` (relative to ``root``), read and checked.

    Raises
    ------
    InvalidInputError
        ``field == "pipeline"``: not text, outside ``root``, not ``.yaml``/``.yml``,
        no such file, not a pipeline (the parser's message, with the path as given),
        or a step's notebook outside ``root``.
    """
    from ..execution import pipeline as pipelines

    with sch.about("pipeline"):
        base, path = file_under(root, given, "pipeline", (".yaml", ".yml"), "pipeline file")
        try:
            spec = pipelines.load(path)
        except (InvalidInputError, NotFoundError) as exc:
            # the parser names the file by its absolute path: name it as the user did
            message = str(exc).replace(str(path), given)
            raise InvalidInputError(message.replace(str(base) + os.sep, "")) from None
        for step in spec.steps:
            if not step.notebook.is_relative_to(base):
                raise InvalidInputError(
                    f"pipeline {given!r:.200}: step {step.name}'s notebook is outside the "
                    "folder this Jupyter server shows"
                )
    return spec


def pipeline_doc(spec: Pipeline, root: str | None) -> dict[str, Any]:
    """``GET pipelines/steps``: the pipeline's name, description, model and steps in the
    order they run, each notebook named by its path under the server's folder."""
    base = Path(root or os.getcwd()).resolve()
    return {
        "path": spec.path.relative_to(base).as_posix(),
        "name": spec.name,
        "description": spec.description,
        "model": spec.model,
        "steps": [
            {
                "name": step.name,
                "notebook": step.notebook.relative_to(base).as_posix(),
                "depends_on": list(step.depends_on),
                "gate": step.gate,
            }
            for step in spec.order()
        ],
    }


def snapshot_steps(store: Store, schedule: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The steps of a pipeline schedule's approved snapshot, as written in its file
    (``None`` for a notebook, or when the snapshot cannot be read)."""
    import yaml

    if schedule["kind"] != "pipeline":
        return None
    sha = schedule["snapshot_sha256"]
    if sha not in _steps_cache:
        steps: list[dict[str, Any]] | None = None
        try:
            bundle = json.loads(store.get_artifact(sha).decode())
            text = store.get_artifact(bundle["files"][bundle["pipeline"]]).decode()
            steps = [
                {
                    "name": str(raw.get("name")),
                    "notebook": str(raw.get("notebook")),
                    "depends_on": _names(raw.get("depends_on")),
                    "gate": None if raw.get("gate") is None else str(raw["gate"]),
                }
                for raw in yaml.safe_load(text).get("steps") or []
                if isinstance(raw, dict)
            ]
        except (NotFoundError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError):
            steps = None
        _steps_cache[sha] = steps
    return _steps_cache[sha]


def _names(depends: Any) -> list[str]:
    if isinstance(depends, str):
        return [depends]
    return [str(d) for d in depends] if isinstance(depends, list) else []


class PipelineStepsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """A pipeline file under the server's folder, checked, with its steps (``path``)."""
        root = self.settings.get("mlops_nb_root")
        spec = pipeline_under(root, self.get_argument("path", ""))
        self.reply(pipeline_doc(spec, root))
