"""The compliance evidence pack (``mlops-nb audit report``), on SQLite and PostgreSQL.

One story, told with the simulated clock: the route model ``routes`` is
trained in spring, replaced in June, checked weekly through a hot July,
refused a worse candidate, and replaced again in August and in September.
The pack of the summer must name exactly who held each alias, clipped to
the period, and everything else that happened in it.
"""

from __future__ import annotations

import json
import re

import pytest

from mlops_nb import registry, tracking
from mlops_nb.datasets import make_pool_visits, route_feature_columns
from mlops_nb.errors import ConflictError, GateFailedError, InvalidInputError, NotFoundError
from mlops_nb.evidence import report
from mlops_nb.jsonutil import simulated_clock
from mlops_nb.monitoring import inbox
from mlops_nb.monitoring.monitor import check_drift

pytestmark = pytest.mark.backends

SUMMER = ("2026-06-01", "2026-08-31")
COLUMNS = route_feature_columns()


def _train(store, seed: int, heat: float, *, noise: float = 0.0):
    from sklearn.linear_model import Ridge

    data = make_pool_visits(200, seed=seed, heat=heat)
    model = Ridge(alpha=1.0 + noise).fit(data[COLUMNS], data["minutes"])
    mae = 2.0 + noise  # the metric the gates compare: set, so the story is exact
    with tracking.track(
        store, "routes", model=model, data=data[COLUMNS], target=data["minutes"],
        metrics={"mae": mae},
    ) as run:  # fmt: skip
        pass
    return run


@pytest.fixture
def summer(store, monkeypatch):
    """The story; returns the store and the alias changes and refusal it made, by name."""
    monkeypatch.setenv("MLOPS_NB_ACTOR", "ana")
    made = {}
    with simulated_clock("2026-04-01T08:00") as clock:
        _train(store, 1, 0.0, noise=0.5)
        made["v1"] = registry.promote(store, "routes", 1, reason="first route model")
        clock.set("2026-05-15T09:00")
        _train(store, 2, 0.2, noise=0.2)
        made["staging"] = registry.promote(store, "routes", 2, alias="staging", actor="ben")
        clock.set("2026-06-10T09:00")
        made["v2"] = registry.promote(
            store, "routes", 2, require="mae<=production", reason="spring data", actor="ben"
        )
        clock.set("2026-06-15T06:00")
        for week in range(6):  # weekly checks from mid-June; July is hot
            clock.advance(days=7 if week else 0)
            batch = make_pool_visits(150, seed=40 + week, heat=min(1.0, 0.2 + 0.2 * week))
            check_drift(store, "routes@production", batch[COLUMNS], batch=f"week {week}")
        clock.set("2026-07-25T10:00")
        _train(store, 3, 0.8, noise=1.0)
        with pytest.raises(GateFailedError):
            registry.promote(store, "routes", 3, require="mae<=production", reason="hot weeks")
        made["refused"] = store.alias_refusals("routes")[-1]
        alert = inbox.inbox(store, "routes", "open")[-1]
        inbox.ack(store, alert["alert_id"], "heat wave: <b>checking</b> the pools", actor="cleo")
        clock.set("2026-08-20T07:30")
        _train(store, 4, 0.9, noise=-0.1)
        made["v4"] = registry.promote(store, "routes", 4, require="mae<=production", actor="ben")
        inbox.resolve(
            store, alert["alert_id"], "ignore", "retrained as version 4",
            until="2026-12-31", actor="cleo",
        )  # fmt: skip
        clock.set("2026-09-15T12:00")
        made["v1_back"] = registry.promote(store, "routes", 1, reason="autumn")
    made["alert_id"] = alert["alert_id"]
    return store, made


