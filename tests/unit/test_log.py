"""CI fold groups per provider, and secret redaction."""

from __future__ import annotations

import pytest

from numpy_wheels.ci import CIProvider
from numpy_wheels.log import Logger


@pytest.mark.parametrize(
    ("ci", "start", "end"),
    [
        (CIProvider.TRAVIS, "travis_fold:start:cp311_build", "travis_fold:end:cp311_build"),
        (CIProvider.GITHUB, "::group::cp311 build", "::endgroup::"),
        (CIProvider.AZURE, "##[group]cp311 build", "##[endgroup]"),
        (CIProvider.APPVEYOR, "==> cp311 build", "✓ cp311 build"),
    ],
)
def test_fold_groups(
    ci: CIProvider, start: str, end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = Logger(ci=ci)
    with logger.step("cp311 build"):
        logger.write("compiling")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == start
    assert any(line.startswith(end) for line in lines[2:])


def test_secrets_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logger = Logger()
    logger.add_secret("s3cr3t-value")
    logger.write("token=s3cr3t-value!")
    assert capsys.readouterr().out == "token=****!\n"


def test_a_json_run_does_not_leave_the_logger_on_its_stream() -> None:
    """main() --json logs to the stderr of that moment; afterwards (that stream closed, as
    pytest's capture closes it) the logger writes to the current stdout again."""
    import contextlib
    import io

    from numpy_wheels.__main__ import main
    from numpy_wheels.log import log

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["matrix", "--json", "--only", "cp312-win32"], env={}) == 0
    err.close()
    with contextlib.redirect_stdout(out):
        log.write("after the run")
    assert out.getvalue() == "after the run\n"
