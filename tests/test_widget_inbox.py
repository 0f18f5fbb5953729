"""The AlertInbox notebook widget: the inbox as HTML and text, and its actions through the core."""

from test_widgets import ESCAPED, EVIL, churn  # noqa: F401  (fixture)

import mlops_nb
from mlops_nb.display import format_time
from mlops_nb.monitoring.inbox import inbox
from mlops_nb.widgets import AlertInbox


def _drift_alert(store) -> dict:
    alerts = [a for a in inbox(store, "churn", "open") if a["kind"] == "drift"]
    assert alerts, inbox(store, "churn", "all")
    return alerts[0]


def test_the_inbox_shows_each_alert_with_its_times_in_their_zone(churn):  # noqa: F811
    alert = _drift_alert(churn)
    widget = AlertInbox("churn", store=churn, interactive=False)
    html, plain = widget.to_html(), str(widget)
    assert f"#{alert['alert_id']} churn drift open" in plain
    assert format_time(alert["opened_at"]) in html and format_time(alert["opened_at"]).endswith(
        " UTC"
    )
    assert ", ".join(alert["columns"]) in html
    assert "0 alerts: resolved alerts of churn" in str(AlertInbox("churn", "resolved", churn))


def test_acknowledge_then_ignore_until_a_date_through_the_widget(churn):  # noqa: F811
    alert = _drift_alert(churn)
    widget = AlertInbox("churn", state="all", store=churn, interactive=True)
    c = widget.controls
    c.alert.value = alert["alert_id"]
    assert not c.ack.disabled and not c.resolve.disabled  # the item's actions: ack, resolve
    c.note.value = EVIL
    c.ack.click()
    stored = next(a for a in inbox(churn, "churn", "all") if a["alert_id"] == alert["alert_id"])
    assert stored["state"] == "acknowledged" and stored["ack_note"] == EVIL
    assert ESCAPED in widget.to_html() and EVIL not in widget.to_html()
    assert c.ack.disabled and not c.resolve.disabled  # acknowledged: resolve only
    c.resolve.click()
    assert "choose a decision" in c.status.value
    c.decision.value = "ignore"
    c.until.value = "2020-01-01"
    c.resolve.click()  # refused by the core, shown in the widget, nothing changed
    assert "in the past" in c.status.value
    assert inbox(churn, "churn", "acknowledged")[0]["alert_id"] == alert["alert_id"]
    c.until.value = "2099-01-31"
    c.note.value = "seasonal"
    c.resolve.click()
    assert "ignore: silenced until Sat 2099-01-31" in c.status.value
    done = next(a for a in inbox(churn, "churn", "all") if a["alert_id"] == alert["alert_id"])
    assert (done["state"], done["decision"], done["note"]) == ("resolved", "ignore", "seasonal")
    assert alert["alert_id"] not in [v for _label, v in c.alert.options]  # nothing left to do
    assert c.resolve.disabled and c.alert.value is None
    c.resolve.click()  # clicked anyway: the core refuses, the widget says so
    assert "alert id" in c.status.value
    assert mlops_nb.verify(store=churn).ok
