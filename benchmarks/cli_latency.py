"""Wall time of the CI-config commands against the 0.3 s goal, beside a bare interpreter start.

Run: python benchmarks/cli_latency.py [--runs N]. Prints the median of N runs per command
and its ratio to the goal, all measured in one run on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.3
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "commit": [sys.executable, "-m", "numpy_wheels", "commit"],
    "lint": [sys.executable, "-m", "numpy_wheels", "lint"],
    "matrix --json": [sys.executable, "-m", "numpy_wheels", "matrix", "--json"],
    "matrix --wheels 2.4.6": [sys.executable, "-m", "numpy_wheels", "matrix", "--wheels", "2.4.6"],
    "bump v9.9.9 --dry-run": [sys.executable, "-m", "numpy_wheels", "bump", "v9.9.9", "--dry-run"],
}


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"{'command':<26} {'median s':>9} {'/ goal':>7}")
    worst = 0.0
    for name, argv in COMMANDS.items():
        seconds = median_seconds(argv, args.runs)
        if "floor" not in name:
            worst = max(worst, seconds)
        print(f"{name:<26} {seconds:9.3f} {seconds / GOAL:7.2f}")
    verdict = "met" if worst <= GOAL else "MISSED"
    print(f"slowest command / {GOAL} s goal = {worst / GOAL:.2f} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