def test_holders_are_every_version_with_exact_intervals_clipped_to_the_period(summer):
    store, made = summer
    pack = report(store, "routes", *SUMMER).to_json()
    start, end = "2026-06-01T00:00:00.000000+00:00", "2026-08-31T23:59:59.999999+00:00"
    assert pack["period"] == {"from": start, "to": end}
    got = [{k: h[k] for k in ("alias", "version", "from", "to", "set_by", "reason")}
           for h in pack["holders"]]  # fmt: skip
    assert got == [
        {"alias": "production", "version": 1, "from": start, "to": made["v2"].at,
         "set_by": "ana", "reason": "first route model"},
        {"alias": "production", "version": 2, "from": made["v2"].at, "to": made["v4"].at,
         "set_by": "ben", "reason": "spring data"},
        {"alias": "production", "version": 4, "from": made["v4"].at, "to": end,
         "set_by": "ben", "reason": None},
        {"alias": "staging", "version": 2, "from": start, "to": end, "set_by": "ben",
         "reason": None},
    ]  # fmt: skip
    first, second, third, staging = pack["holders"]
    assert first["set_at"] == made["v1"].at and first["until"] == made["v2"].at
    assert third["until"] == made["v1_back"].at  # replaced after the period
    assert staging["until"] is None  # holds it still
    assert second["gate"].startswith("mae<=production [") and first["gate"] is None
    # the same answers as `which --at` at any moment inside each interval
    for holder in pack["holders"]:
        lineage = registry.which(store, f"routes@{holder['alias']}", at=holder["from"])
        assert lineage.version == holder["version"]

    # a period inside one holder's time: one interval per alias, clipped at both ends
    july = report(store, "routes", "2026-07-01", "2026-07-31T12:00").to_json()
    assert [(h["alias"], h["version"], h["from"], h["to"]) for h in july["holders"]] == [
        ("production", 2, "2026-07-01T00:00:00.000000+00:00", "2026-07-31T12:00:00.000000+00:00"),
        ("staging", 2, "2026-07-01T00:00:00.000000+00:00", "2026-07-31T12:00:00.000000+00:00"),
    ]
    # a period reaching past now: a holder that holds still is shown up to now, not beyond
    later = report(store, "routes", "2026-09-01", "2099-12-31").to_json()
    still = [h for h in later["holders"] if h["until"] is None]
    assert [(h["alias"], h["version"]) for h in still] == [("production", 1), ("staging", 2)]
    assert all(h["to"] == later["generated_at"] for h in still)
    # before anything held an alias: no holders, and nothing else either
    early = report(store, "routes", "2026-01-01", "2026-03-31").to_json()
    assert early["holders"] == [] and early["versions"] == [] and early["drift_checks"] == []


def test_promotions_accepted_and_refused_lineage_checks_and_alerts(summer):
    store, made = summer
    pack = report(store, "routes", *SUMMER).to_json()
    assert [(c["alias"], c["to_version"], c["actor"]) for c in pack["promotions"]["accepted"]] == [
        ("production", 2, "ben"),
        ("production", 4, "ben"),
    ]
    (refused,) = pack["promotions"]["refused"]
    assert refused["to_version"] == 3 and refused["from_version"] == 2
    assert refused["gate"] == "mae<=production" and refused["reason"] == "hot weeks"
    assert refused["at"] == made["refused"].at and refused["failures"]
    # versions: those that held an alias, were created, promoted or refused in the period
    assert [v["version"] for v in pack["versions"]] == [1, 2, 3, 4]
    v2 = pack["versions"][1]
    run = store.get_run(store.get_version("routes", 2).run_id)
    assert v2["data"]["sha256"] == store.get_version("routes", 2).data_sha256 == run.data["sha256"]
    assert [c["name"] for c in v2["data"]["schema"]] == COLUMNS
    assert v2["data"]["rows"] == 200 and v2["metrics"] == {"mae": 2.2}
    assert v2["environment"] == run.environment and v2["environment"]["python"]
    assert v2["git"] == {"commit": run.git_commit, "dirty": run.git_dirty}
    assert v2["created_at"].startswith("2026-05-15T09:00")
    # six weekly checks, all in the period, each with its version and verdict
    checks = pack["drift_checks"]
    assert len(checks) == 6 and all(c["version"] == 2 for c in checks)
    assert [c["batch"] for c in checks] == [f"week {w}" for w in range(6)]
    assert any(c["drift"] for c in checks) and not checks[0]["drift"]
    # the alert, its acknowledgement and decision, with their notes
    (alert,) = [a for a in pack["alerts"] if a["alert_id"] == made["alert_id"]]
    assert alert["acknowledged"]["by"] == "cleo"
    assert alert["ack_note"] == "heat wave: <b>checking</b> the pools"
    assert alert["decision"] == "ignore" and alert["note"] == "retrained as version 4"
    assert alert["state"] == "resolved" and alert["resolved"]["at"].startswith("2026-08-20")
    assert pack["audit"]["verification"]["ok"] is True
    assert pack["audit"]["head"]["hash"] == pack["audit"]["verification"]["head"]
    json.dumps(pack)  # JSON-able as it is


