import subprocess
import sys

import pytest

import mlops_nb
from mlops_nb import errors


def test_public_api_is_sorted_and_resolves():
    assert mlops_nb.__all__ == sorted(mlops_nb.__all__)
    for name in mlops_nb.__all__:
        assert getattr(mlops_nb, name) is not None, name
    with pytest.raises(AttributeError):
        mlops_nb.no_such_thing  # noqa: B018


def run_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_core_imports_nothing_from_notebook_or_server_stacks():
    out = run_python(
        "import sys\n"
        "import mlops_nb.store, mlops_nb.registry.versions, mlops_nb.tracking.recorder\n"
        "import mlops_nb.store.audit, mlops_nb.execution.runner, mlops_nb.execution.report\n"
        "import mlops_nb.tracking.fingerprint, mlops_nb.registry.gates\n"
        "import mlops_nb.registry.serialization, mlops_nb.cli, mlops_nb.datasets\n"
        "print(sorted(m for m in ('IPython', 'ipywidgets', 'tornado', 'jupyter_server')"
        " if m in sys.modules))"
    )
    assert out == "[]"


def test_importing_the_package_is_cheap():
    out = run_python(
        "import sys, mlops_nb\n"
        "print(sorted(m for m in ('pandas', 'sklearn', 'sqlalchemy', 'papermill', 'IPython',"
        " 'numpy') if m in sys.modules))"
    )
    assert out == "[]"


def test_error_tree_maps_to_builtins_codes_and_statuses():
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.GateFailedError, errors.ConflictError)
    assert issubclass(errors.UntrustedModelError, errors.IntegrityError)
    codes = {
        cls: (cls.exit_code, cls.http_status)
        for cls in (
            errors.MlopsError,
            errors.InvalidInputError,
            errors.NotFoundError,
            errors.ConflictError,
            errors.IntegrityError,
            errors.ExecutionError,
        )
    }
    assert codes[errors.InvalidInputError] == (2, 400)
    assert codes[errors.NotFoundError] == (3, 404)
    assert codes[errors.ConflictError] == (4, 409)
    assert len({c for c, _ in codes.values()}) == len(codes)


def test_records_serialise_to_json(store, fitted):
    import json

    from mlops_nb.tracking import recorder as tracking

    with tracking.track(store, "m", model=fitted[0]) as run:
        pass
    for record in (run.run, run.version):
        assert json.loads(json.dumps(record.to_json())) == record.to_json()
        assert str(record) and record._repr_html_().startswith("<style>")


def test_load_ext_does_not_import_the_store_stack():
    out = run_python(
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'mlops_nb')\n"
        "print(sorted(m for m in ('sqlalchemy', 'skops', 'papermill', 'pandas') "
        "if m in sys.modules))"
    )
    assert out == "[]"


def test_no_public_function_is_shadowed_by_a_submodule():
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(mlops_nb.__path__, "mlops_nb."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    for name in mlops_nb.__all__:
        value = getattr(mlops_nb, name)
        assert not isinstance(value, type(mlops_nb)), f"mlops_nb.{name} is a module"
