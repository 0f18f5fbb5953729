"""A model card as Markdown, laid out as skops' model cards are.

skops writes a card as a YAML metadata block (``library_name``, ``tags``,
``model_format``, ...) followed by sections: "Model description" with
"Intended uses & limitations", "Training Procedure" (and its
"Hyperparameters") and "Evaluation Results" under it, then "How to Get
Started with the Model", "Model Card Authors", "Model Card Contact" and
"Citation", each top-level section a level-1 heading (no title above them:
skops' parser makes every heading a section). The card here uses the same
metadata keys and section titles, so it reads as one of theirs
(``skops.card.parse_modelcard`` finds each section where skops keeps it),
with what mlops-nb knows filled in. The metadata is written as JSON values,
which YAML reads unchanged, and every piece of user text passes
:func:`~mlops_nb.markdown.text` or :func:`~mlops_nb.markdown.paragraphs`, so
nothing a user wrote is read as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..markdown import fenced, paragraphs, text

__all__ = ["to_markdown"]

#: Shown where nothing was written (skops' template puts its own placeholder there).
UNWRITTEN = "Not written yet: edit it with `mlops-nb card edit` or in the panel."
#: What a card tells of the training environment (not the host, user or folder:
#: a card is meant to be shared).
ENVIRONMENT = ("python", "implementation", "os", "machine")
#: Titles of the written fields, as the card shows them.
TITLES = {
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
    "training_procedure": "Training procedure notes",
}


def to_markdown(card: dict[str, Any]) -> str:
    """``card`` (:func:`mlops_nb.cards.card`) as a Markdown document."""
    parts = [
        _metadata(card),
        _description(card),
        _intended(card),
        _training(card),
        _evaluation(card),
        _promotions(card),
        "# How to Get Started with the Model",
        "Load this exact version from the registry:",
        fenced(
            f"import mlops_nb\n\nmodel = mlops_nb.load_model({_ref(card)})",
            "python",
        ),
        "# Model Card Authors",
        text(card["written_by"]) if card["written_by"] else "Nobody has written on this card yet.",
        "# Model Card Contact",
        f"Registered by {text(card['created_by'])}.",
        "# Citation",
        f"Cite the model file by its SHA-256, {text(card['lineage'].get('artifact_sha256'))}.",
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _ref(card: dict[str, Any]) -> str:
    """``NAME:VERSION`` as a Python string literal (JSON's is one, quotes escaped)."""
    return json.dumps(f"{card['model']}:{card['version']}")


def _metadata(card: dict[str, Any]) -> str:
    meta: dict[str, Any] = {
        "library_name": "sklearn",
        "tags": ["sklearn", "skops", "mlops-nb"],
        "model_format": card["format"],
        "model_file": f"{card['model']}-v{card['version']}.{card['format']}",
        "model_name": card["model"],
        "model_version": card["version"],
        "artifact_sha256": card["lineage"].get("artifact_sha256"),
        "data_sha256": card["data"]["sha256"],
    }
    if card["metrics"]:
        meta["metrics"] = sorted(card["metrics"])
    lines = [f"{key}: {json.dumps(value)}" for key, value in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(text("" if v is None else v) for v in row) + " |")
    return "\n".join(out)


def _written(card: dict[str, Any], field: str) -> str:
    value = card["written"].get(field)
    return paragraphs(value) if value else UNWRITTEN


def _description(card: dict[str, Any]) -> str:
    facts = [
        ("Estimator", card["estimator"]),
        ("Model file format", card["format"]),
        ("Registered", f"{card['created_at']} by {card['created_by']}"),
        ("Aliases now", ", ".join(card["aliases"]) or "none"),
        ("Model file SHA-256", card["lineage"].get("artifact_sha256")),
    ]
    facts += [(f"Tag {k}", v) for k, v in sorted(card["tags"].items())]
    about = paragraphs(card["description"]) if card["description"] else "No description written."
    title = f"Version {card['version']} of the model {text(card['model'])}."
    return (
        "# Model description\n\n" + title + "\n\n" + about + "\n\n" + _table(["", "Value"], facts)
    )


def _intended(card: dict[str, Any]) -> str:
    sections = [
        "## Intended uses & limitations",
        f"### {TITLES['intended_use']}",
        _written(card, "intended_use"),
        f"### {TITLES['limitations']}",
        _written(card, "limitations"),
        f"### {TITLES['ethical_considerations']}",
        _written(card, "ethical_considerations"),
    ]
    return "\n\n".join(sections)


def _training(card: dict[str, Any]) -> str:
    lin = card["lineage"]
    env = lin.get("environment") or {}
    facts = [
        ("Training data SHA-256", card["data"]["sha256"] or "not recorded"),
        ("Run", lin.get("run_id") or "not recorded"),
        ("Notebook", lin.get("notebook_path") or "none"),
        ("Executed notebook SHA-256", lin.get("notebook_sha256") or "none"),
        ("Git commit", _commit(lin)),
    ]
    facts += [(f"Environment: {k}", env[k]) for k in ENVIRONMENT if _scalar(env.get(k))]
    packages = env.get("packages")
    if isinstance(packages, dict):
        facts += [(f"Package: {k}", v) for k, v in sorted(packages.items()) if _scalar(v)]
    out = [
        "## Training Procedure",
        _written(card, "training_procedure"),
        _table(["", "Value"], facts),
        "### Training data schema",
        _table(
            ["Column", "Type"], [(c.get("name"), c.get("dtype")) for c in card["data"]["schema"]]
        )
        if card["data"]["schema"]
        else "No schema recorded.",
        "### Hyperparameters",
        _table(["Hyperparameter", "Value"], sorted(lin.get("params", {}).items()))
        if lin.get("params")
        else "No hyperparameters recorded.",
    ]
    return "\n\n".join(out)


def _commit(lin: dict[str, Any]) -> str:
    commit = lin.get("git_commit")
    if not commit:
        return "not recorded"
    return f"{commit} (uncommitted changes)" if lin.get("git_dirty") else commit


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _evaluation(card: dict[str, Any]) -> str:
    out = ["## Evaluation Results"]
    if card["metrics"]:
        out.append(_table(["Metric", "Value"], sorted(card["metrics"].items())))
    else:
        out.append("No metrics recorded.")
    tests = card["tests"]
    out.append("### Model tests")
    if tests["runs"]:
        out.append(f"{tests['passed']} of {tests['runs']} test runs passed; the newest:")
        out.append(
            _table(
                ["Test run", "At", "Suite", "Passed", "Checks failed"],
                [
                    (
                        r["id"],
                        r["at"],
                        r["suite"],
                        "yes" if r["passed"] else "no",
                        ", ".join(c["name"] for c in r["checks"] if not c["passed"]) or "none",
                    )
                    for r in tests["recent"]
                ],
            )
        )
    else:
        out.append("Never tested (`mlops-nb test`).")
    drift = card["drift"]
    out.append("### Drift history")
    if drift["checks"]:
        out.append(
            f"{drift['checks']} drift checks from {text(drift['first_at'])} to "
            f"{text(drift['last_at'])}: {drift['drifted']} found drift, "
            f"{drift['degraded']} found performance degraded."
        )
        out.append(
            _table(
                ["Check", "At", "Rows", "Drift", "Share of columns drifted"],
                [
                    (c["id"], c["at"], c["rows"], "yes" if c["drift"] else "no", c["drift_share"])
                    for c in drift["recent"]
                ],
            )
        )
    else:
        out.append("Never checked for drift.")
    return "\n\n".join(out)


def _promotions(card: dict[str, Any]) -> str:
    rows = [
        (p["at"], p["action"], p["alias"], p["actor"], p["gate"] or "none", p["reason"] or "")
        for p in card["promotions"]
    ]
    rows += [
        (r["at"], "refused", r["alias"], r["actor"], r["gate"], "; ".join(r["failures"]))
        for r in card["refusals"]
    ]
    if not rows:
        return "## Promotions and gates\n\nNever promoted, never refused."
    rows.sort(key=lambda r: r[0])
    head = ["At", "Action", "Alias", "By", "Gate", "Reason or failures"]
    return "## Promotions and gates\n\n" + _table(head, rows)