def test_model_tests_and_serving_events_in_the_pack(summer, tmp_path):
    from mlops_nb.testing import run_suite

    store, _ = summer
    holdout = make_pool_visits(120, seed=99, heat=0.5)
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    suite = tmp_path / "routes.yaml"
    suite.write_text("data: holdout.csv\ntarget: minutes\nchecks:\n  - metric: mae\n    max: 50\n")
    with simulated_clock("2026-10-01T08:00"):
        result = run_suite(store, "routes:4", suite)
        store.record_deploy(
            {"instance": "a1b2c3d4e5f6", "server": "f6e5d4c3b2a1", "model": "routes",
             "alias": "production", "action": "started", "from_version": None,
             "to_version": 1, "at": "2026-10-01T08:00:01.000000+00:00", "host": "routes-box",
             "address": "127.0.0.1:8000", "pid": 4242, "reason": None},
            "ana",
        )  # fmt: skip
    pack = report(store, "routes", "2026-06-01", "2026-10-31").to_json()
    (v4,) = [v for v in pack["versions"] if v["version"] == 4]
    (test,) = v4["tests"]
    assert test["passed"] is result.passed is True and test["suite"] == "routes.yaml"
    assert [c["name"] for c in test["checks"]] == [c.name for c in result.checks]
    (event,) = pack["serving"]["events"]
    assert event["action"] == "started" and event["to_version"] == 1
    assert event["address"] == "127.0.0.1:8000"
    html = report(store, "routes", "2026-06-01", "2026-10-31").to_html()
    assert "routes.yaml" in html and "127.0.0.1:8000" in html
    # outside the period: neither
    summer_only = report(store, "routes", *SUMMER).to_json()
    assert summer_only["serving"]["events"] == []


def test_a_tampered_chain_is_stamped_failed(summer, tamper, cli, tmp_path):
    store, _ = summer
    assert report(store, "routes", *SUMMER).verified
    tamper("update events set actor = 'mallory' where seq = 3")
    pack = report(store, "routes", *SUMMER)
    stamp = pack.to_json()["audit"]["verification"]
    assert stamp["ok"] is False and stamp["seq"] == 3 and "altered" in stamp["problem"]
    assert stamp["verified_at"] > "2026-11-01"  # the real time of the check
    html = pack.to_html()
    assert "Audit verification FAILED" in html and "PASSED" not in html
    out = tmp_path / "tampered.html"
    result = cli("audit", "report", "routes", "--from", SUMMER[0], "--to", SUMMER[1],
                 "-o", str(out), "--json")  # fmt: skip
    assert result.code == 5, result.err
    assert "audit verify failed" in result.err and "event 3" in result.err
    assert result.json()["audit"]["verification"]["ok"] is False
    assert "Audit verification FAILED" in out.read_text()


_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_the_page_is_self_contained_printable_and_escaped(summer, monkeypatch):
    store, _ = summer
    monkeypatch.setenv("MLOPS_NB_ACTOR", "eve")
    with simulated_clock("2026-08-30T10:00"):
        registry.promote(
            store, "routes", 3, alias="staging",
            reason='<script src="https://cdn.example/x.js"></script><img src=x onerror=alert(1)>',
        )  # fmt: skip
    html = report(store, "routes", *SUMMER).to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert not _EXTERNAL.search(html), _EXTERNAL.search(html)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script src=&quot;https://cdn.example/x.js&quot;&gt;" in html
    assert "&lt;b&gt;checking&lt;/b&gt;" in html  # the alert's note
    assert "@media print" in html and "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    # the self-containment check itself fails on an external reference
    assert _EXTERNAL.search('<link href="https://cdn.example/a.css">')
    assert _EXTERNAL.search("<img src='//cdn.example/a.png'>")


