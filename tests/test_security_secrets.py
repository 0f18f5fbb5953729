"""Security regressions, secrets, reports and the prediction log.

Credentials never appear in output, events or errors; an executed notebook's
HTML cannot act in whoever opens its report; an erasure expression is parsed,
never evaluated, and hashed columns never leave in clear. Add a new headed
section rather than editing another one.
"""

from __future__ import annotations

import json
import os
import re
import socket
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from mlops_nb.errors import InvalidInputError

# -- secrets and reports --------------------------------------------------------
#
# Credentials never appear in output, events or errors, whatever characters a
# password holds; an executed notebook's own HTML cannot run script in its report.


pytest_plugins = ["pytest_jupyter.jupyter_server"]  # jp_fetch: the REST API in a real server

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


def test_scrubbed_messages_stay_readable():
    from mlops_nb.redaction import scrub, url_secrets

    secrets = url_secrets("postgresql://app:Hu@nt@er22@db/x", user_is_secret=False)
    said = "failed to resolve host 'nt@er22@db'; password authentication failed for user app"
    assert scrub(said, secrets) == (
        "failed to resolve host '***@***@db'; password authentication failed for user app"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["audit", "verify"],
        ["store", "copy", "--artifacts", "file:///nowhere"],
    ],
    ids=["init", "audit", "store-copy"],
)
def test_every_command_keeps_the_database_password_out(cli, tmp_path, command):
    password = "Qw@Er/Ty#Ui?Op"
    url = f"postgresql://app:{password}@127.0.0.1:{_free_port()}/db?connect_timeout=5"
    if command[0] == "store":
        assert cli("init").code == 0
        result = cli(*command[:2], "--to", url, *command[2:])
    else:
        result = cli("--home", str(tmp_path / "h"), "--db-url", url, *command)
    assert result.code != 0 and "internal error" not in result.err
    assert result.err.startswith("mlops-nb: error: ") and result.err.count("\n") == 1
    assert not _leaked(result.out + result.err, password), result.err


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


REST_PASSWORD = "Qw@Er/Ty#Ui?Op"


@pytest.fixture
def unreachable_database(home, monkeypatch):
    """A database URL with a password, set before the Jupyter server starts.

    The server resolves its store when the extension loads, so the variable
    must be there first: this fixture is requested ahead of ``jp_fetch`` (and
    after ``home``, which clears the variable for SQLite tests).
    """
    url = f"postgresql://app:{REST_PASSWORD}@127.0.0.1:{_free_port()}/db?connect_timeout=5"
    monkeypatch.setenv("MLOPS_NB_DB_URL", url)
    return url


async def test_rest_errors_keep_the_database_password_out(unreachable_database, jp_fetch):
    response = await jp_fetch("mlops-nb", "api", "models", raise_error=False)
    text = response.body.decode()
    assert response.code == 503 and not _leaked(text, REST_PASSWORD), text  # unavailable
    assert json.loads(text)["error"].startswith("cannot use the metadata database")


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


def test_alert_channel_with_credentials_in_its_url_is_refused(cli, home, db_rows):
    assert cli("init").code == 0
    before = db_rows()
    for url in (
        "https://hook:Zx9/aQ+r7#k@chat.example/hook",
        "https://chat.example/hook?token=Zx9aQr7k",
        "https://Zx9aQr7kTOKEN@chat.example/hook",
    ):
        result = cli("alerts", "add", "churn", "--webhook", url)
        assert result.code == 2, result.err
        assert "--webhook-env" in result.err and result.err.count("\n") == 1
        assert not _leaked(result.err, "Zx9/aQ+r7#k") and "Zx9aQr7k" not in result.err
    assert db_rows() == before  # nothing recorded


class _Hook:
    """A local HTTP endpoint that records what is posted to it."""

    def __init__(self):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers.get("Authorization"), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = _Hook()
    yield server
    server.close()


def test_webhook_secret_lives_in_the_environment_never_in_the_store(store, hook, monkeypatch):
    import base64

    from mlops_nb.monitoring import alerting

    secret = "Zx9/aQ+r7#k"
    url = f"http://bot:{quote(secret, safe='')}@127.0.0.1:{hook.port}/hooks/T0?token=abc123"
    monkeypatch.setenv("TEAM_HOOK", url)
    channel = alerting.add_channel(store, "*", "webhook", url_env="TEAM_HOOK")
    assert channel["config"] == {"url_env": "TEAM_HOOK"}
    alert = alerting.raise_alert(store, "drift", "churn", "churn drifted", "drift!", {})
    assert [d["ok"] for d in alert.deliveries] == [True], alert.deliveries
    path, auth, body = hook.received[0]
    assert path == "/hooks/T0?token=abc123" and json.loads(body)["text"] == "drift!"
    assert base64.b64decode(auth.split()[1]).decode() == f"bot:{secret}"
    recorded = json.dumps([e.to_json() for e in store.iter_events()]) + str(store.snapshot_tables())
    assert not _leaked(recorded, secret) and "abc123" not in recorded
    assert "TEAM_HOOK" in recorded  # which variable, so a reader knows where it goes


