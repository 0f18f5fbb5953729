"""Checkpoints: the chain's head kept outside the store, and each rule of its file format."""

import hashlib
import json

import pytest
from audit_support import _cut_newest, _rewrite_history

from mlops_nb import registry
from mlops_nb.store import audit

pytestmark = pytest.mark.backends


def test_checkpoint_is_the_head_of_an_intact_chain(populated, monkeypatch):
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY, raising=False)
    checkpoint = audit.checkpoint(populated)
    last = populated.raw_events()[-1]
    assert (checkpoint.seq, checkpoint.hash, checkpoint.at) == (last.seq, last.hash, last.at)
    assert checkpoint.signature is None and checkpoint.taken_at >= last.at
    result = audit.verify(populated, checkpoint=checkpoint)
    assert result.ok and result.checkpoint == last.seq


def test_a_chain_that_grew_since_its_checkpoint_extends_it(populated):
    checkpoint = audit.checkpoint(populated)
    registry.rollback(populated, "churn")
    result = audit.verify(populated, checkpoint=checkpoint)
    assert result.ok and result.events > checkpoint.seq


def test_a_rewritten_history_is_caught_only_with_a_checkpoint(populated, tamper):
    checkpoint = audit.checkpoint(populated)
    _rewrite_history(tamper)
    # What the chain alone cannot prove: a consistent rewrite looks intact.
    assert audit.verify(populated).ok
    assert populated.get_version("churn", 1).metrics == {"accuracy": 0.99}
    result = audit.verify(populated, checkpoint=checkpoint)
    assert not result.ok and result.seq == checkpoint.seq
    assert f"event {checkpoint.seq}" in result.problem and "rewritten" in result.problem
    assert checkpoint.hash[:12] in result.problem


def test_a_chain_cut_short_is_caught_only_with_a_checkpoint(populated, tamper):
    checkpoint = _cut_newest(populated, tamper)
    assert audit.verify(populated).ok
    result = audit.verify(populated, checkpoint=checkpoint)
    assert not result.ok and result.seq == checkpoint.seq
    assert f"{checkpoint.seq - 1} events" in result.problem and "removed" in result.problem


def test_checkpoint_of_an_empty_store(store):
    checkpoint = audit.checkpoint(store)
    assert checkpoint.seq == 0 and checkpoint.at is None
    assert audit.verify(store, checkpoint=checkpoint).ok
    store.put_artifact(b"x", "test", "me")
    assert audit.verify(store, checkpoint=checkpoint).ok


def test_a_broken_chain_gets_no_checkpoint(populated, raw_sql):
    from mlops_nb.errors import IntegrityError

    raw_sql("update events set actor = 'mallory' where seq = 3")
    with pytest.raises(IntegrityError, match="event 3"):
        audit.checkpoint(populated)


def test_checkpoint_file_round_trip_and_bad_files(populated, tmp_path):
    from mlops_nb.errors import InvalidInputError, NotFoundError

    path = tmp_path / "head.json"
    written = audit.checkpoint(populated, path=path)
    assert audit.read_checkpoint(path) == written
    assert json.loads(path.read_text())["hash"] == written.hash
    with pytest.raises(NotFoundError, match="nope.json"):
        audit.read_checkpoint(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    for text in ("{", "[]", '{"seq": 1}', json.dumps({**written.to_json(), "seq": -1})):
        bad.write_text(text)
        with pytest.raises(InvalidInputError, match="bad.json"):
            audit.read_checkpoint(bad)


def test_signed_checkpoints(populated, tamper, monkeypatch):
    from dataclasses import replace

    from mlops_nb.errors import InvalidInputError

    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "team secret")
    checkpoint = audit.checkpoint(populated)
    assert checkpoint.signature and audit.verify(populated, checkpoint=checkpoint).ok
    _rewrite_history(tamper)
    # Forging the file to the rewritten head needs the key.
    forged = replace(checkpoint, hash=populated.raw_events()[checkpoint.seq - 1].hash)
    result = audit.verify(populated, checkpoint=forged)
    assert not result.ok and "signature" in result.problem
    unsigned = replace(forged, signature=None)
    result = audit.verify(populated, checkpoint=unsigned)
    assert not result.ok and "not signed" in result.problem
    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "another key")
    assert "signature" in audit.verify(populated, checkpoint=checkpoint).problem
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY)
    with pytest.raises(InvalidInputError, match=audit.ENV_CHECKPOINT_KEY):
        audit.verify(populated, checkpoint=checkpoint)


