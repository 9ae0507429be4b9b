"""Every hostile case, one assertion set: the documented exit code, no traceback (unless
--debug-traceback), nothing created or changed outside what the command owns, no partial
file, the canary secret in no output, and a wall-clock bound. The command runs in this
process (fast); a watchdog sends SIGINT to a case that overruns its bound, so a hang fails
the case instead of the suite."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from numpy_wheels.__main__ import main, wheel_uploader_main
from tests.hostile.badserver import BadServer
from tests.hostile.cases import CASES, CAUSES, Case
from tests.hostile.sandbox import CANARY, Sandbox, changes, partial_files, snapshot

BASE_ENV = {
    "WHEELHOUSE_UPLOADER_USERNAME": "uploader",
    "WHEELHOUSE_UPLOADER_SECRET": CANARY,
    "TWINE_USERNAME": "__token__",
    "TWINE_PASSWORD": CANARY,
    "AWS_SECRET_ACCESS_KEY": CANARY,
}


@pytest.fixture
def sandbox(tmp_path: Path, bad: BadServer, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sb = Sandbox(tmp=tmp_path / "sb", server=bad)
    sb.create()
    # Relative paths and ~ resolve inside the sandbox, so a stray write is seen there.
    monkeypatch.chdir(sb.tmp / "cwd")
    monkeypatch.setenv("HOME", str(sb.home))
    return sb


def run_bounded(case: Case, argv: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run the CLI in this thread; past twice the bound a watchdog interrupts it (SIGINT)."""
    entry = wheel_uploader_main if case.program == "wheel-uploader" else main
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    watchdog = threading.Timer(max(2 * case.bound, case.bound + 5), interrupt)
    watchdog.daemon = True
    start = time.monotonic()
    watchdog.start()
    try:
        code = entry(argv, env=env)
    finally:
        watchdog.cancel()
    elapsed = time.monotonic() - start
    assert not fired.is_set(), f"hang: interrupted after {elapsed:.1f} s (bound {case.bound} s)"
    return code, elapsed


def release_report(case: Case, argv: list[str], sb: Sandbox) -> set[str]:
    """A release owns its JSON report on every exit path (README, release step 9): exactly
    that file and the wheel directory it is in (sandbox-relative), nothing else there."""
    if case.program != "wheel-uploader" and "release" not in argv:
        return set()
    option = dict(itertools.pairwise(argv))
    given = option.get("-w", option.get("--wheel-dir", "~/wheelhouse"))
    # relative to the sandbox's cwd; an absolute path stays itself
    wheel_dir = sb.home / given[2:] if given.startswith("~/") else sb.tmp / "cwd" / given
    report = Path(option.get("--report", wheel_dir / "release-fooext-0.1.0.json"))
    out = set()
    for path in (wheel_dir, report):
        with contextlib.suppress(ValueError):
            out.add(str(path.resolve().relative_to(sb.tmp.resolve())))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case: Case, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    argv = case.build(sandbox)
    env = {"PATH": os.environ["PATH"], "HOME": str(sandbox.home), **BASE_ENV, **case.env}
    before = snapshot(sandbox.tmp)
    capsys.readouterr()
    try:
        code, elapsed = run_bounded(case, argv, env)
    except BaseException as exc:  # anything escaping main() is the bug this suite looks for
        pytest.fail(f"escaped main(): {type(exc).__name__}: {exc}")
    out, err = capsys.readouterr()
    output = out + err
    changed = changes(before, snapshot(sandbox.tmp))
    owned = release_report(case, argv, sandbox)
    outside = [
        p
        for p in changed
        if p not in owned and not any(p == o or p.startswith(o + "/") for o in case.owns)
    ]
    assert code == case.code, f"exit {code}, documented {case.code}\n{output[-3000:]}"
    if "--debug-traceback" in argv:
        assert "Traceback" in output
    else:
        assert "Traceback" not in output, output[-3000:]
    assert "internal error" not in output, output[-3000:]
    # a terminal acts on these (escape sequences, 8-bit CSI, bidi overrides): input is shown
    raw = [c for c in "\x1b\x07\x9b\u202e" if c in output]
    assert raw == [], f"control characters {raw} printed raw:\n{output[-3000:]!r}"
    assert outside == [], f"changed outside {case.owns}: {outside}"
    assert partial_files(changed) == []
    assert CANARY not in output, "the canary secret was printed"
    # what the command wrote (release reports, records) is redacted as its output is
    written = "".join(
        (sandbox.tmp / p).read_text(errors="replace")
        for p in changed
        if p.endswith(".json") and (sandbox.tmp / p).is_file()
    )
    assert CANARY not in written, "the canary secret was written"
    if case.absent is not None:
        assert case.absent not in written, written[-3000:]
    assert elapsed < case.bound, f"took {elapsed:.1f} s (bound {case.bound} s)"
    if case.expect is not None:
        assert case.expect in output, output[-3000:]
    if case.absent is not None:
        assert case.absent not in output, output[-3000:]
    private = sandbox.outside / "private.txt"
    assert private.stat().st_mode & 0o777 == 0o600
    assert not [
        p
        for p in sandbox.store.rglob("*")
        if p.is_file() and p.read_bytes() == private.read_bytes()
    ]


def test_the_table_covers_every_cause() -> None:
    assert len(CASES) >= 150
    counts = {cause: sum(c.cause == cause for c in CASES) for cause in CAUSES}
    missing = [f"{n}: {CAUSES[n]}" for n, count in counts.items() if count == 0 and n != 10]
    assert missing == []  # cause 10 (signals) runs in test_interrupt.py, as a real process