def test_webhook_env_must_name_a_set_variable(store, monkeypatch):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.monitoring import alerting

    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    with pytest.raises(InvalidInputError, match="NO_SUCH_HOOK"):
        alerting.add_channel(store, "*", "webhook", url_env="NO_SUCH_HOOK")
    monkeypatch.setenv("BAD_HOOK", "ftp://x")
    with pytest.raises(InvalidInputError, match="BAD_HOOK") as info:
        alerting.add_channel(store, "*", "webhook", url_env="BAD_HOOK")
    assert "ftp://x" not in str(info.value)  # the value may be a secret: never shown


def test_channels_recorded_with_credentials_before_are_masked_when_shown(
    store, cli, hook, monkeypatch
):
    from mlops_nb import environment
    from mlops_nb.monitoring import alerting

    secret = "Zx9/aQ+r7#k"
    bad = f"https://bot:{secret}@127.0.0.1:{_free_port()}/hook"  # nobody listens there
    good = f"http://bot:{quote(secret, safe='')}@127.0.0.1:{hook.port}/hook?sig=abc123"
    # As a store made before channels were checked holds them.
    for url in (bad, good):
        store.add_alert_channel(
            {"model": "*", "kind": "webhook", "config": {"url": url}, "created_at": "t"},
            environment.actor(),
        )
    alert = alerting.raise_alert(store, "drift", "churn", "churn drifted", "drift!", {})
    assert [d["ok"] for d in alert.deliveries] == [False, True], alert.deliveries
    assert hook.received and hook.received[0][1].startswith("Basic ")
    for args in (["alerts", "channels"], ["alerts", "channels", "--json"], ["alerts", "list"]):
        shown = cli(*args)
        assert shown.code == 0, shown.err
        assert not _leaked(shown.out, secret) and "abc123" not in shown.out, shown.out
    listed = json.dumps([a.to_json() for a in alerting.list_alerts(store)])
    # The delivery outcome recorded with the alert names the target without secrets.
    assert not _leaked(listed, secret) and "abc123" not in listed, listed


def test_default_email_sender_is_one_address(store, monkeypatch):
    from email.headerregistry import Address

    from mlops_nb.monitoring import alerting

    monkeypatch.delenv("MLOPS_NB_ACTOR", raising=False)
    monkeypatch.setattr("mlops_nb.environment._user_host", lambda: ("root", "build-7"))
    channel = alerting.add_channel(store, "*", "email", to="ops@example.com", smtp_host="h")
    sender = Address(addr_spec=channel["config"]["sender"])
    assert sender.domain == "build-7" and sender.username == "mlops-nb"
    monkeypatch.setenv("MLOPS_NB_ACTOR", "alice@example.com")
    channel = alerting.add_channel(store, "*", "email", to="ops@example.com", smtp_host="h")
    assert channel["config"]["sender"].count("@") == 1


@pytest.mark.parametrize(
    "options",
    [
        {"to": "ops@example.com", "sender": "a@b@c"},
        {"to": "x@y@z"},
        {"to": ["ops@example.com", "Bob <bob@example.com>\nBcc: all@example.com"]},
    ],
)
def test_email_addresses_must_each_be_one_address(store, options):
    from mlops_nb.errors import InvalidInputError
    from mlops_nb.monitoring import alerting

    with pytest.raises(InvalidInputError, match="address"):
        alerting.add_channel(store, "*", "email", smtp_host="h", **options)


def test_default_sender_is_accepted_by_a_real_smtp_server(store, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from mlops_nb.monitoring import alerting

    class Keep(Sink):
        def __init__(self):
            self.senders = []

        async def handle_DATA(self, server, session, envelope):
            self.senders.append(envelope.mail_from)
            return "250 OK"

    monkeypatch.delenv("MLOPS_NB_ACTOR", raising=False)
    monkeypatch.setattr("mlops_nb.environment._user_host", lambda: ("root", "build-7"))
    handler = Keep()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        alerting.add_channel(
            store, "*", "email", to="ops@example.com", smtp_host="127.0.0.1", smtp_port=port
        )
        alert = alerting.raise_alert(store, "drift", "churn", "s", "drift!", {})
    finally:
        controller.stop()
    assert [d["ok"] for d in alert.deliveries] == [True], alert.deliveries
    assert handler.senders == ["mlops-nb@build-7"]


def test_webhook_env_from_the_command_line(cli, home):
    assert cli("init").code == 0
    env = {"TEAM_HOOK": "https://bot:Zx9aQr7k@chat.example/hook"}
    added = cli("alerts", "add", "*", "--webhook-env", "TEAM_HOOK", "--json", env=env)
    assert added.code == 0, added.err
    assert added.json()["config"] == {"url_env": "TEAM_HOOK"}
    listed = cli("alerts", "channels", env=env)
    assert "TEAM_HOOK" in listed.out and "Zx9aQr7k" not in listed.out
    log = cli("audit", "log", "--json", env=env)
    assert "TEAM_HOOK" in log.out and "Zx9aQr7k" not in log.out


PNG_1X1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Erk"
    "Jggg=="
)