def test_checkpoint_on_the_command_line(populated, tamper, cli, tmp_path):
    path = tmp_path / "head.json"
    made = cli("audit", "checkpoint", "-o", str(path))
    assert made.code == 0, made.err
    doc = json.loads(path.read_text())
    assert f"event {doc['seq']}" in made.out and str(path) in made.out
    shown = cli("audit", "checkpoint", "--json")
    assert shown.code == 0 and shown.json()["hash"] == doc["hash"]
    ok = cli("audit", "verify", "--checkpoint", str(path), "--json")
    assert ok.code == 0, ok.err
    assert ok.json()["ok"] is True and ok.json()["checkpoint"] == doc["seq"]
    _rewrite_history(tamper)
    assert cli("audit", "verify").code == 0
    failed = cli("audit", "verify", "--checkpoint", str(path))
    assert failed.code == 5
    assert failed.err.startswith("mlops-nb: error: audit verify failed: ")
    assert failed.err.count("\n") == 1 and f"event {doc['seq']}" in failed.err
    missing = cli("audit", "verify", "--checkpoint", str(tmp_path / "nope.json"))
    assert missing.code == 3 and "nope.json" in missing.err
    (tmp_path / "bad.json").write_text("not json")
    assert cli("audit", "verify", "--checkpoint", str(tmp_path / "bad.json")).code == 2
    wrong = cli("audit", "log", "--checkpoint", str(path))
    assert wrong.code == 2 and "--checkpoint" in wrong.err


def test_checkpoint_in_python(populated, tmp_path):
    import mlops_nb

    path = tmp_path / "head.json"
    made = mlops_nb.checkpoint(path, store=populated)
    assert mlops_nb.verify(checkpoint=path, store=populated).checkpoint == made.seq
    assert mlops_nb.verify(checkpoint=made, store=populated).ok


# -- checkpoints, rule by rule ---------------------------------------------------------


def test_a_checkpoint_signature_is_hmac_sha256_of_its_canonical_content():
    import hmac

    taken = audit.Checkpoint(seq=3, hash="a" * 64, at="then", taken_at="now")
    assert taken.to_json() == {
        "kind": "mlops-nb audit checkpoint",
        "seq": 3,
        "hash": "a" * 64,
        "at": "then",
        "taken_at": "now",
        "signature": None,
    }
    # what an outside tool recomputes: the fields but the signature, as sorted compact JSON
    content = (
        '{"at":"then","hash":"' + "a" * 64 + '","kind":"mlops-nb audit checkpoint",'
        '"seq":3,"taken_at":"now"}'
    )
    mac = hmac.new(b"k\xc3\xa9y", content.encode(), hashlib.sha256).hexdigest()
    assert taken.signed("kéy") == audit.Checkpoint(3, "a" * 64, "then", "now", mac)


def test_checkpoint_signs_when_a_key_is_set_and_skips_the_check_when_told(
    populated, raw_sql, monkeypatch, tmp_path
):
    from mlops_nb.errors import IntegrityError

    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "k")
    signed = audit.checkpoint(populated, tmp_path / "head.json")
    assert signed.signature == signed.signed("k").signature
    assert audit.read_checkpoint(tmp_path / "head.json") == signed
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY)
    raw_sql("update events set actor = 'mallory' where seq = 3")
    problem = audit.verify(populated).problem
    with pytest.raises(IntegrityError) as caught:
        audit.checkpoint(populated)
    assert str(caught.value) == (
        f"the audit chain fails verification, so it gets no checkpoint: {problem}"
    )
    unchecked = audit.checkpoint(populated, check=False)
    assert (unchecked.seq, unchecked.hash) == (signed.seq, signed.hash)
    assert unchecked.signature is None


def test_write_checkpoint_is_all_or_nothing(tmp_path, monkeypatch):
    from mlops_nb.errors import InvalidInputError

    taken = audit.Checkpoint(seq=0, hash="0" * 64, at=None, taken_at="now")
    monkeypatch.setenv("HOME", str(tmp_path))
    written = audit.write_checkpoint(taken, "~/head.json")
    assert written == tmp_path / "head.json"
    assert written.read_text(encoding="utf-8") == json.dumps(taken.to_json(), indent=2) + "\n"
    assert audit.read_checkpoint("~/head.json") == taken
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(InvalidInputError) as caught:
        audit.write_checkpoint(taken, folder)
    assert str(caught.value) == f"cannot write checkpoint {folder}: Is a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "head.json"]
    nowhere = tmp_path / "no-such-folder" / "head.json"
    with pytest.raises(InvalidInputError) as caught:
        audit.write_checkpoint(taken, nowhere)
    assert str(caught.value) == f"cannot write checkpoint {nowhere}: No such file or directory"


def test_read_checkpoint_names_a_missing_or_unreadable_file(tmp_path):
    from mlops_nb.errors import InvalidInputError, NotFoundError

    with pytest.raises(NotFoundError) as missing:
        audit.read_checkpoint(tmp_path / "nope.json")
    assert str(missing.value) == f"checkpoint file {tmp_path / 'nope.json'} does not exist"
    with pytest.raises(InvalidInputError, match=f"^cannot read checkpoint {tmp_path}: "):
        audit.read_checkpoint(tmp_path)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"kind": "\xe9"}')
    with pytest.raises(InvalidInputError, match=f"^cannot read checkpoint {latin}: .*utf-8"):
        audit.read_checkpoint(latin)


