"""What `make mutate` measures, and the mutation score per module once `mutmut run` is done.

``MEASURED`` names the code that decides correctness: promotion gates, the
registry, the audit chain, what a model file may load, which schedule slots
are claimed and started, and the drift verdict. A module maps to ``None``
when all of it decides; a module that is mostly plumbing (SQL for listing
schedules, chart data, the scheduler's kernel handling) maps to the functions
that decide, and only their mutants are run and counted.

``--patterns`` prints the mutant names to hand to ``mutmut run``, one line of
globs per module (the Makefile runs ``mutmut run`` once per line through
``xargs -L 1``, so no shell expands them and each module's clean run takes
only its own tests). Without arguments, reads ``mutmut results --all true``
and prints, per module, how many measured mutants the tests killed, how many
they missed and how many were not run, then the total. Killed counts
timeouts too: a mutant that makes a test hang was caught. Missed counts the
mutants no test even runs ("no tests"), as well as the survivors.
"""

from __future__ import annotations

import collections
import fnmatch
import subprocess
import sys
from pathlib import Path

CAUGHT = {"killed", "timeout"}
MISSED = {"survived", "no tests"}

#: Module -> the functions measured in it (``Class.method`` for a method), or
#: ``None`` for every function. Each file must also be in ``only_mutate``
#: under ``[tool.mutmut]`` in pyproject.toml.
MEASURED: dict[str, tuple[str, ...] | None] = {
    # gates and the registry: parsing and evaluating a gate, names and
    # aliases, promote / rollback / which
    "mlops_nb.registry.gates": None,
    "mlops_nb.registry.names": None,
    "mlops_nb.registry.versions": None,
    # serialization trust: the formats, which names a file may use, and the
    # structural check of the trees a trusted model holds
    "mlops_nb.registry.serialization": None,
    "mlops_nb.registry.trust": None,
    "mlops_nb.registry.trees": None,
    # the audit chain, verification and checkpoints
    "mlops_nb.store.audit": None,
    "mlops_nb.store.chain": None,
    # schedule slot claiming: which slots exist between the cursor and now,
    # what each becomes (plan), recording them exactly once with the cursor,
    # and starting queued ones in order within the concurrency limit; resuming
    # moves the cursor, so paused slots are not owed. Not measured: schedule
    # definitions, listings and the kernel runs themselves.
    "mlops_nb.schedules.schedule": ("_slots", "fire_times", "set_enabled"),
    "mlops_nb.schedules.scheduler": ("plan", "tick", "start_queued"),
    "mlops_nb.store.schedule_sql": ("ScheduleSQL.claim_slots", "ScheduleSQL.start_queued_slot"),
    # drift decision rules: the checks, the statistics and noise floors their
    # verdicts compare, and how the engine turns them into column and dataset
    # verdicts and data-quality issues. Not measured: plugin discovery,
    # chart data, display texts, reported-only p-values.
    "mlops_nb.monitoring.drift.checks": (
        "DriftCheck.get_params",
        "DriftCheck.fit",
        "KolmogorovSmirnov.__init__",
        "KolmogorovSmirnov.score",
        "PopulationStability.__init__",
        "PopulationStability.fit",
        "PopulationStability.score",
        "Wasserstein.__init__",
        "Wasserstein.score",
        "JensenShannon.__init__",
        "JensenShannon.score",
        "ChiSquare.__init__",
        "ChiSquare.score",
        "MissingShare.__init__",
        "MissingShare.score",
        "OutOfRange.__init__",
        "OutOfRange.score",
        "UnseenCategories.__init__",
        "UnseenCategories.score",
        "_fractions",
        "default_checks",
    ),
    "mlops_nb.monitoring.drift.stats": (
        "effective_n",
        "ks_distance",
        "ks_noise_floor",
        "psi",
        "psi_noise_floor",
        "chi2_isf",
        "wasserstein_binned",
        "js_distance",
        "js_noise_floor",
        "chi2_homogeneity",
    ),
    "mlops_nb.monitoring.drift.engine": (
        "check_frame",
        "_validate",
        "_schema",
        "_family",
        "_check_column",
        "_quality",
        "_verdict_share",
    ),
}


def measured() -> list[tuple[str, str, str]]:
    """Per measured function (or module): its module, a glob to run, a glob for its mutants.

    A mutant is named MODULE.x_FUNCTION__mutmut_N (MODULE.xǁCLASSǁMETHOD__mutmut_N
    for a method); ``mutmut run`` also matches each glob against the plain
    function names to choose the tests of its clean run.
    """
    out = []
    for module, names in MEASURED.items():
        if names is None:
            out.append((module, f"{module}.x*", f"{module}.x*__mutmut_*"))
            continue
        for function in names:
            cls, _, name = function.rpartition(".")
            mangled = f"x\u01c1{cls}\u01c1{name}" if cls else f"x_{name}"
            out.append((module, f"{module}.{mangled}*", f"{module}.{mangled}__mutmut_*"))
    return out


def main(argv: list[str]) -> int:
    if argv == ["--patterns"]:
        lines: dict[str, list[str]] = collections.defaultdict(list)
        for module, run, _ in measured():
            lines[module].append(run)
        print("\n".join(" ".join(runs) for runs in lines.values()))
        return 0
    if argv:
        print(f"usage: {Path(__file__).name} [--patterns]", file=sys.stderr)
        return 2
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    globs = [mutants for _, _, mutants in measured()]
    counts: dict[str, collections.Counter[str]] = {m: collections.Counter() for m in MEASURED}
    matched: collections.Counter[str] = collections.Counter()
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        hit = next((g for g in globs if fnmatch.fnmatchcase(name, g)), None) if sep else None
        if hit is None:
            continue
        matched[hit] += 1
        # mutmut names a mutant MODULE.x_FUNCTION__mutmut_N or MODULE.xǁCLASSǁMETHOD__mutmut_N
        cut = max(name.rfind(".x_"), name.rfind(".x\u01c1"))
        counts[name[:cut]][status.strip()] += 1
    unmatched = [g for g in globs if not matched[g]]
    if len(unmatched) == len(globs):
        print("no mutants found: run `make mutate` first", file=sys.stderr)
        return 1
    if unmatched:
        # a renamed function or a file missing from only_mutate would go unmeasured silently
        print("no mutants for: " + ", ".join(unmatched), file=sys.stderr)
        return 1
    width = max(len(m) for m in counts)
    print(f"{'module':<{width}}  killed  missed  not run  score")
    total: collections.Counter[str] = collections.Counter()
    for module in sorted(counts):
        total.update(counts[module])
        print(_row(module, counts[module], width))
    print(_row("all", total, width))
    return 0


def _row(label: str, c: collections.Counter[str], width: int) -> str:
    caught = sum(c[s] for s in CAUGHT)
    missed = sum(c[s] for s in MISSED)
    other = sum(c.values()) - caught - missed
    tested = caught + missed
    score = f"{100 * caught / tested:5.1f} %" if tested else "   n/a"
    return f"{label:<{width}}  {caught:6d}  {missed:6d}  {other:7d}  {score}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