def test_extra_sections_render_and_keys_are_checked(summer):
    store, _ = summer
    seen = []

    def requests(store_, model, start, end):
        seen.append((model, start, end))
        return [{"id": 1, "alias": "production", "version": 4, "state": "approved",
                 "note": "<ok>"}]  # fmt: skip

    def cards(store_, model, start, end):
        return {"4": "# routes v4\nintended use: <schedules>"}

    pack = report(store, "routes", *SUMMER, sections={"requests": requests, "cards": cards})
    data = pack.to_json()
    assert data["sections"] == ["requests", "cards"]
    assert data["requests"][0]["state"] == "approved" and data["cards"]["4"].startswith("# routes")
    assert seen == [("routes", data["period"]["from"], data["period"]["to"])]
    html = pack.to_html()
    assert "<h2>Promotion requests</h2>" in html and "<h2>Model cards</h2>" in html
    assert "&lt;ok&gt;" in html and "&lt;schedules&gt;" in html
    with pytest.raises(InvalidInputError, match="holders"):
        report(store, "routes", *SUMMER, sections={"holders": requests})


def test_the_pack_carries_each_described_versions_model_card(summer):
    from mlops_nb import cards

    store, _ = summer
    cards.edit_card(
        store, "routes", 2, intended_use="Schedule <pool> visits", limitations="Not winter"
    )
    data = report(store, "routes", *SUMMER).to_json()
    assert data["sections"] == ["requests", "cards"]
    assert [c["version"] for c in data["cards"]] == [v["version"] for v in data["versions"]]
    card = next(c for c in data["cards"] if c["version"] == 2)
    assert card["written"]["intended_use"] == "Schedule <pool> visits"
    assert (
        card["data"]["sha256"]
        == next(v for v in data["versions"] if v["version"] == 2)["data"]["sha256"]
    )
    html = report(store, "routes", *SUMMER).to_html()
    assert "<h2>Model cards</h2>" in html and "<h3>Version 2</h3>" in html
    assert "Not winter" in html and "<pool>" not in html


def test_bad_input_in_python(summer):
    store, made = summer
    with pytest.raises(InvalidInputError, match="after it ends"):
        report(store, "routes", "2026-09-01", "2026-06-01")
    with pytest.raises(InvalidInputError, match="not an ISO date"):
        report(store, "routes", "last summer", "2026-06-01")
    with pytest.raises(NotFoundError, match="no model named 'trucks'"):
        report(store, "trucks", *SUMMER)
    # one day, from its start to its end: production changed hands that morning
    day = report(store, "routes", "2026-06-10", "2026-06-10").to_json()
    assert [(h["version"], h["from"][11:], h["to"][11:]) for h in day["holders"][:2]] == [
        (1, "00:00:00.000000+00:00", made["v2"].at[11:]),
        (2, made["v2"].at[11:], "23:59:59.999999+00:00"),
    ]


def test_cli_report_outputs_and_exit_codes(summer, cli, tmp_path):
    out = tmp_path / "summer.html"
    ok = cli("audit", "report", "routes", "--from", SUMMER[0], "--to", SUMMER[1], "-o", str(out))
    assert ok.code == 0, ok.err
    assert "production: version 2 from 2026-06-10T09:00" in ok.out
    assert "audit verify passed" in ok.out and f"written to {out}" in ok.out
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and not _EXTERNAL.search(page)
    doc = cli("audit", "report", "routes", "--from", SUMMER[0], "--to", SUMMER[1], "--json")
    assert doc.code == 0 and doc.json()["kind"] == "mlops-nb evidence pack"
    assert [h["version"] for h in doc.json()["holders"]] == [1, 2, 4, 2]
    for args, code, message in (
        (("routes", "--from", "2026-09-01", "--to", "2026-06-01"), 2, "after it ends"),
        (("routes", "--from", "June", "--to", "2026-06-01"), 2, "not an ISO date"),
        (("routes", "--from", "2026-02-30", "--to", "2026-06-01"), 2, "not a valid date"),
        (("routes", "--to", "2026-06-01"), 2, "needs --from"),
        (("--from", "2026-06-01", "--to", "2026-08-31"), 2, "needs NAME"),
        (("trucks", "--from", "2026-06-01", "--to", "2026-08-31"), 3, "no model named"),
        (("routes", "--from", "2026-06-01", "--to", "2026-08-31", "-o",
          str(tmp_path / "no" / "such" / "dir.html")), 2, "cannot write"),
    ):  # fmt: skip
        result = cli("audit", "report", *args)
        assert result.code == code, (args, result.err)
        assert message in result.err and result.err.count("\n") == 1, result.err
    misplaced = cli("audit", "log", "--from", "2026-06-01")
    assert misplaced.code == 2 and "--from goes with `audit report`" in misplaced.err
    assert not (tmp_path / "no").exists()


