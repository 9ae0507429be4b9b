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
