import subprocess
import sys
from pathlib import Path

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


#: The adapters that may talk to IPython, ipywidgets, tornado and jupyter_server;
#: every other module is core and must not.
ADAPTERS = ("mlops_nb.magics", "mlops_nb.api", "mlops_nb.widgets", "mlops_nb.server")
UI_STACKS = ("IPython", "ipywidgets", "tornado", "jupyter_server")


def core_modules():
    import pkgutil

    names = [info.name for info in pkgutil.walk_packages(mlops_nb.__path__, "mlops_nb.")]
    return sorted(n for n in names if not n.startswith(ADAPTERS) and not n.endswith("__main__"))


def test_core_imports_nothing_from_notebook_or_server_stacks():
    modules = core_modules()
    assert {"mlops_nb.store.core", "mlops_nb.registry.gates", "mlops_nb.cli"} <= set(modules)
    out = run_python(
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {UI_STACKS!r} if m in sys.modules))"
    )
    assert out == "[]"


def test_core_reaches_notebook_stacks_only_from_display_hooks():
    """A core module may import IPython only inside a display hook, which IPython calls."""
    import ast
    import importlib.util

    offenders = []
    for name in core_modules():
        path = importlib.util.find_spec(name).origin
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        hooks = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and (node.name == "_ipython_display_" or node.name.startswith("_repr_"))
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                named = [node.module or ""]
            else:
                continue
            if id(node) in hooks:
                continue
            offenders += [
                f"{name}:{node.lineno} {n}" for n in named if n.split(".")[0] in UI_STACKS
            ]
    assert offenders == []


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
    assert issubclass(errors.ExecutionError, RuntimeError)
    # A timeout is not bad input, and an unavailable database is neither.
    assert issubclass(errors.DeadlineError, TimeoutError)
    assert not issubclass(errors.DeadlineError, (ValueError, errors.ExecutionError))
    assert not issubclass(errors.UnavailableError, (ValueError, errors.IntegrityError))
    direct = {
        cls: (cls.exit_code, cls.http_status)
        for cls in vars(errors).values()
        if isinstance(cls, type) and cls.__bases__[0] is errors.MlopsError
    }
    assert direct == {
        errors.InvalidInputError: (2, 400),
        errors.NotFoundError: (3, 404),
        errors.ConflictError: (4, 409),
        errors.IntegrityError: (5, 409),
        errors.ExecutionError: (6, 500),
        errors.ChecksFailedError: (7, 422),
        errors.DeadlineError: (8, 504),
        errors.UnavailableError: (9, 503),
        errors.AuthenticationError: (10, 401),
        errors.ApprovalRequiredError: (11, 202),
        errors.ForbiddenError: (12, 403),
    }
    # The prediction server's input errors are bad input, with their own statuses.
    assert (errors.SchemaMismatchError.exit_code, errors.SchemaMismatchError.http_status) == (
        2,
        422,
    )
    assert issubclass(errors.PayloadTooLargeError, errors.InvalidInputError)
    assert errors.PayloadTooLargeError.http_status == 413
    assert issubclass(errors.AuthenticationError, PermissionError)
    assert issubclass(errors.ForbiddenError, PermissionError)
    assert (errors.MlopsError.exit_code, errors.MlopsError.http_status) == (1, 500)
    # Every class is drawn in the module's tree and exported, here and at the top.
    for name in errors.__all__:
        assert name in errors.__doc__
        assert getattr(mlops_nb, name) is getattr(errors, name)


def test_records_serialise_to_json(store, fitted):
    import json

    from mlops_nb import tracking

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
