"""The evidence pack as one self-contained, printable HTML page.

No script, no stylesheet or font from elsewhere, no image: inline CSS with
print rules (a browser's "Print to PDF" gives the paper copy), and a
Content-Security-Policy that forbids loading anything, so the page reads
the same offline, mailed or archived, years later. Every value from the
store is escaped: names, reasons and notes are user text.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from ..execution.report import CONTENT_SECURITY_POLICY

_CSS = """
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1d;margin:2em;
max-width:70em}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em;
border-bottom:1px solid #999}h3{font-size:1.05em;margin:1.1em 0 .3em}
table{border-collapse:collapse;width:100%;margin:.3em 0 1em}
th,td{border:1px solid #bbb;padding:.25em .45em;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#eee}code,pre{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;border:1px solid #ddd}
.ok{color:#11602a;font-weight:bold}.bad{color:#a40000;font-weight:bold}
.stamp{border:2px solid;padding:.6em 1em;margin:1em 0}.stamp.ok{border-color:#11602a}
.stamp.bad{border-color:#a40000}.muted{color:#666}.time{white-space:nowrap}
@media print{body{margin:0;max-width:none;font-size:10.5px}h2{break-after:avoid}
tr,.stamp,section.version{break-inside:avoid}th{background:#eee !important;
-webkit-print-color-adjust:exact;print-color-adjust:exact}}
@page{margin:15mm;size:A4}
"""


_STORE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}\.\d{6})\+00:00")


def _e(value: Any) -> str:
    found = _STORE_TIME.fullmatch(value) if isinstance(value, str) else None
    if found is not None:
        # a time as the store writes it (always UTC): kept exact, on one line
        return f'<span class="time">{found[1]} {found[2]} UTC</span>'
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        if not value:
            return '<span class="muted">—</span>'
        return f"<code>{escape(json.dumps(value, sort_keys=True, default=str))}</code>"
    return escape(str(value))


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return '<p class="muted">None in the period.</p>'
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(pairs: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_e(v)}</td></tr>" for k, v in pairs.items())
    return f"<table><tbody>{rows}</tbody></table>" if rows else '<p class="muted">None.</p>'


def _version(v: dict[str, Any]) -> str:
    data, nb, git = v["data"], v["notebook"], v["git"]
    facts = {
        "created at": v["created_at"],
        "created by": v["created_by"],
        "estimator": v["estimator"],
        "model file SHA-256": v["artifact_sha256"],
        "run": v["run_id"],
        "metrics": v["metrics"],
        "parameters": v["params"],
        "data SHA-256": data["sha256"],
        "data shape": f"{data['rows']} rows × {data['columns']} columns"
        if data["rows"] is not None
        else None,
        "target": data["target"],
        "training notebook": nb["path"],
        "notebook run": nb["run_id"],
        "executed notebook SHA-256": nb["executed_sha256"],
        "notebook input SHA-256": nb["input_sha256"],
        "git commit": None
        if git["commit"] is None
        else f"{git['commit']}{' (uncommitted changes)' if git['dirty'] else ''}",
        "description": v["description"],
    }
    env = v["environment"] or {}
    tests = [
        {
            "at": t["at"],
            "suite": t["suite"],
            "passed": t["passed"],
            "against": t["against"],
            "by": t["actor"],
            "failed checks": [c["name"] for c in t["checks"] if not c["passed"]],
        }
        for t in v["tests"]
    ]
    schema = data["schema"]
    schema_columns = ["name", *sorted({k for c in schema for k in c} - {"name"})]
    return (
        f'<section class="version"><h3>Version {_e(v["version"])}</h3>{_pairs(facts)}'
        f"<h4>Training data schema</h4>{_table(schema, schema_columns) if schema else _e(None)}"
        f"<h4>Environment</h4>{_pairs(env)}<h4>Tests</h4>{_table(tests)}</section>"
    )


def _step(step: dict[str, Any] | None) -> str | None:
    """An alert's acknowledgement or resolution: when, and by whom."""
    return None if step is None else f"{step['at']} by {step['by']}"


def _alerts(alerts: list[dict[str, Any]]) -> str:
    rows = [
        {
            "alert": a["alert_id"],
            "kind": a["kind"],
            "opened": a["opened_at"],
            "repeats": a["count"],
            "message": a["message"],
            "state": a["state"],
            "acknowledged": _step(a["acknowledged"]),
            "ack note": a["ack_note"],
            "resolved": _step(a["resolved"]),
            "decision": a["decision"],
            "note": a["note"],
        }
        for a in alerts
    ]
    return _table(rows)


def _is_card(value: Any) -> bool:
    return isinstance(value, dict) and {"version", "written"} <= set(value)


def _section(key: str, value: Any) -> str:
    title = {"requests": "Promotion requests", "cards": "Model cards"}.get(
        key, key.replace("_", " ").capitalize()
    )
    if key == "cards" and isinstance(value, list) and all(_is_card(c) for c in value):
        from ..cards import to_markdown

        body = "".join(
            f"<h3>Version {escape(str(c['version']))}</h3><pre>{escape(to_markdown(c))}</pre>"
            for c in value
        )
    elif isinstance(value, list) and all(isinstance(r, dict) for r in value):
        body = _table(value)
    elif isinstance(value, dict):
        body = _pairs(value)
    elif isinstance(value, str):
        body = f"<pre>{escape(value)}</pre>"
    else:
        body = f"<pre>{escape(json.dumps(value, indent=2, sort_keys=True, default=str))}</pre>"
    return f"<h2>{escape(title)}</h2>{body}"


def render(pack: dict[str, Any]) -> str:
    """The pack built by :func:`mlops_nb.evidence.pack.build` as a complete HTML page."""
    name, span = pack["model"], pack["period"]
    verification = pack["audit"]["verification"]
    ok = verification["ok"]
    stamp = (
        f'<div class="stamp {"ok" if ok else "bad"}"><span class="{"ok" if ok else "bad"}">'
        f"Audit verification {'PASSED' if ok else 'FAILED'}</span> at "
        f"{_e(verification['verified_at'])}: {_e(verification['events'])} events and "
        f"{_e(verification['artifacts'])} artifacts checked; chain head "
        f"<code>{_e(verification['head'])}</code>"
        + ("" if ok else f"<br>First problem: {_e(verification['problem'])}")
        + "</div>"
    )
    head = pack["audit"]["head"]
    holders = [{k: h[k] for k in ("alias", "version", "from", "to", "set_by", "action", "reason",
                                  "gate")} for h in pack["holders"]]  # fmt: skip
    accepted = [
        {k: c.get(k) for k in ("at", "alias", "action", "from_version", "to_version", "actor",
                               "reason", "gate")} for c in pack["promotions"]["accepted"]
    ]  # fmt: skip
    refused = [
        {k: r.get(k) for k in ("at", "alias", "from_version", "to_version", "actor", "gate",
                               "failures", "reason")} for r in pack["promotions"]["refused"]
    ]  # fmt: skip
    checks = [
        {k: c[k] for k in ("id", "at", "version", "batch", "rows", "drift", "drift_share",
                           "degraded", "drifted_columns", "retrain_run_id")}
        for c in pack["drift_checks"]
    ]  # fmt: skip
    serving = pack["serving"]
    extra = "".join(_section(k, pack[k]) for k in pack.get("sections", []) if k in pack)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>Evidence pack — {escape(name)} — {escape(span['from'][:10])} to "
        f"{escape(span['to'][:10])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evidence pack: {escape(name)}</h1>",
        f"<p>Period {_e(span['from'])} to {_e(span['to'])}. Generated {_e(pack['generated_at'])} "
        f"by {_e(pack['generated_by'])} from store {_e(pack['store']['store_id'])} "
        f"({_e(pack['store']['backend'])}).</p>",
        stamp,
        "<h2>Who held each alias</h2>",
        _table(holders),
        "<h2>Promotions</h2><h3>Accepted (alias moves)</h3>",
        _table(accepted),
        "<h3>Refused by a gate</h3>",
        _table(refused),
        "<h2>Versions and their lineage</h2>",
        "".join(_version(v) for v in pack["versions"]) or _table([]),
        "<h2>Drift checks</h2>",
        _table(checks),
        "<h2>Alerts and decisions</h2>",
        _alerts(pack["alerts"]),
        "<h2>Serving</h2><h3>Serving processes</h3>",
        _table(serving["events"]),
        "<h3>Canary and shadow deploys</h3>",
        _table(serving["deployments"]),
        extra,
        "<h2>Audit chain</h2>",
        _pairs({"head event": head["seq"], "head hash": head["hash"], "written at": head["at"]}),
        '<p class="muted">The chain proves every record above is as it was written; to prove '
        "when, compare the head with a checkpoint kept outside the store "
        "(<code>mlops-nb audit verify --checkpoint FILE</code>).</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
