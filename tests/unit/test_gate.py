"""The release gate: platform families by parsed tags, manifest comparison, coherence."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.errors import ReleaseGateError
from numpy_wheels.release import gate
from tests.wheelfiles import make_sdist, make_wheel

MANY = "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
MANY1 = "numpy-1.19.0-cp38-cp38-manylinux1_x86_64.whl"
MUSL = "numpy-2.4.6-cp312-cp312-musllinux_1_2_x86_64.whl"
MAC = "numpy-2.4.6-cp312-cp312-macosx_14_0_arm64.whl"
WIN = "numpy-2.4.6-cp312-cp312-win_amd64.whl"
SDIST = "numpy-2.4.6.tar.gz"


@pytest.mark.parametrize(
    ("wheel_type", "selected"),
    [
        ("all", {MANY, MUSL, MAC, WIN, SDIST}),
        ("linux", {MANY, MUSL}),
        ("manylinux", {MANY}),
        ("musllinux", {MUSL}),
        ("macosx", {MAC}),
        ("win", {WIN}),
        ("manylinux1", set()),  # manylinux_2_28 is not manylinux1, whatever the substring
    ],
)
def test_wheel_type_is_matched_on_parsed_tags(
    wheel_type: gate.WheelType, selected: set[str]
) -> None:
    names = [MANY, MUSL, MAC, WIN, SDIST]
    got = gate.select(names, project="numpy", version="2.4.6", wheel_type=wheel_type)
    assert set(got) == selected


def test_substrings_in_names_do_not_match() -> None:
    """ "win" in a project name, "linux" in a version label: neither is a platform."""
    names = ["winpty-2.0-cp312-cp312-macosx_11_0_arm64.whl"]
    assert gate.select(names, project="winpty", version="2.0", wheel_type="win") == []
    assert gate.select([MANY1], project="numpy", version="1.19", wheel_type="manylinux1") == [MANY1]


def test_select_compares_versions_and_normalised_names() -> None:
    names = [
        MANY,
        "NumPy-2.4.6-cp311-cp311-win_amd64.whl",
        "numpy-2.4.60-cp312-cp312-win_amd64.whl",
    ]
    got = gate.select(names, project="numpy", version="2.4.6", wheel_type="all")
    assert got == sorted([MANY, "NumPy-2.4.6-cp311-cp311-win_amd64.whl"])


def test_check_finds_missing_unexpected_duplicate_unsupported_misspelt() -> None:
    build_tagged = "numpy-2.4.6-1-cp312-cp312-win_amd64.whl"  # same tags as WIN
    linux = "numpy-2.4.6-cp312-cp312-linux_x86_64.whl"
    misspelt = "numpy-2.4.6.0-cp313-cp313-win_amd64.whl"
    expected = [MANY, MAC, WIN, "numpy-2.4.6-cp313-cp313-win_amd64.whl"]
    found = [MAC, WIN, build_tagged, linux, misspelt]
    report = gate.check(found, expected=expected, version="2.4.6", wheel_type="all")
    assert report.missing == (MANY, "numpy-2.4.6-cp313-cp313-win_amd64.whl")
    assert set(report.unexpected) == {build_tagged, linux, misspelt}
    assert report.duplicates == ((WIN, build_tagged),)
    assert report.unsupported == (linux,)
    assert report.misspelt_version == (misspelt,)
    with pytest.raises(ReleaseGateError, match="duplicate tags"):
        gate.enforce(report, allow_incomplete=True)  # inconsistency is never allowed


def test_incomplete_is_refused_unless_allowed() -> None:
    report = gate.check([MAC], expected=[MAC, WIN], version="2.4.6", wheel_type="all")
    with pytest.raises(ReleaseGateError, match=f"missing .*: {WIN}"):
        gate.enforce(report, allow_incomplete=False)
    gate.enforce(report, allow_incomplete=True)
    # with -t macosx the Windows wheel is not expected at all
    only_mac = gate.check([MAC], expected=[MAC, WIN], version="2.4.6", wheel_type="macosx")
    assert only_mac.complete
    with pytest.raises(ReleaseGateError, match="no files"):
        gate.enforce(
            gate.check([], expected=[], version="2.4.6", wheel_type="all"), allow_incomplete=True
        )


PUBLISHED = tuple((Path(__file__).parent / "data" / "numpy-2.4.6-files.txt").read_text().split())


def test_numpys_whole_release_passes_the_gate() -> None:
    """numpy 2.4.6 as published: OpenBLAS and Accelerate wheels of one identifier, PyPy, sdist."""
    report = gate.check(list(PUBLISHED), expected=PUBLISHED, version="2.4.6", wheel_type="all")
    assert report.complete
    assert report.consistent
    gate.enforce(report, allow_incomplete=False)


@pytest.mark.parametrize("left_out", PUBLISHED)
def test_any_one_file_missing_is_refused(left_out: str) -> None:
    found = [n for n in PUBLISHED if n != left_out]
    report = gate.check(found, expected=PUBLISHED, version="2.4.6", wheel_type="all")
    assert report.missing == (left_out,)
    with pytest.raises(ReleaseGateError, match=f"missing .*: {left_out}"):
        gate.enforce(report, allow_incomplete=False)


def test_a_second_sdist_is_unexpected() -> None:
    found = [*PUBLISHED, "numpy-2.4.6.zip"]
    report = gate.check(found, expected=PUBLISHED, version="2.4.6", wheel_type="all")
    assert report.unexpected == ("numpy-2.4.6.zip",)


def test_coherence_reads_metadata(tmp_path: Path) -> None:
    good = [make_wheel(tmp_path, version="0.1.0"), make_sdist(tmp_path, version="0.1.0")]
    found = {p.name: gate.metadata_of(p) for p in good}
    gate.check_coherence(found, project="fooext", version="0.1.0")
    liar = make_wheel(
        tmp_path / "x", version="0.1.0", metadata_version="0.2.0", tag="cp311-cp311-win_amd64"
    )
    found[liar.name] = gate.metadata_of(liar)
    with pytest.raises(ReleaseGateError, match=r"METADATA says fooext 0\.2\.0"):
        gate.check_coherence(found, project="fooext", version="0.1.0")


def test_release_target_from_url_or_pypirc(tmp_path: Path) -> None:
    from numpy_wheels.config.release import resolve_target
    from numpy_wheels.errors import ConfigError

    pypi = resolve_target(repository=None, repository_url=None, index_url=None, config_file=None)
    assert pypi.repository_url == "https://upload.pypi.org/legacy/"
    assert pypi.simple_url == "https://pypi.org/simple/"
    assert pypi.is_pypi  # signing there warns: PyPI ignores signatures
    test = resolve_target(
        repository=None,
        repository_url="https://test.pypi.org/legacy/",
        index_url=None,
        config_file=None,
    )
    assert test.simple_url == "https://test.pypi.org/simple/"
    local = resolve_target(
        repository=None, repository_url="http://127.0.0.1:8080/", index_url=None, config_file=None
    )
    assert local.simple_url == "http://127.0.0.1:8080/simple/"
    assert not local.is_pypi
    with pytest.raises(ConfigError, match="No such file"):
        resolve_target(
            repository="x",
            repository_url=None,
            index_url=None,
            config_file=str(tmp_path / "absent"),
        )


def test_release_target_names_a_pypirc_section_only_when_the_file_has_it(tmp_path: Path) -> None:
    """twine gives ``pypi`` its default URL when the pypirc lacks the section: the target
    says so, not "pypirc section 'pypi' of FILE" (issue 12 tryout, with no ~/.pypirc)."""
    from numpy_wheels.config.release import resolve_target

    pypirc = tmp_path / "pypirc"
    pypirc.write_text("[distutils]\nindex-servers =\n  other\n\n[other]\nrepository = http://h/\n")
    default = resolve_target(
        repository=None, repository_url=None, index_url=None, config_file=str(pypirc)
    )
    assert default.repository_url == "https://upload.pypi.org/legacy/"
    assert "pypirc section" not in default.describe()
    assert f"(twine's default for 'pypi': {pypirc} has no [pypi] section)" in default.describe()
    other = resolve_target(
        repository="other", repository_url=None, index_url=None, config_file=str(pypirc)
    )
    assert f"(pypirc section 'other' of {pypirc})" in other.describe()


@pytest.mark.parametrize(
    ("cli_url", "cli_repo", "env", "chosen"),
    [
        ("u1", "r1", {"TWINE_REPOSITORY_URL": "u2", "TWINE_REPOSITORY": "r2"}, (None, "u1")),
        (None, "r1", {"TWINE_REPOSITORY_URL": "u2", "TWINE_REPOSITORY": "r2"}, (None, "u2")),
        (None, "r1", {"TWINE_REPOSITORY": "r2"}, ("r1", None)),
        (None, None, {"TWINE_REPOSITORY": "r2"}, ("r2", None)),
        (None, None, {}, ("pypi", None)),
    ],
)
def test_target_precedence_is_twines(
    cli_url: str | None, cli_repo: str | None, env: dict[str, str], chosen: tuple[str | None, ...]
) -> None:
    from numpy_wheels.config.release import choose_target

    assert choose_target(repository=cli_repo, repository_url=cli_url, env=env)[:2] == chosen
