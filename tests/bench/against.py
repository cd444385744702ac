"""``python -m tests.bench.against REV``: pickup -> relay of an earlier revision and of this
checkout, in alternation in one run (the same machine state for both), with and without
each pickup's phrase spoken. The earlier revision is checked out in a git worktree under
``var/bench/``; both run on this checkout's venv."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tests.bench.figures import Figure, latency, table
from tests.bench.layout import service_core
from tests.helpers import ROOT


def _inproc(cwd: Path, work: Path, count: int, pin: bool, speech: bool | None) -> list[float]:
    """``speech`` None: an earlier ``--inproc`` that takes no speech argument."""
    work.mkdir(parents=True, exist_ok=True)
    extra = [] if speech is None else ["1" if speech else "0"]
    command = ["-m", "tests.bench.run", "--inproc", str(count), str(work), "0", *extra]
    out = subprocess.run(
        [*service_core(pin), sys.executable, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    samples: list[float] = json.loads(out.stdout.splitlines()[-1])
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.against")
    parser.add_argument("rev", help="the earlier revision (a commit, a tag)")
    parser.add_argument("--count", type=int, default=300, help="pickups of each kind")
    args = parser.parse_args(argv)
    base = ROOT / "var" / "bench"
    tree = base / f"rev-{args.rev}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "-f", str(tree), args.rev], cwd=ROOT, check=True)
    # an --inproc that takes four arguments (the fourth: speech) came with issue 15
    takes_speech = "nargs=4" in (tree / "tests" / "bench" / "run.py").read_text()
    figures: list[Figure] = []
    for pin in (False, True):
        old: list[float] = []
        new: list[float] = []
        spoken: list[float] = []
        third = args.count // 3
        for part in range(3):
            work = base / "against" / f"{int(pin)}-{part}"
            old += _inproc(tree, work / "old", third, pin, False if takes_speech else None)
            new += _inproc(ROOT, work / "new", third, pin, False)
            spoken += _inproc(ROOT, work / "speech", third, pin, True)
        tag = "_1core" if pin else ""
        figures += [
            latency(f"pickup_to_relay_ms{tag} @{args.rev}", "ms", old, None),
            latency(f"pickup_to_relay_ms{tag}", "ms", new, None),
            latency(f"pickup_to_relay_ms_speech{tag}", "ms", spoken, None),
        ]
    print(table(figures))
    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
