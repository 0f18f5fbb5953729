"""A :class:`~mlops_nb.registry.comparison.VersionComparison` as markdown.

For a pull-request comment or a CI job summary (``$GITHUB_STEP_SUMMARY``):
tables, the code diff folded in a ``<details>`` block. Every name, value
and line of code passes :func:`~mlops_nb.markdown.text` or
:func:`~mlops_nb.markdown.fenced`, so nothing a user wrote is read as markup.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ..display import format_number
from ..markdown import fenced, text
from ..text import printable

if TYPE_CHECKING:
    from ..records import ModelTest, ModelVersion
    from .comparison import VersionComparison


def render(c: VersionComparison) -> str:
    new, base = _label(c.new_ref, c.new), _label(c.base_ref, c.base)
    lines = [f"### Model {new} compared with {base}", ""]
    lines += _metrics(c, new, base)
    lines += _params(c, new, base)
    lines += _data(c, new, base)
    lines += _tests(c, new, base)
    lines += _drift(c)
    lines += _code(c)
    return "\n".join(lines).rstrip("\n") + "\n"


def _label(ref: str, version: ModelVersion) -> str:
    exact = f"{version.model}:{version.version}"
    shown = text(ref)
    return shown if ref == exact else f"{shown} \\({text(exact)}\\)"


def _value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return text(value)


def _delta(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "−") + format_number(abs(value))


def _metrics(c: VersionComparison, new: str, base: str) -> list[str]:
    if not c.metrics:
        return ["No metrics recorded for either version.", ""]
    rows = [f"| metric | {new} | {base} | Δ \\(new − base\\) |", "| --- | ---: | ---: | ---: |"]
    for m in c.metrics:
        rows.append(
            f"| {text(m['name'])} | {_value(m['new'])} | {_value(m['base'])} | "
            f"{_delta(m['delta'])} |"
        )
    return [*rows, ""]


def _params(c: VersionComparison, new: str, base: str) -> list[str]:
    if not c.params:
        return [f"**Parameters**: none changed \\({c.unchanged_params} the same\\).", ""]
    rows = [
        f"**Parameters**: {len(c.params)} changed, {c.unchanged_params} the same.",
        "",
        f"| parameter | {new} | {base} |",
        "| --- | --- | --- |",
    ]
    for p in c.params:
        rows.append(f"| {text(p['name'])} | {_value(p['new'])} | {_value(p['base'])} |")
    return [*rows, ""]


def _short(digest: Any) -> str:
    return f"`{digest[:12]}`" if isinstance(digest, str) and digest.isalnum() else "–"


def _data(c: VersionComparison, new: str, base: str) -> list[str]:
    a, b = c.data["new"], c.data["base"]
    verdict = "the same data" if c.data["same"] else "different data"
    rows = [
        f"**Training data**: {verdict}.",
        "",
        f"| | {new} | {base} |",
        "| --- | --- | --- |",
        f"| fingerprint | {_short(a['sha256'])} | {_short(b['sha256'])} |",
        f"| features | {_short(a['features_sha256'])} | {_short(b['features_sha256'])} |",
        f"| target | {_short(a['target_sha256'])} | {_short(b['target_sha256'])} |",
        f"| rows | {_value(a['rows'])} | {_value(b['rows'])} |",
        f"| columns | {_value(a['columns'])} | {_value(b['columns'])} |",
        "",
    ]
    schema = c.schema
    if not any(schema.values()):
        return [*rows, "**Schema**: the same columns and types.", ""]
    rows += ["**Schema**:", "", "| column | change |", "| --- | --- |"]
    for col in schema["added"]:
        rows.append(f"| {text(col['name'])} | added \\({text(col['dtype'])}\\) |")
    for col in schema["removed"]:
        rows.append(f"| {text(col['name'])} | removed \\(was {text(col['dtype'])}\\) |")
    for col in schema["changed"]:
        rows.append(f"| {text(col['name'])} | type {text(col['base'])} → {text(col['new'])} |")
    return [*rows, ""]


def _test_cell(test: ModelTest | None) -> list[str]:
    if test is None:
        return ["never tested", "–", "–"]
    passed = len(test.checks) - len(test.failed)
    verdict = f"{'✅ passed' if test.passed else '❌ failed'} \\({passed} of {len(test.checks)}\\)"
    if test.failed:
        verdict += ": " + ", ".join(text(f.name) for f in test.failed[:3])
        if len(test.failed) > 3:
            verdict += f" and {len(test.failed) - 3} more"
    return [text(test.suite), verdict, text(test.at)]


def _tests(c: VersionComparison, new: str, base: str) -> list[str]:
    rows = ["**Model tests** \\(the latest suite of each\\):", ""]
    rows += ["| version | suite | result | at |", "| --- | --- | --- | --- |"]
    for label, key in ((new, "new"), (base, "base")):
        rows.append(f"| {label} | " + " | ".join(_test_cell(c.tests[key])) + " |")
    return [*rows, ""]


def _drift(c: VersionComparison) -> list[str]:
    d = c.drift
    method = d["method"]  # our own sentence, markdown on purpose
    if "error" in d:
        return [f"**Drift between the training sets**: not compared: {text(d['error'])}.", ""]
    drifted = [col for col in d["columns"] if col["drift"]]
    testable = [col for col in d["columns"] if col["testable"]]
    verdict = "drift" if d["drift"] else "no drift"
    rows = [
        f"**Drift between the training sets**: {verdict} \\({len(drifted)} of "
        f"{len(testable)} features drifted; share {format_number(d['drift_share'])}, "
        f"threshold {format_number(d['share_threshold'])}\\).",
        "",
        f"<sub>Compared: {method}.</sub>",
        "",
    ]
    if drifted or d["findings"]:
        rows += ["| column | finding | statistic |", "| --- | --- | --- |"]
        for col in drifted:
            stat = _value(col["statistic"])
            rows.append(f"| {text(col['column'])} | drifted \\({text(col['method'])}\\) | {stat} |")
        for f in d["findings"]:
            rows.append(f"| {text(f['column'])} | {text(f['message'])} | – |")
        rows.append("")
    return rows


def _code(c: VersionComparison) -> list[str]:
    code = c.code
    if not code.get("lines"):
        if code.get("new_source") is None and code.get("base_source") is None:
            return ["**Code**: no training code kept to compare.", ""]
        return ["**Code**: the training code cells are the same.", ""]
    changed = sum(
        1 for line in code["lines"] if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    # Inside HTML markdown is not read: the summary escapes for HTML only.
    new_html = html.escape(printable(f"{c.new.model}:{c.new.version}"))
    base_html = html.escape(printable(f"{c.base.model}:{c.base.version}"))
    return [
        "<details>",
        f"<summary>Code: {changed} lines changed in the training code, from {base_html} to "
        f"{new_html}</summary>",
        "",
        fenced("\n".join(code["lines"]), "diff"),
        "",
        "</details>",
        "",
    ]
