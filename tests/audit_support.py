"""Forgeries shared by the audit tests: what someone with write access to the store can do."""

import json

from mlops_nb.store import audit


def _rewrite_history(tamper):
    """What anyone with write access can do: change a metric in its row and in
    its event, then recompute every hash from there on."""
    from mlops_nb.jsonutil import canonical
    from mlops_nb.store.chain import event_hash

    better = {"accuracy": 0.99}
    tamper(
        "update model_versions set metrics = :m where model = 'churn' and version = 1",
        m=canonical(better),
    )
    prev = None
    for ev in tamper("select * from events order by seq"):
        payload = ev.payload
        if ev.kind == "version.created" and ev.subject == "churn:1":
            payload = canonical({**json.loads(payload), "metrics": better})
        prev_hash = ev.prev_hash if prev is None else prev
        digest = event_hash(ev.seq, ev.at, ev.actor, ev.kind, ev.subject, payload, prev_hash)
        tamper(
            "update events set payload = :p, prev_hash = :ph, hash = :h where seq = :s",
            p=payload,
            ph=prev_hash,
            h=digest,
            s=ev.seq,
        )
        prev = digest


def _cut_newest(store, tamper):
    """Append one event and its row, then remove both: the chain is just shorter."""
    run_id = store.list_runs()[0].run_id
    store.set_run_value(run_id, "late", 1, "me")
    checkpoint = audit.checkpoint(store)
    tamper("delete from run_values where \"key\" = 'late'")
    tamper("delete from events where seq = :s", s=checkpoint.seq)
    return checkpoint
