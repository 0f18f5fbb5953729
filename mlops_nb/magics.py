"""IPython magics: ``%load_ext mlops_nb`` registers them.

They only parse input, call :mod:`mlops_nb.api` and show the result; every
:class:`~mlops_nb.errors.MlopsError` becomes an IPython ``UsageError`` here,
in one place.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from . import api, registry, tracking
from .errors import MlopsError

if TYPE_CHECKING:  # ipywidgets and plotly load when a widget is first shown
    from types import FrameType

    from .widgets import RegistryBrowser, RunComparison


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # IPython leaves this frame out of a user's traceback
        try:
            return func(*args, **kwargs)
        except MlopsError as exc:
            raise UsageError(str(exc)) from None

    return wrapper


def _parse(magic: Any, line: str) -> Any:
    """Parse magic arguments with shell quoting, so --require 'auc>0.8' works."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot parse arguments {line!r}: {exc}") from None
    return magic.parser.parse_args(words)


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def assigned_names(source: str) -> list[str]:
    """Names a cell binds at any depth, in order of first appearance."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
    return names


@magics_class
class MlopsMagics(Magics):
    """Track runs, record values and manage model versions from a notebook."""

    shell: InteractiveShell  # always set: magics are registered on a live shell
    #: the name the body of the ``%%mlops_track`` cell running now was compiled under
    _cell_file: str | None = None

    # -- tracking -------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="Model name; a fitted estimator becomes its next version.")
    @argument(
        "--model", help="Variable holding the fitted estimator (found automatically in a cell)."
    )
    @argument("--data", help="Variable holding the training features.")
    @argument("--target", help="Variable holding the training target.")
    @argument(
        "--holdout",
        metavar="X,Y",
        help="Holdout features and labels (two variables): a classifier is calibrated on them "
        "so drift checks estimate its accuracy without labels.",
    )
    @argument(
        "--metrics",
        help="Comma-separated variables to record as metrics (default: "
        "every number the cell assigns).",
    )
    @argument("--param", action="append", metavar="K=V", help="An explicit parameter.")
    @argument("--tag", action="append", metavar="K=V", help="A tag for the run.")
    @argument("--no-register", action="store_true", help="Record the run, register no version.")
    @argument(
        "--serializer",
        default="skops",
        choices=["skops", "pickle"],
        help="How to save the model (pickle only if you opt in).",
    )
    @line_cell_magic
    @_user_errors
    def mlops_track(self, line: str, cell: str | None = None) -> Any:
        """Record a training run.

        As a cell magic, runs the cell, then records parameters (papermill's
        plus ``--param``), the numbers the cell assigned as metrics, the fitted
        estimator as a new version of NAME, and the fingerprint, schema and
        environment. As a line magic, records existing variables::

            %%mlops_track churn --data X_train --target y_train
            %mlops_track churn --model model --data X_train --metrics auc,accuracy

        A failing cell records a failed run and re-raises its error, with the
        cell's own traceback and a note naming the failed run.
        """
        __tracebackhide__ = True
        args = _parse(self.mlops_track, line)
        if cell is None and not args.model:
            raise UsageError("%mlops_track needs --model VAR (or use %%mlops_track on a cell)")
        if args.holdout:  # the names are checked before a run opens; the values once it ran
            args.holdout = [n.strip() for n in args.holdout.split(",")]
            if len(args.holdout) != 2 or not all(args.holdout):
                raise UsageError("--holdout takes two variables: --holdout X_test,y_test")
        options = {
            "params": _pairs(args.param, "--param"),
            "tags": _pairs(args.tag, "--tag"),
            "register": not args.no_register,
            "serializer": args.serializer,
            "code": cell if cell is not None else f"%mlops_track {line}",
        }
        if cell is None:
            # Check the named variables before opening a run, so a typo records nothing.
            options["model"] = tracking.check_estimator(
                self._lookup(args.model, "--model"), f"--model {args.model}"
            )
            if args.data:
                options["data"] = tracking.check_data(
                    self._lookup(args.data, "--data"), f"--data {args.data}"
                )
            if args.target:
                options["target"] = tracking.check_data(
                    self._lookup(args.target, "--target"), f"--target {args.target}"
                )
        run = api.track(args.name, **options)
        shown = None
        self._cell_file = None
        try:
            with run:
                if cell is not None:
                    shown = self._execute(f"%%mlops_track {line}", cell)
                assigned = assigned_names(self.shell.transform_cell(cell)) if cell else []
                self._collect(run, args, assigned)
        except Exception as exc:
            self._tell_failed(exc, run)
            raise
        if shown is not None:
            display(shown)
        display(run)
        return None

    def _execute(self, header: str, cell: str) -> Any:
        """Run the cell body in the user namespace; return the last expression's value.

        The body is compiled as the lines after ``header`` (the magic's line), under
        this execution's number, so a traceback says ``Cell In[5], line 3`` and
        quotes the cell as the user sees it.
        """
        shell = self.shell
        source = shell.transform_cell(cell)
        filename = shell.compile.cache(
            f"{header}\n{source}", number=self._cell_number(), raw_code=f"{header}\n{cell}"
        )
        self._cell_file = filename
        tree = shell.transform_ast(shell.compile.ast_parse("\n" + source, filename=filename))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), shell.user_ns)
        return None

    def _cell_number(self) -> int:
        """The number the cell running this magic shows as ``In[N]``.

        ``execution_count`` is not it: IPython 9 counts a cell before running it
        (IPython 8 after), and a run without history does not count at all. The
        cell's own code was compiled under its number, so the frame running it
        tells.
        """
        numbers = getattr(self.shell.compile, "_filename_map", {})
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            number = numbers.get(frame.f_code.co_filename)
            if number is not None:
                return int(number)
            frame = frame.f_back
        return int(self.shell.execution_count)

    def _tell_failed(self, exc: BaseException, run: tracking.ActiveRun) -> None:
        """Show the user's own traceback of a failing cell, and that the failed run is kept.

        The frames of the cell (and what it called) stay, mlops-nb's own go;
        IPython asks an exception for its lines through ``_render_traceback_``.
        """
        recorded = run.run
        if recorded is None:
            return
        note = (
            f"mlops-nb recorded run {recorded.run_id[:12]} of {run.name} as {recorded.status}; "
            "fix the cell and run it again for a new run."
        )
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != self._cell_file:
            tb = tb.tb_next
        try:
            # The failure was in the cell's code (tb), or, if not, in ours: keep it all.
            lines = self.shell.InteractiveTB.structured_traceback(
                type(exc), exc, tb or exc.__traceback__, tb_offset=0
            )
        except Exception:  # never hide the user's error behind one of ours
            return
        with contextlib.suppress(AttributeError):  # an exception type without a __dict__
            exc._render_traceback_ = lambda: [*lines, note]  # type: ignore[attr-defined]

    def _lookup(self, name: str, flag: str) -> Any:
        if name not in self.shell.user_ns:
            raise UsageError(f"{flag} {name}: no variable named {name!r}")
        return self.shell.user_ns[name]

    def _collect(self, run: tracking.ActiveRun, args: Any, assigned: list[str]) -> None:
        ns = self.shell.user_ns
        if args.holdout:
            run.set_holdout(*(self._lookup(n, "--holdout") for n in args.holdout))
        if args.metrics:
            wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
            run.log_metrics({m: self._lookup(m, "--metrics") for m in wanted})
        else:
            numbers = {
                n: ns[n]
                for n in assigned
                if n in ns
                and not n.startswith("_")
                and n not in run.params
                and tracking.as_number(ns[n]) is not None
            }
            run.log_metrics(numbers, strict=False)
        if run.model is not None:
            pass
        elif args.model:
            run.set_model(self._lookup(args.model, "--model"))
        else:
            chosen, note = _pick_estimator({n: ns[n] for n in assigned if n in ns})
            if chosen is not None:
                run.set_model(chosen)
            elif note:
                run.notes.append(note)
        if run.data is not None:
            pass
        elif args.data:
            target = self._lookup(args.target, "--target") if args.target else None
            run.set_data(self._lookup(args.data, "--data"), target)
        elif args.target:
            raise UsageError("--target needs --data too")

    # -- values and the registry ------------------------------------------------

    @line_magic
    @_user_errors
    def mlops_record(self, line: str) -> None:
        """Attach a value to the current run: ``%mlops_record KEY VAR_OR_EXPRESSION``.

        The value goes to the run open now, else the notebook run executing
        this kernel (``mlops-nb run``), else this session's last tracked run.
        Later pipeline steps receive it as a parameter.
        """
        key, _, expr = line.strip().partition(" ")
        if not key or not expr.strip():
            raise UsageError("usage: %mlops_record KEY VAR")
        try:
            value = self.shell.ev(expr.strip())
        except Exception as exc:
            raise UsageError(
                f"%mlops_record {key}: cannot evaluate {expr.strip()!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        api.record(key, value)

    @line_magic
    @_user_errors
    def mlops_models(self, line: str) -> RegistryBrowser:
        """Browse the registry: ``%mlops_models [NAME]``.

        Shows the models, or the versions of NAME with their metrics and
        aliases and the alias history. In a live notebook it is a widget
        with a model picker and promote / roll back buttons (with a
        confirmation step); in executed notebooks and reports, an HTML table.
        The result iterates like a table: the versions of NAME, else the
        models (see :class:`mlops_nb.widgets.RegistryBrowser`).
        """
        from .widgets import RegistryBrowser

        name = line.strip()
        return RegistryBrowser(name or None, api.get_store())

    @magic_arguments()
    @argument("ref", help="NAME, NAME@ALIAS or NAME:VERSION whose reference profile to use.")
    @argument(
        "data",
        nargs="?",
        help="Variable holding the batch (a DataFrame); without it, the drift dashboard of "
        "the checks recorded so far.",
    )
    @argument(
        "--predictions",
        help="Variable holding the model's outputs on the batch "
        "(default: the registered model is run on it).",
    )
    @argument("--target", help="Variable (or column of the batch) holding delayed labels.")
    @argument("--batch", help="A label for this batch, e.g. 'week 32'.")
    @argument("--no-record", action="store_true", help="Check only; record nothing.")
    @argument("--no-alert", action="store_true", help="Record, but raise no alert.")
    @argument("--no-trigger", action="store_true", help="Do not start the retrain trigger.")
    @line_magic
    @_user_errors
    def mlops_drift(self, line: str) -> Any:
        """Check a batch for drift against a model version's training profile.

        Shows a summary table and charts, records the check, alerts, and
        starts the model's retrain trigger when it alarms::

            report = %mlops_drift churn@production this_week --batch "week 32"

        Without a batch, shows the checks recorded for the model (the latest
        verdict per column, its charts, and a selector over the history)::

            %mlops_drift churn
        """
        args = _parse(self.mlops_drift, line)
        if args.data is None:
            used = [
                flag
                for flag, value in (
                    ("--predictions", args.predictions),
                    ("--target", args.target),
                    ("--batch", args.batch),
                )
                if value
            ]
            if used:
                raise UsageError(f"{', '.join(used)} needs a batch: %mlops_drift NAME DATA ...")
            from .widgets import DriftDashboard

            return DriftDashboard(args.ref, api.get_store())
        data = self._lookup(args.data, "data")
        target: Any = None
        if args.target:
            target = (
                args.target
                if args.target in getattr(data, "columns", [])
                else self._lookup(args.target, "--target")
            )
        predictions = self._lookup(args.predictions, "--predictions") if args.predictions else None
        return api.check_drift(
            args.ref,
            data,
            predictions=predictions,
            target=target,
            batch=args.batch,
            record=not args.no_record,
            alert=not args.no_alert,
            trigger=not args.no_trigger,
        )

    @magic_arguments()
    @argument("runs", nargs="+", help="Run ids, or unique prefixes of six or more characters.")
    @argument("--only-differences", action="store_true", help="Hide rows that are all the same.")
    @line_magic
    @_user_errors
    def mlops_compare(self, line: str) -> RunComparison:
        """Compare runs side by side: ``%mlops_compare RUN_ID RUN_ID ...``.

        Parameters and metrics of each run, the rows that differ highlighted,
        and a bar chart of the metrics they share (see
        :class:`mlops_nb.widgets.RunComparison`)::

            %mlops_compare 3f2a9c 8be01d --only-differences
        """
        args = _parse(self.mlops_compare, line)
        from .widgets import RunComparison

        return RunComparison(args.runs, api.get_store(), only_differences=args.only_differences)

    @magic_arguments()
    @argument("name")
    @argument("version", help="Version number, or 'latest'.")
    @argument("--alias", default=registry.DEFAULT_ALIAS)
    @argument("--require", help="Gate, e.g. 'accuracy>=production' or 'auc>0.8'.")
    @argument("--reason", help="Why, for the audit log.")
    @line_magic
    @_user_errors
    def mlops_promote(self, line: str) -> Any:
        """Point an alias at a version, if the gate allows."""
        args = _parse(self.mlops_promote, line)
        return api.promote(
            args.name, args.version, args.alias, require=args.require, reason=args.reason
        )

    @magic_arguments()
    @argument("name")
    @argument("--alias", default=registry.DEFAULT_ALIAS)
    @argument("--reason", help="Why, for the audit log.")
    @line_magic
    @_user_errors
    def mlops_rollback(self, line: str) -> Any:
        """Return an alias to the version that held it before."""
        args = _parse(self.mlops_rollback, line)
        return api.rollback(args.name, args.alias, reason=args.reason)


def _pick_estimator(candidates: dict[str, Any]) -> tuple[Any, str | None]:
    fitted: dict[str, Any] = {}
    for name, value in candidates.items():
        if name.startswith("_") or not hasattr(value, "fit") or isinstance(value, type):
            continue
        try:
            tracking.check_estimator(value)
        except MlopsError:
            continue
        fitted[name] = value
    # Drop estimators that are parts of another (a pipeline's steps).
    inner: set[int] = set()
    for value in fitted.values():
        get_params = getattr(value, "get_params", None)
        if callable(get_params):
            try:
                inner.update(id(v) for v in get_params(deep=True).values())
            except Exception:
                continue
    top = {n: v for n, v in fitted.items() if id(v) not in inner}
    if len(top) == 1:
        return next(iter(top.values())), None
    if "model" in top:
        return top["model"], None
    if top:
        return None, (
            f"several fitted estimators ({', '.join(sorted(top))}); name one with "
            "--model: no model version registered"
        )
    return None, None
