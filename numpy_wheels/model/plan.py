"""Per-identifier build plans: pure functions of the identifier and the BLAS variant.

A plan says, for one wheel, what numpy's release CI does on that platform: the runner, the
BLAS package (or Accelerate / none), ILP64, the macOS deployment target, meson setup args, the
environment, how the wheel is built (universal2: per arch, then ``delocate-merge``), the repair
command and the test command. Nothing here looks at the machine it runs on: the cibuildwheel
backend, ``plan`` and ``reproduce`` all read the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from numpy_wheels.errors import SelectionError
from numpy_wheels.model.matrix import BuildId, Variant

#: ``{wheel}``, ``{dest_dir}`` and ``{openblas_lib}`` are filled in when the command runs
#: (cibuildwheel's placeholders, plus the directory of the OpenBLAS shared library).
AUDITWHEEL = ("auditwheel", "repair", "-w", "{dest_dir}", "{wheel}")
DELVEWHEEL = (
    "delvewheel", "repair", "--add-path", "{openblas_lib}", "-w", "{dest_dir}", "-v", "{wheel}",
)  # fmt: skip
DELVEWHEEL_PLAIN = ("delvewheel", "repair", "-w", "{dest_dir}", "-v", "{wheel}")
DELOCATE_TAIL = ("-w", "{dest_dir}", "-v", "{wheel}")
NUMPY_TEST = (
    "python",
    "-c",
    'import sys, numpy; numpy.show_config(); sys.exit(not numpy.test(label="full", '
    'extra_argv=["-n=auto", "--durations=10"]))',
)
#: A project other than numpy is tested by its config.sh ``run_tests`` (multibuild's
#: contract), in a fresh venv with the wheel installed.
RUN_TESTS = ("run_tests",)

# macOS runners of numpy's release CI: arm64 on macos-14, x86_64 on the Intel image.
MACOS_RUNNER = {"arm64": "macos-14", "x86_64": "macos-15-intel", "universal2": "macos-14"}
WINDOWS_RUNNER = {"AMD64": "windows-2022", "x86": "windows-2022", "ARM64": "windows-11-arm"}
LINUX_RUNNER = {"x86_64": "ubuntu-22.04", "aarch64": "ubuntu-22.04-arm"}


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


def _macos(build_id: BuildId) -> Plan:
    arch = build_id.platform.arch
    variant = build_id.variant
    archs = ("x86_64", "arm64") if arch == "universal2" else (arch,)
    # The deployment target (the latest of the Python's, the architecture's, the bundled
    # OpenBLAS' and Accelerate's floors) is the catalogue's: the manifest names the same tag.
    target = build_id.deployment_target
    assert target is not None  # every macOS build has one
    if variant == "accelerate":
        blas = None
        setup: tuple[str, ...] = ("-Dblas=accelerate", "-Duse-ilp64=true", "-Dallow-noblas=false")
    elif variant == "openblas":
        blas = build_id.platform.blas
        setup = ("-Duse-ilp64=true", "-Dallow-noblas=false")
    else:
        msg = f"{build_id.identifier}: macOS wheels use OpenBLAS or Accelerate, not {variant!r}"
        raise SelectionError(msg)
    wheel_platform = build_id.wheel_platform
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
    # Both runners (macos-14 arm64, macos-15-intel) are at least macOS 14: every wheel is
    # tested where it is built, the Accelerate ones included (as numpy's release CI does).
    testable = True
    if build_id.python.implementation == "pypy":
        notes.append("PyPy: cibuildwheel's PyPy " + build_id.python.abi_tag)
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
    # MB_ML_VER's policy, as multibuild's images gave it (AUDITWHEEL_PLAT); else the image's
    plat = build_id.repair_plat
    repair = AUDITWHEEL if plat is None else (*AUDITWHEEL[:2], "--plat", plat, *AUDITWHEEL[2:])
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
        repair=repair,
        test=NUMPY_TEST,
        testable=True,
        notes=_image_note(build_id),
    )


def _image_note(build_id: BuildId) -> tuple[str, ...]:
    """Where a Linux wheel is built: MB_ML_VER's image (multibuild's
    ``quay.io/pypa/${libc}${MB_ML_VER}_${plat}``, as config.build.container_image picks it),
    else the catalogue's."""
    if build_id.policy is not None:
        major, minor = build_id.policy
        name = f"{build_id.libc}_{major}_{minor}"
        legacy = [t for t in build_id.wheel_platform.split(".") if not t.startswith(name)]
        image = legacy[0] if legacy else f"{name}_{build_id.platform.arch}"
        return (f"in quay.io/pypa/{image} (MB_ML_VER)",)
    return (f"in {build_id.platform.image}",) if build_id.platform.image else ()