GOOD = {"kind": audit.CHECKPOINT_KIND, "seq": 2, "hash": "a" * 64, "at": "t", "taken_at": "t"}


@pytest.mark.parametrize(
    "changes, why",
    [
        ({"kind": "other"}, "expected a JSON object with kind 'mlops-nb audit checkpoint'"),
        ({"seq": True}, "seq must be a whole number, 0 or more"),
        ({"seq": -1}, "seq must be a whole number, 0 or more"),
        ({"seq": "2"}, "seq must be a whole number, 0 or more"),
        ({"seq": None}, "seq must be a whole number, 0 or more"),
        ({"hash": "A" * 64}, "hash must be 64 hexadecimal digits"),
        ({"hash": "a" * 63}, "hash must be 64 hexadecimal digits"),
        ({"hash": "a" * 65}, "hash must be 64 hexadecimal digits"),
        ({"hash": None}, "hash must be 64 hexadecimal digits"),
        ({"at": 5}, "at and taken_at must be times"),
        ({"taken_at": None}, "at and taken_at must be times"),
        ({"signature": "a" * 63}, "signature must be 64 hexadecimal digits"),
        ({"signature": 5}, "signature must be 64 hexadecimal digits"),
    ],
)
def test_a_checkpoint_file_is_refused_field_by_field(tmp_path, changes, why):
    from mlops_nb.errors import InvalidInputError

    path = tmp_path / "head.json"
    path.write_text(json.dumps({**GOOD, **changes}))
    with pytest.raises(InvalidInputError) as caught:
        audit.read_checkpoint(path)
    assert str(caught.value) == f"{path} is not an mlops-nb audit checkpoint: {why}"


@pytest.mark.parametrize(
    "changes",
    [{}, {"seq": 0}, {"at": None}, {"signature": None}, {"signature": "b" * 64}],
)
def test_a_checkpoint_file_with_every_field_right_is_read(tmp_path, changes):
    path = tmp_path / "head.json"
    doc = {**GOOD, **changes}
    path.write_text(json.dumps(doc))
    taken = audit.read_checkpoint(path)
    assert (taken.seq, taken.hash, taken.at, taken.taken_at) == (
        doc["seq"],
        doc["hash"],
        doc["at"],
        doc["taken_at"],
    )
    assert taken.signature == doc.get("signature")


def test_a_checkpoint_is_checked_against_the_chain_word_for_word(populated, monkeypatch):
    from dataclasses import replace

    from mlops_nb.errors import InvalidInputError

    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY, raising=False)
    events = populated.raw_events()
    good = audit.checkpoint(populated)
    empty = audit.Checkpoint(seq=0, hash="1" * 64, at=None, taken_at="then")
    result = audit.verify(populated, checkpoint=empty)
    assert (result.ok, result.seq, result.checkpoint) == (False, None, 0)
    assert result.problem == (
        "the checkpoint of an empty chain names a hash: it is not one we wrote"
    )
    ahead = replace(good, seq=len(events) + 1)
    assert _verify_problem(populated, ahead) == (
        len(events) + 1,
        f"the chain has {len(events)} events but the checkpoint taken at {good.taken_at} "
        f"has event {len(events) + 1} ({good.hash[:12]}…) as its head: the newest events "
        "were removed",
    )
    other = replace(good, hash="1" * 64)
    assert _verify_problem(populated, other) == (
        good.seq,
        f"event {good.seq} has hash {good.hash[:12]}… but the checkpoint taken at "
        f"{good.taken_at} recorded {'1' * 12}…: the history up to it was rewritten",
    )
    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "k")
    assert _verify_problem(populated, good) == (
        good.seq,
        f"the checkpoint is not signed but {audit.ENV_CHECKPOINT_KEY} is set: anyone who "
        "could write the file could have made it",
    )
    assert _verify_problem(populated, good.signed("other key")) == (
        good.seq,
        f"the checkpoint's signature does not match {audit.ENV_CHECKPOINT_KEY}: the "
        "checkpoint was altered or signed with another key",
    )
    assert audit.verify(populated, checkpoint=good.signed("k")).ok
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY)
    with pytest.raises(InvalidInputError) as caught:
        audit.verify(populated, checkpoint=good.signed("k"))
    assert str(caught.value) == (
        f"the checkpoint is signed: set {audit.ENV_CHECKPOINT_KEY} to the key it was signed with"
    )


def _verify_problem(store, checkpoint):
    result = audit.verify(store, checkpoint=checkpoint)
    assert not result.ok and result.checkpoint == checkpoint.seq
    return result.seq, result.problem
