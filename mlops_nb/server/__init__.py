"""The Jupyter server extension: mlops-nb's REST API under ``/mlops-nb/api/``.

Enabled on install through ``jupyter-config``; every route goes through
jupyter_server's authentication (token or password) and authorization, and
mutating routes through its XSRF/token check. Handlers only parse requests,
call the same core as the CLI, and return JSON.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlops_nb.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .routes import setup_handlers

    setup_handlers(serverapp.web_app, getattr(serverapp, "root_dir", None))
    serverapp.log.info(
        "mlops-nb: REST API at %smlops-nb/api/", serverapp.web_app.settings.get("base_url", "/")
    )


# Older servers look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
