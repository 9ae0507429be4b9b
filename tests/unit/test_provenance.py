"""The release's provenance rule (release/provenance.py) on hand-made build records."""

from __future__ import annotations

import pytest

from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.release.listing import Remote
from numpy_wheels.release.provenance import Expected, check, needs_tag, problem

TAG_SHA = "a" * 40
EXPECTED = Expected(project="numpy", version="2.4.6", tag="v2.4.6", tag_sha=TAG_SHA)
WHEEL = "numpy-2.4.6-cp312-cp312-win_amd64.whl"


def remote(build: dict[str, object] | None, sha: str = "1" * 64) -> Remote:
    return Remote(filename=WHEEL, url=None, sha256=sha, build=build)


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "wheel",
        "sha256": "1" * 64,
        "commit": "v2.4.6",
        "source": {"kind": "git", "resolved": TAG_SHA, "origin": "https://x/numpy.git"},
        "ok": True,
        "test": "passed (host venv)",
    }
    return base | changes


def test_a_tested_build_of_the_tag_passes() -> None:
    assert problem(remote(record()), EXPECTED) is None
    assert needs_tag([remote(record())])


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (None, "no build record"),
        (record(sha256="2" * 64), "of other bytes"),
        (record(source={"kind": "git", "resolved": "b" * 40}), "not from the tag v2.4.6"),
        (record(ok=False), "tests did not pass"),
        (record(test="not run (--no-test)"), "tests did not pass (not run (--no-test))"),
        (
            record(source={"kind": "sdist", "origin": "https://x/numpy-2.4.5.tar.gz"}),
            "not the sdist",
        ),
        (record(source={}), "names no source"),
    ],
)
def test_what_is_refused(build: dict[str, object] | None, why: str) -> None:
    found = problem(remote(build), EXPECTED)
    assert found is not None
    assert why in found
    with pytest.raises(ReleaseGateError, match=r"not tied to a tested build of v2\.4\.6") as info:
        check([remote(build)], EXPECTED, allow_unverified=False)
    assert "--allow-unverified-provenance" in info.value.hint
    assert check([remote(build)], EXPECTED, allow_unverified=True) == [f"{WHEEL}: {found}"]


def test_a_build_from_the_release_sdist_passes() -> None:
    sdist = {"kind": "sdist", "resolved": "c" * 64, "origin": "https://files/numpy-2.4.6.tar.gz"}
    assert problem(remote(record(source=sdist)), EXPECTED) is None
    assert not needs_tag([remote(record(source=sdist))])
