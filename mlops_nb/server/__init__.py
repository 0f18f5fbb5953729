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
    import os

    from ..errors import MlopsError
    from .routes import server_location, setup_handlers

    settings = serverapp.web_app.settings
    setup_handlers(serverapp.web_app, getattr(serverapp, "root_dir", None))
    serverapp.log.info("mlops-nb: REST API at %smlops-nb/api/", settings.get("base_url", "/"))
    try:
        location = server_location(settings)
    except MlopsError as exc:  # a broken config.yaml: the API reports it on each call
        serverapp.log.warning("mlops-nb: cannot locate the store: %s", exc)
        return
    # Kernels this server starts inherit its environment: give them the store
    # the panel shows, unless the environment names one already.
    for key, value in location.env().items():
        if value and not os.environ.get(key):
            os.environ[key] = value
    serverapp.log.info("mlops-nb: store at %s; kernels started here record there", location)


# Older servers look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
