"""Schemathesis hooks for fuzzing the REST API (loaded through ``SCHEMATHESIS_HOOKS``).

The document's ``format: model-name`` names a rule no JSON Schema pattern can
state (visible characters, one script: :func:`mlops_nb.registry.check_model_name`);
this strategy draws names that keep it, from several scripts, so the fuzzer's
valid names are valid to the server too. Invalid ones still come from
negating the pattern and the length.
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata

import schemathesis
from hypothesis import strategies as st

# One alphabet per writing system a name may use; each may be mixed with the
# characters of no script (digits, punctuation, spaces inside).
_SCRIPTS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàéîõüßçñÆ",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΩ",
    "абвгдежзийклмнопрстуфхцчшщыэюяАБВГД",
    "日本語予測モデルかなカナchurn",
    "中文模型预测ㄅㄆㄇ",
    "한국어모델예측",
    "عربيةنموذج",
)
_NO_SCRIPT = "0123456789 _-.!#$%&'()*+,;=?[]^{|}~<>\"`"


def _valid(name: str) -> bool:
    return (
        name == name.strip()
        and name not in ("", ".", "..")
        and unicodedata.normalize("NFC", name) == name
    )


model_names = (
    st.sampled_from(_SCRIPTS)
    .flatmap(lambda letters: st.text(alphabet=letters + _NO_SCRIPT, min_size=1, max_size=60))
    .filter(_valid)
)

schemathesis.openapi.format("model-name", model_names)

# `format: tag-key` (a version's tags): visible text without "=" or ",", drawn from the
# same alphabets (mlops_nb.registry.annotations.check_tag_key).
tag_keys = (
    st.sampled_from(_SCRIPTS)
    .flatmap(
        lambda letters: st.text(
            alphabet=letters + _NO_SCRIPT.replace(",", "").replace("=", "") + ":/@",
            min_size=1,
            max_size=40,
        )
    )
    .filter(_valid)
)
schemathesis.openapi.format("tag-key", tag_keys)


# `format: run-filter` and `format: run-sort` name the runs search language
# (mlops_nb/tracking/search.py), which no pattern states: what the fuzzer sends
# as valid is drawn from the language itself, so the server must accept it.
_field = st.sampled_from(["metrics", "params", "tags"]).flatmap(
    lambda prefix: st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).map(
        lambda name: f"{prefix}.{name}"
    )
)
_number = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.4f}"),
)
_text = st.from_regex(r"[A-Za-z0-9 _-]{0,12}", fullmatch=True).map(lambda t: f"'{t}'")
_comparison = st.one_of(
    st.tuples(_field, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), _number),
    st.tuples(_field, st.sampled_from(["=", "!=", "~"]), _text),
    st.tuples(st.sampled_from(["status", "kind", "name", "actor"]), st.just("="), _text),
    st.tuples(
        st.sampled_from(["started", "ended"]),
        st.sampled_from([">=", "<"]),
        st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)).map(str),
    ),
).map(" ".join)
run_filters = st.lists(_comparison, min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from([" and ", " or "]).map(lambda joint: joint.join(parts))
)
run_sorts = st.one_of(
    st.sampled_from(["started", "ended", "name", "status", "kind", "NAME", "Started"]),
    st.sampled_from(["metrics", "params"]).flatmap(
        lambda prefix: st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ]{0,20}", fullmatch=True).map(
            lambda name: f"{prefix}.{name}"
        )
    ),
)

schemathesis.openapi.format("run-filter", run_filters)
schemathesis.openapi.format("run-sort", run_sorts)


# `format: run-ids` (runs/compare): 2 to 10 ids of runs the store holds, whole
# or as prefixes of 8+ characters, given by the test in MLOPS_NB_FUZZ_RUN_IDS;
# ids nobody holds (404) come from the fuzzer's other cases.
_known = [i for i in os.environ.get("MLOPS_NB_FUZZ_RUN_IDS", "").split(",") if i]
_hex_id = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
_run_id = st.sampled_from(_known) if len(_known) >= 2 else _hex_id
run_ids = (
    st.lists(_run_id, min_size=2, max_size=min(10, max(len(_known), 2)), unique=True)
    .flatmap(lambda ids: st.tuples(*[st.integers(8, 32).map(lambda n, i=i: i[:n]) for i in ids]))
    .map(",".join)
)

schemathesis.openapi.format("run-ids", run_ids)


# Schedules: `format: notebook-path` is a notebook the server's folder holds (the test
# names them in MLOPS_NB_FUZZ_NOTEBOOKS; `pipeline-path` a pipeline file, in
# MLOPS_NB_FUZZ_PIPELINES), `format: cron` an expression the scheduler
# reads and `format: time-zone` an IANA zone, so a valid schedule is valid to the
# server too; paths out of the folder and broken crons come from the negative cases.
_notebooks = [p for p in os.environ.get("MLOPS_NB_FUZZ_NOTEBOOKS", "").split(",") if p]
schemathesis.openapi.format("notebook-path", st.sampled_from(_notebooks or ["tiny_tracked.ipynb"]))
_pipelines = [p for p in os.environ.get("MLOPS_NB_FUZZ_PIPELINES", "").split(",") if p]
schemathesis.openapi.format("pipeline-path", st.sampled_from(_pipelines or ["tiny_pipeline.yaml"]))
_cron_field = {
    "minute": st.one_of(st.just("*"), st.integers(0, 59).map(str), st.just("*/15")),
    "hour": st.one_of(st.just("*"), st.integers(0, 23).map(str), st.just("9-17")),
    "day": st.one_of(st.just("*"), st.integers(1, 28).map(str), st.just("L")),
    "month": st.one_of(st.just("*"), st.integers(1, 12).map(str), st.just("JAN,JUL")),
    "weekday": st.one_of(st.just("*"), st.integers(0, 7).map(str), st.just("MON-FRI")),
}
crons = st.one_of(
    st.tuples(*_cron_field.values()).map(" ".join),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "0 9 * * 1#2"]),
)
schemathesis.openapi.format("cron", crons)
schemathesis.openapi.format(
    "time-zone",
    st.sampled_from(
        ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
    ),
)


# The inbox: `format: future-date` is when an ignore decision ends, a date after today
# (a past one is refused as bad input, which no JSON Schema can say).
schemathesis.openapi.format(
    "future-date",
    st.dates(min_value=dt.date(2100, 1, 1), max_value=dt.date(9999, 12, 30)).map(dt.date.isoformat),
)
