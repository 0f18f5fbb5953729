"""Security regressions, one section per concern."""

# -- secrets and reports --------------------------------------------------------
#
# Credentials never appear in output, events or errors, whatever characters a
# password holds; an executed notebook's own HTML cannot run script in its report.

import re
import socket
from urllib.parse import quote

import pytest
import sqlalchemy as sa

# Passwords with every character that splits URLs differently in different
# parsers: SQLAlchemy cuts a password at the first '@', urlsplit (fsspec,
# urllib) ends the host part at '/', '?' or '#', and ':' separates a port.
PASSWORDS = [
    "Zx9/aQ+r7#k",
    "Qw@Er/Ty#Ui?Op",
    "pa?ss#wo/rd",
    "Sx:cr3t:Tail9",
    "Hu@nt@er22",
    "wörd/ümlaut#Sieben",
    "percent%41Sign",
]


def _pieces(secret: str) -> set[str]:
    """The secret and every part of it that a parser could put somewhere else."""
    return {p for p in [secret, *re.split(r"[/?#@:]", secret)] if len(p) >= 2}


def _leaked(text: str, secret: str) -> list[str]:
    """Parts of ``secret`` (as typed, decoded or percent-encoded) found in ``text``."""
    forms = _pieces(secret) | _pieces(quote(secret, safe=""))
    return sorted(p for p in forms if re.search(rf"(?<![\w%]){re.escape(p)}(?![\w%])", text))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("encode", [False, True], ids=["as-typed", "percent-encoded"])
def test_database_urls_are_masked_like_the_driver_reads_them(password, encode):
    from mlops_nb.store.location import mask_url

    typed = quote(password, safe="") if encode else password
    url = f"postgresql+psycopg://app:{typed}@db.example.com:5432/mlops?sslmode=require"
    shown = mask_url(url)
    assert not _leaked(shown, password), shown
    driver = sa.engine.make_url(url).password
    assert driver and driver not in shown
    if encode or "@" not in password:
        # The driver reads this URL as meant: everything but the password is shown.
        assert shown == "postgresql+psycopg://app:***@db.example.com:5432/mlops?sslmode=require"


@pytest.mark.parametrize("password", PASSWORDS)
def test_secret_query_parameters_are_masked(password):
    from mlops_nb.store.location import mask_url

    url = f"postgresql://app@h/d?application_name=x&password={quote(password, safe='')}"
    shown = mask_url(url)
    assert not _leaked(shown, password) and "application_name=x" in shown
    assert "password=***" in shown


@pytest.mark.parametrize(
    "password", ["Zx9/aQ+r7#k", "Qw@Er/Ty#Ui?Op", "Hu@nt@er22", "Sx:cr3t:Tail9"]
)
@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "nohost.invalid"])
def test_database_errors_on_the_command_line_keep_passwords_out(cli, password, host):
    url = f"postgresql://app:{password}@{host.format(port=_free_port())}/db?connect_timeout=5"
    result = cli("--db-url", url, "runs")
    assert result.code != 0 and result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-nb: error: "), result.err
    assert "internal error" not in result.err
    assert not _leaked(result.err, password), result.err


@pytest.mark.parametrize("url", ["postgresql://app:a@b:c@h/db", "postgresql://app:se:cr@t@h:x/db"])
def test_malformed_database_url_is_bad_input_without_its_password(cli, url):
    result = cli("--db-url", url, "runs")
    assert result.code == 2, result.err
    assert result.err.startswith("mlops-nb: error: ") and result.err.count("\n") == 1
    password = url.split("app:", 1)[1].rsplit("@", 1)[0]
    assert not _leaked(result.err, password), result.err


@pytest.mark.parametrize(
    "text",
    [
        "db_url: postgresql://app:Zx9aQr7k@h/db: x\n",
        "db_url: [postgresql://app:Zx9aQr7k@h/db\n",
        "artifacts: s3://AKIA:Zx9aQr7k@bucket\n\tdb_url: x\n",
    ],
)
def test_a_broken_config_file_is_reported_without_quoting_it(tmp_path, monkeypatch, text):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.store import Store

    monkeypatch.delenv("MLOPS_NB_DB_URL", raising=False)
    monkeypatch.delenv("MLOPS_NB_ARTIFACTS", raising=False)
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(InvalidInputError, match=r"config.yaml is not valid YAML \(line") as info:
        Store(tmp_path)
    assert "Zx9aQr7k" not in str(info.value)


def test_redacted_object_urls_hide_credentials_whatever_they_hold():
    from mlops_nb.store.artifacts import redact_url

    for password in PASSWORDS:
        for typed in (password, quote(password, safe="")):
            shown = redact_url(f"s3://AKIAEXAMPLE:{typed}@bucket/prefix?versionId=3")
            assert not _leaked(shown, password), shown
            assert "AKIAEXAMPLE" not in shown and shown.endswith("?versionId=3")
    assert redact_url("s3://bucket/models@v2/x") == "s3://bucket/models@v2/x"
    assert "tok3n" not in redact_url("https://host/p?X-Amz-Security-Token=tok3n&a=1")


def test_object_storage_errors_keep_credentials_out(tmp_path):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.store import Store

    for url in ("s3://AKIA:se/cr3t@bucket/p", "nosuchproto://user:Hu@nt@er22@bucket/p"):
        with pytest.raises(InvalidInputError) as info:
            Store(tmp_path / "h", artifacts=url)
        password = url.split(":", 2)[2].rsplit("@", 1)[0]
        assert not _leaked(str(info.value), password), str(info.value)


@pytest.fixture
def pg_secret_url(pg_url):
    """``pg_url`` with a password full of URL delimiters, written the way users type it.

    The test server trusts 127.0.0.1 and ignores passwords, so the store opens.
    """
    parsed = sa.engine.make_url(pg_url)
    password = "Zx9/aQ+r7#kX?"
    where = f"{parsed.host}:{parsed.port}/{parsed.database}"
    return f"postgresql://{parsed.username}:{password}@{where}", password


def test_store_repr_and_messages_hide_a_real_password(tmp_path, pg_secret_url):
    from mlops_nb.store import Store

    url, password = pg_secret_url
    store = Store(tmp_path / "team", db_url=url)
    assert store.backend == "postgresql"
    assert not _leaked(repr(store), password) and ":***@" in repr(store)
    assert not _leaked(store._where, password)
    store.close()


def test_store_copy_reports_its_target_without_credentials(tmp_path, pg_url, cli, home):
    parsed = sa.engine.make_url(pg_url)
    secret = "Qw3rty/Zx#9"
    target = (
        f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
        f"?password={quote(secret, safe='')}&application_name=copy"
    )
    assert cli("init").code == 0
    artifacts = (tmp_path / "objects").as_uri()
    text = cli("store", "copy", "--to", target, "--artifacts", artifacts)
    assert text.code == 0, text.err
    assert not _leaked(text.out + text.err, secret), text.out
    assert "password=***" in text.out
