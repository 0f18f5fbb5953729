"""Print the mutation score of each mutated module after `mutmut run` (see `make mutate`).

Reads `mutmut results --all true` (one ``name: status`` line per mutant) and
prints, per module, how many mutants the tests killed, how many survived and
what else happened to them, then the total. Killed counts timeouts too: a
mutant that makes a test hang was caught.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

CAUGHT = {"killed", "timeout"}


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep or "__mutmut_" not in name:
            continue
        # mutmut names a mutant MODULE.x_FUNCTION__mutmut_N or MODULE.xǁCLASSǁMETHOD__mutmut_N
        cut = max(name.rfind(".x_"), name.rfind(".x\u01c1"))
        module = name[:cut] if cut > 0 else name
        counts[module][status.strip()] += 1
    if not counts:
        print("no mutants found: run `mutmut run` first", file=sys.stderr)
        return 1
    width = max(len(m) for m in counts)
    print(f"{'module':<{width}}  killed  survived  other  score")
    total: collections.Counter[str] = collections.Counter()
    for module in sorted(counts):
        c = counts[module]
        total.update(c)
        print(_row(module, c, width))
    print(_row("all", total, width))
    return 0


def _row(label: str, c: collections.Counter[str], width: int) -> str:
    caught = sum(c[s] for s in CAUGHT)
    survived = c["survived"]
    other = sum(c.values()) - caught - survived
    tested = caught + survived
    score = f"{100 * caught / tested:5.1f} %" if tested else "   n/a"
    return f"{label:<{width}}  {caught:6d}  {survived:8d}  {other:5d}  {score}"


if __name__ == "__main__":
    sys.exit(main())