# What a notebook could print to act in whoever opens its report. ``{remote}``
# is a local server that records any request; ``#act`` is clicked.
ATTACKS = {
    "script": "<script>window.__ran = 'script'</script>",
    "onerror": "<img src='nothing' onerror=\"window.__ran = 'onerror'\">",
    "svg-onload": "<svg onload=\"window.__ran = 'svg'\"><circle r='1'/></svg>",
    "javascript-link": "<a id='act' href=\"javascript:void(window.__ran = 'link')\">click</a>",
    "meta-refresh": "<META HTTP-EQUIV='refresh' content='0;url=about:blank#moved'>",
    "iframe": "<iframe srcdoc=\"<script>parent.__ran = 'iframe'</script>\"></iframe>",
    "object": "<object data='{remote}/o.html'></object><embed src='{remote}/e.html'>",
    "remote-fetch": "<img src='{remote}/pixel.png'><link rel=stylesheet href='{remote}/s.css'>"
    "<div style=\"background:url('{remote}/bg.png')\">x</div>",
    "form": "<form action='{remote}/steal' method='post'><button id='act'>go</button></form>",
    "base": "<base href='{remote}/'><img src='relative.png'>",
    "markdown": "markdown:<img src='nothing' onerror=\"window.__ran = 'markdown'\">",
}


def _report_with(store, attack: str) -> str:
    """The HTML report of a notebook run whose outputs hold ``attack`` and harmless HTML."""
    import nbformat

    from mlops_nb.execution import report
    from mlops_nb.jsonutil import utcnow

    def html(text):
        return nbformat.v4.new_output("display_data", data={"text/html": text})

    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        html("<b id='own-html'>bold</b>"),
        html(
            "<table class='dataframe'><tr style='text-align: right;'><th>a</th></tr>"
            "<tr><td>1</td></tr></table>"
        ),
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1X1}),
    ]
    cells = [cell]
    if attack.startswith("markdown:"):
        cells.insert(0, nbformat.v4.new_markdown_cell("# Findings\n\n" + attack[9:]))
    else:
        cell.outputs.append(html(attack))
    nb = nbformat.v4.new_notebook(cells=cells)
    sha = store.put_artifact(nbformat.writes(nb).encode(), "notebook", "me")
    now = utcnow()
    run_id = store.insert_run(
        {
            "run_id": sha[:32],
            "kind": "notebook",
            "name": "hostile.ipynb",
            "status": "finished",
            "started_at": now,
            "ended_at": now,
            "notebook_path": "hostile.ipynb",
            "input_sha256": sha,
            "output_sha256": sha,
        },
        "me",
    )
    return report.render(store, run_id)


def test_report_declares_a_policy_that_lets_nothing_run(store):
    page = _report_with(store, ATTACKS["meta-refresh"])
    head = re.search(
        r"<head[^>]*>\s*<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]+)\"", page
    )
    assert head, "the policy must come first in <head>, before any script or style"
    policy = dict(d.strip().split(" ", 1) for d in head.group(1).split(";"))
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["img-src"] == "data:" and policy["style-src"] == "'unsafe-inline'"
    assert "unsafe-eval" not in head.group(1)
    assert not re.search(r"<meta[^>]*refresh", page, re.IGNORECASE)
    assert "id='mlops-nb-provenance'" in page and "own-html" in page


CHROMIUM = "/usr/bin/chromium"


