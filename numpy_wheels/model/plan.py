"""Per-identifier build plans: pure functions of the identifier and the BLAS variant.

A plan says, for one wheel, what numpy's release CI does on that platform: the runner, the
BLAS package (or Accelerate / none), ILP64, the macOS deployment target, meson setup args, the
environment, how the wheel is built (universal2: per arch, then ``delocate-merge``), the repair
command and the test command. Nothing here looks at the machine it runs on: the cibuildwheel
backend, ``plan`` and ``reproduce`` all read the same plan.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, TypeAlias

from numpy_wheels.errors import SelectionError
from numpy_wheels.model.matrix import BuildId

Variant: TypeAlias = Literal["openblas", "accelerate", "none"]

#: ``{wheel}``, ``{dest_dir}`` and ``{openblas_lib}`` are filled in when the command runs
#: (cibuildwheel's placeholders, plus the directory of the OpenBLAS shared library).
AUDITWHEEL = ("auditwheel", "repair", "-w", "{dest_dir}", "{wheel}")
DELVEWHEEL = (
    "delvewheel", "repair", "--add-path", "{openblas_lib}", "-w", "{dest_dir}", "-v", "{wheel}",
)  # fmt: skip
DELOCATE_TAIL = ("-w", "{dest_dir}", "-v", "{wheel}")
NUMPY_TEST = (
    "python",
    "-c",
    'import sys, numpy; numpy.show_config(); sys.exit(not numpy.test(label="full", '
    'extra_argv=["-n=auto", "--durations=10"]))',
)

# macOS runners of numpy's release CI: arm64 on macos-14, x86_64 on the Intel image.
MACOS_RUNNER = {"arm64": "macos-14", "x86_64": "macos-15-intel", "universal2": "macos-14"}
WINDOWS_RUNNER = {"AMD64": "windows-2022", "x86": "windows-2022", "ARM64": "windows-11-arm"}
LINUX_RUNNER = {"x86_64": "ubuntu-22.04", "aarch64": "ubuntu-22.04-arm"}
# Accelerate's ILP64 interface needs macOS 14 (numpy builds those wheels for 14.0 onwards).
ACCELERATE_TARGET = "14.0"
# scipy-openblas' arm64 library is built for macOS 11; the x86_64 one for 10.9.
OPENBLAS_MIN_MACOS = {"arm64": "11.0", "x86_64": "10.9"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    identifier: str
    os: str
    arch: str
    variant: Variant
    runner: str
    wheel_platform: str
    blas_package: str | None  # scipy-openblas64 / scipy-openblas32; None: Accelerate or none
    ilp64: bool
    deployment_target: str | None  # MACOSX_DEPLOYMENT_TARGET
    archs: tuple[str, ...]  # built architectures (universal2: both, then merged)
    setup_args: tuple[str, ...]  # meson setup args (config-settings)
    environment: tuple[tuple[str, str], ...]
    build: tuple[tuple[str, ...], ...]  # extra build steps after the per-arch builds
    repair: tuple[str, ...] | None  # None: the wheel needs no repair (nothing to vendor)
    test: tuple[str, ...]
    testable: bool  # can the runner run the wheel's tests
    notes: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        return dict(self.environment)

    def repair_command(self, **values: str) -> list[str] | None:
        """The repair argv with its placeholders filled (cibuildwheel's names)."""
        if self.repair is None:
            return None
        return [part.format(**values) for part in self.repair]

    def as_json(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["environment"] = self.env()
        return out


def _max_version(a: str, b: str) -> str:
    return max(a, b, key=lambda v: tuple(int(x) for x in v.split(".")))


def _macos(build_id: BuildId, variant: Variant) -> Plan:
    arch = build_id.platform.arch
    archs = ("x86_64", "arm64") if arch == "universal2" else (arch,)
    if variant == "accelerate":
        target = ACCELERATE_TARGET
        blas = None
        setup: tuple[str, ...] = ("-Dblas=accelerate", "-Duse-ilp64=true", "-Dallow-noblas=false")
    elif variant == "openblas":
        # The wheel cannot claim an older macOS than the OpenBLAS it bundles (delocate's
        # check would refuse it): the deployment target is the later of the two.
        # (universal2 is tagged by its x86_64 half: arm64 code is 11.0+ by definition.)
        target = _max_version(build_id.python.macos_min, OPENBLAS_MIN_MACOS[archs[0]])
        blas = build_id.platform.blas
        setup = ("-Duse-ilp64=true", "-Dallow-noblas=false")
    else:
        msg = f"{build_id.identifier}: macOS wheels use OpenBLAS or Accelerate, not {variant!r}"
        raise SelectionError(msg)
    tag_target = target.replace(".", "_")
    if arch == "universal2":
        wheel_platform = f"macosx_{tag_target}_universal2"
    else:
        wheel_platform = f"macosx_{tag_target}_{arch}"
    env = [("MACOSX_DEPLOYMENT_TARGET", target)]
    if blas:
        env += [("PKG_CONFIG_PATH", "{project}/.openblas"), ("DYLD_LIBRARY_PATH", "{openblas_lib}")]
    else:
        env += [("INSTALL_OPENBLAS", "false")]
    merge: tuple[tuple[str, ...], ...] = ()
    notes = []
    if arch == "universal2":
        merge = (("delocate-merge", "-w", "{dest_dir}", "{wheel_x86_64}", "{wheel_arm64}"),)
        notes.append("built per arch and fused with delocate-merge (delocate-fuse is gone)")
    runner = MACOS_RUNNER[arch]
    # An x86_64 runner cannot test a wheel that needs macOS 14 (numpy skips those tests).
    testable = not (variant == "accelerate" and arch == "x86_64")
    if not testable:
        notes.append("tests skipped: the Intel runner is older than the wheel's macOS 14")
    return Plan(
        identifier=build_id.identifier,
        os="macos",
        arch=arch,
        variant=variant,
        runner=runner,
        wheel_platform=wheel_platform,
        blas_package=blas,
        ilp64=True,
        deployment_target=target,
        archs=archs,
        setup_args=setup,
        environment=tuple(env),
        build=merge,
        repair=("delocate-wheel", "--require-archs", ",".join(archs), *DELOCATE_TAIL),
        test=NUMPY_TEST,
        testable=testable,
        notes=tuple(notes),
    )


def _windows(build_id: BuildId) -> Plan:
    arch = build_id.platform.arch
    blas = None if build_id.platform.blas == "none" else build_id.platform.blas
    ilp64 = blas == "scipy-openblas64"
    setup = ["--vsenv", f"-Duse-ilp64={'true' if ilp64 else 'false'}"]
    setup.append("-Dallow-noblas=true" if blas is None else "-Dallow-noblas=false")
    env = [("PKG_CONFIG_PATH", "{project}/.openblas")] if blas else []
    notes = []
    if arch == "ARM64":
        env += [("CC", "clang-cl"), ("CXX", "clang-cl")]
        notes.append("clang-cl on windows-11-arm; scipy-openblas32 (no ILP64 build for arm64)")
    if blas is None:
        notes.append("32-bit: no BLAS (as numpy), so nothing to vendor and no repair")
    return Plan(
        identifier=build_id.identifier,
        os="windows",
        arch=arch,
        variant="openblas" if blas else "none",
        runner=WINDOWS_RUNNER[arch],
        wheel_platform=build_id.platform.wheel_platform,
        blas_package=blas,
        ilp64=ilp64,
        deployment_target=None,
        archs=(arch,),
        setup_args=tuple(setup),
        environment=tuple(env),
        build=(),
        repair=DELVEWHEEL if blas else None,
        test=NUMPY_TEST,
        testable=True,
        notes=tuple(notes),
    )


def _linux(build_id: BuildId) -> Plan:
    arch = build_id.platform.arch
    blas = build_id.platform.blas
    return Plan(
        identifier=build_id.identifier,
        os="linux",
        arch=arch,
        variant="openblas",
        runner=LINUX_RUNNER[arch],
        wheel_platform=build_id.wheel_platform,
        blas_package=blas,
        ilp64=blas == "scipy-openblas64",
        deployment_target=None,
        archs=(arch,),
        setup_args=("-Duse-ilp64=true", "-Dallow-noblas=false"),
        environment=(("PKG_CONFIG_PATH", "{project}/.openblas"),),
        build=(),
        repair=AUDITWHEEL,
        test=NUMPY_TEST,
        testable=True,
        notes=(f"in {build_id.platform.image}",) if build_id.platform.image else (),
    )


def make_plan(build_id: BuildId, variant: Variant | None = None) -> Plan:
    """The plan of ``build_id``; ``variant`` picks Accelerate on macOS (default OpenBLAS)."""
    match build_id.platform.os:
        case "macos":
            return _macos(build_id, variant or "openblas")
        case "windows":
            if variant == "accelerate":
                msg = f"{build_id.identifier}: Accelerate exists only on macOS"
                raise SelectionError(msg)
            return _windows(build_id)
        case _:
            if variant == "accelerate":
                msg = f"{build_id.identifier}: Accelerate exists only on macOS"
                raise SelectionError(msg)
            return _linux(build_id)
