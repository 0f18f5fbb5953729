"""Schemathesis hooks for fuzzing the REST API (loaded through ``SCHEMATHESIS_HOOKS``).

The document's ``format: model-name`` names a rule no JSON Schema pattern can
state (visible characters, one script: :func:`mlops_nb.registry.check_model_name`);
this strategy draws names that keep it, from several scripts, so the fuzzer's
valid names are valid to the server too. Invalid ones still come from
negating the pattern and the length.
"""

from __future__ import annotations

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
