"""multibuild's MB_ML_VER / MB_PYTHON_OSX_VER as the wheel's platform tag (one place:
model.matrix.with_multibuild), and the tag sets auditwheel writes for a policy (accepts).

Issue 12 tryout: `build` repaired to manylinux2014 while plan, reproduce, `matrix --wheels`
and the release manifest named manylinux_2_27.manylinux_2_28, so the built wheel was refused
as "unexpected"."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from packaging.utils import parse_wheel_filename

from numpy_wheels.errors import ConfigError
from numpy_wheels.model.matrix import (
    accepts,
    load_catalogue,
    ml_policy,
    policy_tags,
    with_multibuild,
)
from numpy_wheels.model.plan import make_plan
from numpy_wheels.release.gate import check


def test_legacy_names_are_auditwheels_aliases() -> None:
    """The tags policy_tags writes are the pinned auditwheel's policy name and aliases, for
    every manylinux and musllinux policy it knows (its repair writes exactly these)."""
    for libc in ("manylinux", "musllinux"):
        text = resources.files("auditwheel.policy").joinpath(f"{libc}-policy.json").read_text()
        for policy in json.loads(text):
            if policy["name"] == "linux":
                continue
            major, minor = (int(x) for x in policy["name"].split("_")[1:3])
            want = sorted(f"{n}_x86_64" for n in (policy["name"], *policy["aliases"]))
            assert list(policy_tags(libc, (major, minor), "x86_64")) == want, policy["name"]


@pytest.mark.parametrize(
    ("ml_ver", "platform", "tags"),
    [
        ("1", "manylinux_x86_64", "manylinux1_x86_64.manylinux_2_5_x86_64"),
        ("2010", "manylinux_x86_64", "manylinux2010_x86_64.manylinux_2_12_x86_64"),
        ("2014", "manylinux_x86_64", "manylinux2014_x86_64.manylinux_2_17_x86_64"),
        ("2014", "manylinux_aarch64", "manylinux2014_aarch64.manylinux_2_17_aarch64"),
        ("_2_24", "manylinux_x86_64", "manylinux_2_24_x86_64"),
        ("_2_28", "manylinux_x86_64", "manylinux_2_28_x86_64"),
        ("_1_1", "musllinux_x86_64", "musllinux_1_1_x86_64"),
    ],
)
def test_mb_ml_ver_is_the_wheels_platform_tag(ml_ver: str, platform: str, tags: str) -> None:
    build_id = with_multibuild(load_catalogue().find(f"cp312-{platform}"), {"MB_ML_VER": ml_ver})
    assert build_id.wheel_platform == tags
    plan = make_plan(build_id, openblas=False, project="fooext")
    assert plan.wheel_platform == tags
    assert plan.repair is not None
    assert plan.repair[:4] == ("auditwheel", "repair", "--plat", build_id.repair_plat)
    assert build_id.key == f"cp312-{platform}"  # the identifier does not change
    (name,) = {build_id.wheel_name("fooext", "0.1.0")}
    assert {t.platform for t in parse_wheel_filename(name)[3]} == set(tags.split("."))


def test_without_mb_ml_ver_the_catalogue_tag_stays() -> None:
    build_id = load_catalogue().find("cp312-manylinux_x86_64")
    assert with_multibuild(build_id, {}) is build_id
    assert build_id.wheel_platform == "manylinux_2_27_x86_64.manylinux_2_28_x86_64"
    mac = load_catalogue().find("cp312-macosx_arm64")
    assert with_multibuild(mac, {"MB_ML_VER": "2014"}).wheel_platform == mac.wheel_platform


@pytest.mark.parametrize(
    ("name", "value"),
    [("MB_ML_VER", "2015"), ("MB_ML_VER", "bogus"), ("MB_ML_VER", "2_28"),
     ("MB_PYTHON_OSX_VER", "ten"), ("MB_PYTHON_OSX_VER", "10.9; rm")],
)  # fmt: skip
def test_a_value_multibuild_would_not_take_is_a_config_error(name: str, value: str) -> None:
    key = "cp312-macosx_x86_64" if name == "MB_PYTHON_OSX_VER" else "cp312-manylinux_x86_64"
    with pytest.raises(ConfigError, match=name):
        with_multibuild(load_catalogue().find(key), {name: value})


def test_musllinux_takes_no_legacy_name() -> None:
    assert ml_policy("_1_2", libc="musllinux") == (1, 2)
    with pytest.raises(ConfigError, match="musllinux"):
        ml_policy("2014", libc="musllinux")


@pytest.mark.parametrize(
    ("key", "osx_ver", "target", "tag"),
    [
        ("cp312-macosx_x86_64", "10.9", "10.9", "macosx_10_9_x86_64"),  # not cp312's 10.13
        ("cp312-macosx_x86_64", "11.0", "11.0", "macosx_11_0_x86_64"),
        ("cp312-macosx_arm64", "10.9", "11.0", "macosx_11_0_arm64"),  # arm64's own floor
        ("cp312-macosx_arm64+accelerate", "10.9", "14.0", "macosx_14_0_arm64"),
    ],
)
def test_mb_python_osx_ver_is_the_deployment_target(
    key: str, osx_ver: str, target: str, tag: str
) -> None:
    build_id = with_multibuild(load_catalogue().find(key), {"MB_PYTHON_OSX_VER": osx_ver})
    assert (build_id.deployment_target, build_id.wheel_platform) == (target, tag)
    plan = make_plan(build_id)
    assert plan.env()["MACOSX_DEPLOYMENT_TARGET"] == target
    assert plan.wheel_platform == tag


EXPECTED = "fooext-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
# what auditwheel 6.8.2 wrote for `--plat manylinux2014_x86_64` in the tryout
WRITTEN = (
    "fooext-0.1.0-cp311-cp311-manylinux1_x86_64.manylinux2014_x86_64.manylinux_2_17_x86_64"
    ".manylinux_2_5_x86_64.whl"
)


@pytest.mark.parametrize(
    ("found", "ok"),
    [
        (EXPECTED, True),
        (WRITTEN, True),
        ("fooext-0.1.0-cp311-cp311-manylinux2010_x86_64.manylinux2014_x86_64"
         ".manylinux_2_12_x86_64.manylinux_2_17_x86_64.whl", True),
        # a newer glibc than the policy promises
        ("fooext-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
         ".manylinux_2_28_x86_64.whl", False),
        # half of an older policy (auditwheel writes its name and aliases together)
        ("fooext-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
         ".manylinux_2_5_x86_64.whl", False),
        # two older policies
        ("fooext-0.1.0-cp311-cp311-manylinux1_x86_64.manylinux2010_x86_64.manylinux2014_x86_64"
         ".manylinux_2_12_x86_64.manylinux_2_17_x86_64.manylinux_2_5_x86_64.whl", False),
        # the expected policy missing, another architecture, another Python, another version
        ("fooext-0.1.0-cp311-cp311-manylinux1_x86_64.manylinux_2_5_x86_64.whl", False),
        ("fooext-0.1.0-cp311-cp311-manylinux1_i686.manylinux2014_x86_64"
         ".manylinux_2_17_x86_64.manylinux_2_5_i686.whl", False),
        (WRITTEN.replace("cp311-cp311", "cp312-cp312"), False),
        (WRITTEN.replace("0.1.0", "0.1.1"), False),
        ("fooext-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.musllinux_1_1_x86_64"
         ".whl", False),
    ],
)  # fmt: skip
def test_accepts_what_auditwheel_writes_for_the_policy(found: str, ok: bool) -> None:
    assert accepts(EXPECTED, found) is ok


def test_the_gate_takes_auditwheels_name_as_the_manifests() -> None:
    """The tryout's refusal: the built wheel "unexpected (staged, not in the manifest)"."""
    sdist = "fooext-0.1.0.tar.gz"
    report = check([WRITTEN, sdist], expected=[EXPECTED, sdist], version="0.1.0", wheel_type="all")
    assert (report.missing, report.unexpected) == ((), ())
    assert report.complete
    assert report.consistent
    # both spellings staged: one wheel twice (their tags overlap), never released
    both = check(
        [EXPECTED, WRITTEN, sdist], expected=[EXPECTED, sdist], version="0.1.0", wheel_type="all"
    )
    assert not both.consistent
    assert both.duplicates == ((EXPECTED, WRITTEN),)