def _look_at(uri: str) -> dict:
    """Open ``uri`` in headless Chromium, click ``#act`` if there is one, report what happened.

    Run in a thread of its own: Playwright's sync API drives an event loop,
    which must not be the one the Jupyter server fixtures of this module own.
    """
    from playwright.sync_api import sync_playwright

    seen: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("MLOPS_NB_CHROMIUM", CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.goto(uri)
        page.wait_for_timeout(1000)  # time for a refresh or a late handler to fire
        seen["url"] = page.url
        if seen["url"] == uri:
            seen.update(
                page.evaluate(
                    """() => {
                    const css = (sel, prop) => getComputedStyle(document.querySelector(sel))
                        .getPropertyValue(prop).trim();
                    const png = document.querySelector("img[src^='data:image/png']");
                    return {
                        provenance: css("#mlops-nb-provenance", "border-top-style"),
                        own_html: document.querySelector("#own-html").textContent,
                        table: css("table.dataframe tr", "text-align"),
                        png: png.complete ? png.naturalWidth : 0,
                        stylesheet: css(".jp-Notebook", "--jp-cell-padding"),
                    };
                }"""
                )
            )
            if page.locator("#act").count():
                # A click from the page itself: Playwright's own would wait for a
                # navigation that the policy never lets start.
                page.evaluate("document.getElementById('act').click()")
                page.wait_for_timeout(500)
            seen["ran"] = page.evaluate("window.__ran")
            seen["url_after"] = page.url
        browser.close()
    return seen


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_notebook_output_cannot_act_in_a_real_browser(store, tmp_path, attack):
    from concurrent.futures import ThreadPoolExecutor

    from conftest import skip_or_fail

    if not os.path.exists(os.environ.get("MLOPS_NB_CHROMIUM", CHROMIUM)):
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}")
    remote = _Hook()
    fetched = []
    remote.server.RequestHandlerClass.do_GET = lambda self: fetched.append(self.path)
    try:
        url = f"http://127.0.0.1:{remote.port}"
        path = tmp_path / "report.html"
        path.write_text(_report_with(store, ATTACKS[attack].format(remote=url)), encoding="utf-8")
        with ThreadPoolExecutor(1) as browser:
            seen = browser.submit(_look_at, path.as_uri()).result(timeout=120)
    finally:
        remote.close()
    assert seen["url"] == path.as_uri(), "the report navigated away"
    # The report renders: its styles, the table's style attribute, embedded
    # images and the notebook's own harmless HTML...
    assert seen["provenance"] == "solid" and seen["own_html"] == "bold"
    assert seen["table"] == "right" and seen["png"] == 1
    assert seen["stylesheet"], "nbconvert's stylesheet did not apply"
    # ...but nothing in it ran, navigated, or fetched or sent anything.
    assert seen["ran"] is None and seen["url_after"] == path.as_uri()
    assert fetched == [] and remote.received == []


# -- the prediction log: erasure expressions are data, hashed values stay hashed -----
#
# ``predictions erase --where`` takes an expression from whoever handles a
# deletion request; it selects rows and is never evaluated as code. Columns a
# policy hashes never reach a log file in clear, and the key never leaves the store.


@pytest.mark.parametrize(
    "where",
    [
        "__import__('os').system('touch PWNED') == 1",
        "x0 == 1; import os",
        "x0 == 1 or 1 == 1",
        "x0.__class__ == 1",
        "@x0 == 1",
        "x0 == 1 and",
        "x0 == '\\x00' or True",
    ],
)
def test_an_erasure_expression_is_parsed_never_evaluated(bench, tmp_path, monkeypatch, where):
    from mlops_nb.serving import privacy
    from mlops_nb.serving.scoring import score

    frame = pd.DataFrame(np.zeros((4, 5)), columns=[f"x{i}" for i in range(5)])
    score(bench, "bench", frame)
    monkeypatch.chdir(tmp_path)
    before = bench.log_batches("bench", "predictions")
    if where.startswith("x0.__class__"):
        # a dotted name is a column name (``input.x``): this one matches no column
        assert privacy.erase(bench, "bench", where).rows == 0
    else:
        with pytest.raises(InvalidInputError, match="cannot read --where"):
            privacy.erase(bench, "bench", where)
    assert not (tmp_path / "PWNED").exists()
    assert bench.log_batches("bench", "predictions") == before


def test_hashed_columns_and_their_key_never_leave_in_clear(bench, cli, tmp_path):
    from mlops_nb.serving import privacy
    from mlops_nb.serving.scoring import score

    policy = privacy.set_policy(bench, "bench", hash=["phone"], mask=["email"])
    frame = pd.DataFrame(np.zeros((3, 5)), columns=[f"x{i}" for i in range(5)])
    score(bench, "bench", frame.assign(phone="555-0199", email="someone@example.com"))
    exported = tmp_path / "log.parquet"
    assert cli("predictions", "bench", "-o", str(exported), "--json").code == 0
    shown = cli("predictions", "policy", "bench", "--json")
    for text in (exported.read_bytes(), shown.out.encode(), shown.err.encode()):
        assert b"555-0199" not in text and b"someone@example.com" not in text
        assert policy["salt"].encode() not in text
    assert (
        privacy.hash_value(policy["salt"], "555-0199")
        in pd.read_parquet(exported)["phone"].tolist()
    )
