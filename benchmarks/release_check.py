"""How the release checks scale with the listing: 1,000 vs 10,000 extra links (issue 18).

A listing (``python -m http.server`` in its own process) holds the expected wheels of
fooext 0.1.0 plus N extra wheels of the same version with platform tags the manifest does not
know — the worst case for the gate, since every extra one is selected and compared. The tool
lists, selects and gates (``wheel-uploader -n``), and refuses the set (exit 19) without
downloading anything; that is "the checks" timed here. For comparison, the pairwise
duplicate-tag check the gate used before (quadratic in the selected files) is timed on the
same names at 250 and 500 (and extrapolated to 10,000).

Prints seconds per N and the 10k/1k ratio (linear: ~10; the old check: ~100). Run from the
repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from numpy_wheels.__main__ import wheel_uploader_main  # noqa: E402
from numpy_wheels.model.matrix import load_catalogue, manifest, select  # noqa: E402
from numpy_wheels.release.gate import wheel_tags  # noqa: E402
from tests.servers import free_port, stop, wait_http  # noqa: E402

BUILD = ["cp311-manylinux_x86_64", "cp312-win_amd64", "cp313-macosx_arm64"]


def extra(n: int) -> str:
    return f"fooext-0.1.0-cp311-cp311-manylinux_2_28_x{n}.whl"


def listing(served: Path, extras: int) -> str:
    names = [
        *manifest(
            select(load_catalogue(), build=BUILD, skip=[]), project="fooext", version="0.1.0"
        ),
        *(extra(n) for n in range(extras)),
    ]
    page = served / f"index-{extras}.html"
    page.write_text(
        "<html><body>\n"
        + "\n".join(f'<a href="{n}#sha256={"0" * 64}">{n}</a>' for n in names)
        + "\n</body></html>\n"
    )
    return page.name


def checks(repo: Path, url: str, dest: Path) -> float:
    argv = ["--root", str(repo), "-u", url, "-w", str(dest), "-n", "fooext", "0.1.0"]
    out = io.StringIO()  # the gate names every extra file: not this script's output
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = wheel_uploader_main(argv, env={"PATH": "/usr/bin:/bin", "HOME": str(dest)})
    elapsed = time.perf_counter() - start
    assert code == 19, out.getvalue()[-2000:]  # refused: the extra wheels are not in the manifest
    return elapsed


def pairwise(names: list[str]) -> float:
    """The gate's old duplicate-tag check: every pair of wheels."""
    start = time.perf_counter()
    _ = [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if wheel_tags(a) & wheel_tags(b)
    ]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo, served = tmp / "repo", tmp / "served"
        repo.mkdir()
        served.mkdir()
        (repo / "pyproject.toml").write_text(
            f'[tool.numpy-wheels]\nproject = "fooext"\nbuild = {json.dumps(BUILD)}\nsdist = false\n'
        )
        pages = {n: listing(served, n) for n in (args.small, args.large)}
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=served,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}/"
            wait_http(base + pages[args.small], server)
            ours = {n: checks(repo, base + page, tmp / f"dl{n}") for n, page in pages.items()}
        finally:
            stop(server)
    few = args.small // 4  # the old check is too slow to run at N = 1,000 in a benchmark
    old = {n: pairwise([extra(i) for i in range(n)]) for n in (few, 2 * few)}
    print("release checks (list, select, gate) over a listing with N extra links:")
    for n, seconds in ours.items():
        print(f"  N = {n:>6}: {seconds:6.2f} s")
    print(f"  {args.large}/{args.small} time ratio: {ours[args.large] / ours[args.small]:.1f}")
    print("the old pairwise duplicate check alone, on N selected wheels:")
    for n, seconds in old.items():
        print(f"  N = {n:>6}: {seconds:6.2f} s")
    growth = old[2 * few] / old[few]
    estimate = old[few] * (args.large / few) ** 2
    print(f"  x2 N -> x{growth:.1f} time (quadratic); at N = {args.large}: ~{estimate:.0f} s")


if __name__ == "__main__":
    main()