def test_the_simulated_clock_moves_only_forward(store):
    with simulated_clock("2026-06-01") as clock:
        assert clock.now() == "2026-06-01T00:00:00.000000+00:00"
        with pytest.raises(InvalidInputError, match="does not go back"):
            clock.set("2026-05-31")
        with pytest.raises(InvalidInputError, match="does not go back"):
            clock.advance(days=-1)
        with pytest.raises(ConflictError, match="already running"), simulated_clock("2026-07-01"):
            pass
        from mlops_nb.jsonutil import utcnow

        first, second = utcnow(), utcnow()
        assert first == "2026-06-01T00:00:00.000000+00:00" < second
    assert utcnow() > "2026-11-01"  # the real clock again


def test_a_version_trained_by_an_executed_notebook_names_it(store, tmp_path):
    """Lineage of a version made by ``mlops-nb run``: the executed notebook and its hash."""
    from pathlib import Path

    from mlops_nb.execution.runner import run_notebook
    from mlops_nb.jsonutil import utcnow

    tiny = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
    began = utcnow()
    parent = run_notebook(tiny, {"x": 2}, store=store, cwd=tmp_path)
    assert parent.status == "finished", parent.error
    registry.promote(store, "tiny", 1, reason="from the executed notebook")
    pack = report(store, "tiny", began, utcnow()).to_json()
    (version,) = pack["versions"]
    assert version["notebook"]["run_id"] == parent.run_id
    assert version["notebook"]["executed_sha256"] == parent.output_sha256
    assert version["notebook"]["input_sha256"] == parent.input_sha256
    assert version["notebook"]["path"].endswith("tiny_tracked.ipynb")
    assert version["params"]["x"] == 2
    lineage = registry.which(store, "tiny@production")
    assert lineage.notebook_sha256 == parent.output_sha256 == version["notebook"]["executed_sha256"]
    assert pack["holders"][0]["reason"] == "from the executed notebook"
    assert store.get_artifact(parent.output_sha256)  # the notebook itself is in the store


def test_holder_intervals_at_the_edges_of_the_period():
    """A move at the very first or last moment: as ``which --at`` answers at those moments."""
    from mlops_nb.evidence.pack import _holders
    from mlops_nb.records import AliasChange

    def at(day: str) -> str:
        return f"2026-{day}.000000+00:00"

    def move(n: int, when: str, version: int) -> AliasChange:
        return AliasChange(n, "routes", "production", "promote", None, version, at(when), "ana")

    first, last, now = at("06-01T00:00:00"), at("08-31T23:59:59"), at("11-30T12:00:00")
    moves = [
        move(1, "05-01T00:00:00", 1),  # before the period, replaced at its first moment
        move(2, "06-01T00:00:00", 2),  # at the first moment
        move(3, "07-01T00:00:00", 3),
        move(4, "07-01T00:00:00", 4),  # the same instant: the later change wins, 3 held no time
        move(5, "08-31T23:59:59", 5),  # at the last moment
        move(6, "09-01T00:00:00", 6),  # after the period
    ]
    got = [(h["version"], h["from"], h["to"]) for h in _holders(moves, first, last, now)]
    assert got == [
        (2, first, at("07-01T00:00:00")),
        (4, at("07-01T00:00:00"), last),
        (5, last, last),
    ]
    assert _holders(moves[:1], first, last, now)[0]["to"] == last  # holds still: to the end
    assert _holders(moves[:1], first, at("12-31T00:00:00"), now)[0]["to"] == now
    assert _holders([], first, last, now) == []