def make_plan(build_id: BuildId, *, openblas: bool = True, project: str = "numpy") -> Plan:
    """The plan of ``build_id`` (its variant picks Accelerate or OpenBLAS on macOS).

    numpy's BLAS (the pinned scipy-openblas, ILP64, meson's BLAS options) is in the plan only
    when the project configuration asks for it (``openblas``), and numpy's own test and meson
    options only for numpy: a C extension that uses no BLAS gets a plain build, repair and
    its ``run_tests`` hook (issue 12, point 3)."""
    if build_id.variant == "accelerate" and not openblas:
        msg = (
            f"{build_id.key}: the Accelerate variant is a BLAS choice, and the project "
            "configuration asks for no BLAS (openblas = false)"
        )
        raise SelectionError(msg, hint="Build the identifier without +accelerate.")
    plan = _PLANNERS[build_id.platform.os](build_id)
    if not openblas:
        plan = _without_blas(plan)
    if project != "numpy":
        setup = () if not openblas else plan.setup_args
        plan = dataclasses.replace(plan, setup_args=setup, test=RUN_TESTS)
    return plan


_PLANNERS = {"macos": _macos, "windows": _windows, "linux": _linux}

#: Variables of numpy's BLAS plan (the pinned OpenBLAS's pkg-config and library directory,
#: numpy's INSTALL_OPENBLAS switch).
_BLAS_VARIABLES = frozenset({"PKG_CONFIG_PATH", "DYLD_LIBRARY_PATH", "INSTALL_OPENBLAS"})


def _without_blas(plan: Plan) -> Plan:
    """``plan`` for a project that asks for no OpenBLAS: nothing of numpy's BLAS in it."""
    # Windows: delvewheel vendors whatever DLL the extension needs (numpy's win32 wheel had
    # nothing to vendor because it had no BLAS; another project's may have)
    repair = DELVEWHEEL_PLAIN if plan.os == "windows" else plan.repair
    return dataclasses.replace(
        plan,
        variant="none",
        blas_package=None,
        ilp64=False,
        setup_args=("-Dallow-noblas=true",),
        environment=tuple((k, v) for k, v in plan.environment if k not in _BLAS_VARIABLES),
        repair=repair,
        notes=(
            *(n for n in plan.notes if not n.startswith("32-bit: no BLAS")),
            "no BLAS: the project configuration asks for no OpenBLAS",
        ),
    )


def matrix_rows(ids: Iterable[BuildId], *, openblas: bool = True) -> list[dict[str, str]]:
    """One row per build for a CI matrix (``matrix --json``; the GitHub workflow's matrix).

    ``python``/``plat``/``libc``/``blas_backend`` are the job variables the build reads
    (``MB_PYTHON_VERSION``, ``PLAT``, ``MB_ML_LIBC``, ``BLAS_BACKEND``: the key's variant),
    ``runner`` the runner label numpy's release CI uses for that platform, ``name`` a unique
    artifact name. ``variant`` is the BLAS the plan builds under the project configuration
    (``openblas``: it asks for the pinned OpenBLAS; without it ``none``, as ``plan`` and
    ``reproduce`` say; issue 12 tryout: every row said ``openblas``).
    """
    rows = []
    for b in ids:
        # a job's BLAS_BACKEND=accelerate is listed as asked; `build` refuses it without
        # openblas (make_plan's SelectionError), which is not the matrix's to decide
        plan = make_plan(b, openblas=openblas or b.variant == "accelerate")
        rows.append(
            {
                "name": b.key.replace("+", "-"),
                "key": b.key,
                "identifier": b.identifier,
                "variant": plan.variant,
                "blas_backend": b.variant,
                "runner": plan.runner,
                "python": b.python.mb_version,
                "python_tag": b.python.tag,
                "platform": b.platform.name,
                "os": b.platform.os,
                "arch": b.platform.arch,
                "plat": _MB_PLAT[b.platform.arch],
                "libc": "musllinux" if b.platform.name.startswith("musllinux") else "",
                "wheel_platform": b.wheel_platform,
            }
        )
    return rows


# multibuild's PLAT for each catalogue arch (identifier_from_multibuild maps them back).
_MB_PLAT = {
    "x86_64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "arm64",
    "universal2": "universal2",
    "AMD64": "x86_64",
    "x86": "i686",
    "ARM64": "ARM64",
}
