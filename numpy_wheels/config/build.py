"""The one place that reads configuration: defaults < pyproject/setup.cfg < CI files < env < CLI.

Everything downstream receives the frozen dataclasses built here. The environment is a
parameter (a mapping), so tests pass dicts.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import re
import shlex
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from numpy_wheels.ci import SERVICES, HostOS, on_ci, runner_os, running_service
from numpy_wheels.cifiles.checks import ml_ver_problem
from numpy_wheels.cifiles.commit import ResolvedCommit, resolve_commit, unused_commit
from numpy_wheels.cifiles.jobs import (
    FROM_PROCESS,
    Shares,
    job_environment,
    job_identifier,
    job_identifiers,
    job_values,
    run_environment,
)
from numpy_wheels.cifiles.readers import read_config
from numpy_wheels.cifiles.records import CIConfig, Location
from numpy_wheels.config.secrets import without_secrets
from numpy_wheels.errors import ConfigError, ContainerEngineError, SelectionError
from numpy_wheels.files import read_config_text
from numpy_wheels.log import log
from numpy_wheels.model.choices import BACKENDS, Backend, SourceKind, env_choice, env_switch
from numpy_wheels.model.matrix import (
    BuildId,
    assign,
    identifier_from_multibuild,
    idle_selectors,
    load_catalogue,
    plat_arch,
    select,
    selector_matches,
    with_multibuild,
)
from numpy_wheels.model.plan import matrix_rows

#: A distribution name as PEP 508 defines it (letters, digits, ``._-``, alphanumeric ends).
PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")

_PROJECT_KEYS = {
    "project": str,
    "openblas": bool,
    "build": list,
    "skip": list,
    "config-settings": dict,
    "repo-dir": str,
    "repo-url": str,
    "images": dict,
    "sdist": bool,
    "ci": dict,
    "sdist-config-settings": dict,
    "test-images": dict,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectConfig:
    """``[tool.numpy-wheels]`` of the wheels repository's pyproject.toml (a multibuild-style
    repository has none: everything then comes from the CI files and REPO_DIR)."""

    project: str | None = None  # None: the name in REPO_DIR's metadata
    openblas: bool = False  # link the pinned scipy-openblas (numpy's need, not every project's)
    has_selection: bool = False  # `build` is configured (else `matrix` lists the CI jobs')
    build: tuple[str, ...] = ("*",)
    skip: tuple[str, ...] = ()
    config_settings: Mapping[str, str | tuple[str, ...]] = dataclasses.field(default_factory=dict)
    repo_dir: str | None = None
    repo_url: str | None = None
    images: Mapping[str, str] = dataclasses.field(default_factory=dict)
    sdist: bool = True  # the release includes the source distribution
    # PEP 517 config settings of the sdist build (numpy: meson setup without BLAS)
    sdist_config_settings: Mapping[str, str | tuple[str, ...]] = dataclasses.field(
        default_factory=dict
    )
    # Which CI service builds which wheels: (service, selectors) in order, first match wins.
    ci: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # platform selector (fnmatch) -> images the portability test runs the wheel in
    test_images: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


def _settings(raw: object, where: str) -> dict[str, str | tuple[str, ...]]:
    if not isinstance(raw, dict):
        msg = f"{where}: config-settings must be a table"
        raise ConfigError(msg)
    out: dict[str, str | tuple[str, ...]] = {}
    for key, value in raw.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = tuple(value)
        elif isinstance(value, str):
            out[key] = value
        else:
            msg = f"{where}: config-settings.{key} must be a string or a list of strings"
            raise ConfigError(msg)
    return out


def _test_images(raw: dict[str, object], where: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value:
            out[key] = (value,)
        elif isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            out[key] = tuple(value)
        else:
            msg = f"{where}: test-images.{key} must be an image name or a list of image names"
            raise ConfigError(msg)
    return out


def expand_test_image(template: str, arch: str) -> str:
    """multibuild's ``{PLAT}`` substitution in ``DOCKER_TEST_IMAGE`` (``aarch64`` is
    ``arm64v8`` in Ubuntu's image names), also spelt ``$PLAT``/``${PLAT}``/``$plat``.

    >>> expand_test_image("multibuild/focal_{PLAT}", "aarch64")
    'multibuild/focal_arm64v8'
    >>> expand_test_image("local/test-${plat}:1", "x86_64")
    'local/test-x86_64:1'
    """
    sub = "arm64v8" if arch == "aarch64" else arch
    for token in ("${PLAT}", "${plat}", "{PLAT}", "$PLAT", "$plat"):
        template = template.replace(token, sub)
    return template


def portability_images(
    project: ProjectConfig, env: Mapping[str, str], build_id: BuildId
) -> tuple[str, ...]:
    """The images a Linux wheel is tested in: ``DOCKER_TEST_IMAGE`` (whitespace-separated)
    wins over ``[tool.numpy-wheels.test-images]`` (every selector matching the platform name,
    in file order); none for macOS/Windows."""
    if build_id.platform.os != "linux":
        return ()
    templates: list[str] = []
    if env.get("DOCKER_TEST_IMAGE", "").strip():
        templates = env["DOCKER_TEST_IMAGE"].split()
    else:
        for selector, images in project.test_images.items():
            if fnmatch.fnmatchcase(build_id.platform.name, selector):
                templates.extend(images)
    expanded = (expand_test_image(t, build_id.platform.arch) for t in templates)
    return tuple(dict.fromkeys(expanded))


def read_project_config(root: Path) -> ProjectConfig:
    """``[tool.numpy-wheels]`` of ROOT/pyproject.toml, checked key by key (ConfigError naming
    the file and key); the defaults when the file or the table is absent (then without the
    sdist: a multibuild-style repository releases what its CI jobs build)."""
    path = root / "pyproject.toml"
    # A multibuild-style repository (no table): its CI jobs build wheels only, and its
    # release is what they build (the sdist was uploaded by hand in multibuild's days), so
    # the release set holds no sdist (issue 12 tryout: release reported it missing).
    bare = ProjectConfig(sdist=False)
    if not path.exists() and not path.is_symlink():
        return bare
    table = _numpy_wheels_table(path)
    if table is None:
        return bare
    where = f"{path} [tool.numpy-wheels]"
    _check_project_table(table, where)
    return ProjectConfig(
        project=table.get("project"),
        openblas=table.get("openblas", False),
        has_selection="build" in table,
        build=tuple(table.get("build", ("*",))),
        skip=tuple(table.get("skip", ())),
        config_settings=_settings(table.get("config-settings", {}), where),
        repo_dir=table.get("repo-dir"),
        repo_url=table.get("repo-url"),
        images=dict(table.get("images", {})),
        sdist=table.get("sdist", True),
        ci=_ci_shares(table.get("ci", {}), where),
        sdist_config_settings=_settings(table.get("sdist-config-settings", {}), where),
        test_images=_test_images(table.get("test-images", {}), where),
    )


def _numpy_wheels_table(path: Path) -> dict[str, Any] | None:
    """The ``[tool.numpy-wheels]`` table of ``path`` (None: there is none)."""
    try:
        data = tomllib.loads(read_config_text(path))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise ConfigError(msg) from None
    except RecursionError:  # tomllib recurses into nested arrays/tables
        msg = f"{path}: nested too deeply to read"
        raise ConfigError(msg) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        msg = f"{path}: [tool] must be a table"
        raise ConfigError(msg)
    table = tool.get("numpy-wheels")
    if table is not None and not isinstance(table, dict):
        msg = f"{path} [tool.numpy-wheels]: must be a table"
        raise ConfigError(msg)
    return table


def _check_project_table(table: Mapping[str, Any], where: str) -> None:
    """Every key known and of its type, selectors and images strings, a valid project name."""
    for key, value in table.items():
        if key not in _PROJECT_KEYS:
            close = difflib.get_close_matches(key, list(_PROJECT_KEYS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"{where}: unknown key {key!r}{hint}"
            raise ConfigError(msg)
        if not isinstance(value, _PROJECT_KEYS[key]):
            msg = f"{where}: {key} must be a {_PROJECT_KEYS[key].__name__}"
            raise ConfigError(msg)
    for key in ("build", "skip"):
        if not all(isinstance(v, str) for v in table.get(key, ())):
            msg = f"{where}: {key} must be a list of strings"
            raise ConfigError(msg)
    if not all(isinstance(v, str) for v in table.get("images", {}).values()):
        msg = f"{where}: images must map platforms to image strings"
        raise ConfigError(msg)
    project = table.get("project")
    if project is not None and not PROJECT_NAME.fullmatch(project):
        msg = f"{where}: project {project!r} is not a valid project name (PEP 508)"
        raise ConfigError(msg)


def _ci_shares(raw: dict[str, object], where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for service, selectors in raw.items():
        if service not in SERVICES:
            msg = f"{where}: ci.{service}: not a CI service ({', '.join(SERVICES)})"
            raise ConfigError(msg)
        if not isinstance(selectors, list) or not all(isinstance(x, str) for x in selectors):
            msg = f"{where}: ci.{service} must be a list of build selectors"
            raise ConfigError(msg)
        out.append((service, tuple(selectors)))
    return tuple(out)


def selection(project: ProjectConfig) -> tuple[BuildId, ...]:
    """The wheels this repository builds (``build``/``skip`` over the catalogue)."""
    return select(load_catalogue(), build=project.build, skip=project.skip)


def ci_share(project: ProjectConfig, service: str) -> tuple[BuildId, ...]:
    """The wheels ``service``'s CI file builds (``[tool.numpy-wheels.ci]``; without that
    table every CI file may build every wheel)."""
    ids = selection(project)
    if not project.ci:
        return ids
    return assign(ids, project.ci).get(service, ())


def ci_shares(project: ProjectConfig) -> dict[str, list[str]] | None:
    """Service -> the keys of its share; None without ``[tool.numpy-wheels.ci]``."""
    if not project.ci:
        return None
    return {service: [b.key for b in ci_share(project, service)] for service, _ in project.ci}


def resolve_shares(root: Path, project: ProjectConfig) -> Shares | None:
    """``[tool.numpy-wheels.ci]`` over the selection, for lint; None without the table."""
    if not project.ci:
        return None
    ids = selection(project)
    owners = assign(ids, project.ci)
    path = root / "pyproject.toml"
    try:
        lines = read_config_text(path).splitlines()
    except ConfigError:  # it was read a moment ago; the line number is only a pointer
        lines = []
    line = next((n for n, text in enumerate(lines, 1) if _CI_TABLE.match(text)), 1)
    return Shares(
        table=Location(path=path, line=line),
        wheels={service: [b.key for b in owners.get(service, ())] for service, _ in project.ci},
        unassigned=tuple(b.key for b in owners.get(None, ())),
        idle=tuple(idle_selectors(ids, project.ci)),
    )


_CI_TABLE = re.compile(r"\s*\[\s*tool\s*\.\s*\"?numpy-wheels\"?\s*\.\s*ci\s*\]")


def read_ci_files(root: Path, project: ProjectConfig | None = None) -> CIConfig:
    """The CI files, with the GitHub matrix computed at run time expanded to the rows the
    workflow's own ``numpy_wheels matrix --json --ci github`` step prints."""
    project = project or read_project_config(root)
    return read_config(root, generated=matrix_rows(ci_share(project, "github")))


def split_words(value: str | None) -> tuple[str, ...]:
    """Multibuild's word-splitting of BUILD_DEPENDS/TEST_DEPENDS/EXTRA_ARGV (quotes respected).

    >>> split_words("pytest 'hypothesis>=6' pytest-xdist")
    ('pytest', 'hypothesis>=6', 'pytest-xdist')
    """
    return tuple(shlex.split(value)) if value else ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildRequest:
    """What the command line asks of a build (None: not given, decided by configuration)."""

    root: Path
    only: str | None = None
    backend: Backend | None = None
    source: SourceKind | None = None
    wheelhouse: Path | None = None
    keep_going: bool = False
    run_tests: bool = True
    require_portability_test: bool = False
    # verify: the exact build requirements of the record (pip constraints of the build venv)
    build_constraints: tuple[str, ...] = ()
    retest: bool = False  # run the tests even when a verdict for identical bytes is stored


def tree_project_name(tree: Path) -> str | None:
    """The distribution name a source tree declares: ``pyproject.toml`` ``[project] name``,
    ``setup.cfg`` ``[metadata] name``, an sdist's ``PKG-INFO``, or ``setup.py``'s literal
    ``name=`` (None when none says)."""
    import configparser
    import email.parser

    pyproject = tree / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(read_config_text(pyproject))
        except tomllib.TOMLDecodeError as exc:
            msg = f"{pyproject}: not valid TOML: {exc}"
            raise ConfigError(msg) from None
        name = (
            data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
        )
        if isinstance(name, str) and PROJECT_NAME.fullmatch(name):
            return name
    pkg_info = tree / "PKG-INFO"
    if pkg_info.is_file():
        name = email.parser.Parser().parsestr(read_config_text(pkg_info), headersonly=True)["Name"]
        if name and PROJECT_NAME.fullmatch(name):
            return str(name)
    setup_cfg = tree / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(read_config_text(setup_cfg))
        except configparser.Error:
            pass
        else:
            name = parser.get("metadata", "name", fallback=None)
            if name and PROJECT_NAME.fullmatch(name):
                return name
    setup_py = tree / "setup.py"
    if setup_py.is_file():
        found = re.search(r"""\bname\s*=\s*['"]([A-Za-z0-9._-]+)['"]""", read_config_text(setup_py))
        if found and PROJECT_NAME.fullmatch(found.group(1)):
            return found.group(1)
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProjectSource:
    """What is built and from where: the project's name and REPO_DIR, and the source kind
    chosen (with the reason, printed as the backend's is)."""

    name: str
    name_from: str
    repo_dir: Path
    repo_url: str | None
    kind: SourceKind
    reason: str
    # the name is only REPO_DIR's, of a directory that does not hold the project: a typo
    # there must not pick another project's sdist from the index
    name_guessed: bool = False
    submodule: bool = False  # REPO_DIR is a submodule path in the wheels repo's .gitmodules


def resolve_project(
    root: Path,
    env: Mapping[str, str],
    project: ProjectConfig,
    *,
    source: SourceKind | None = None,
) -> ProjectSource:
    """REPO_DIR (environment/CI globals, then ``repo-dir``, then the configured project), the
    project's name (configured, else REPO_DIR's own metadata, else REPO_DIR's name) and the
    source: ``--source``; a git checkout or submodule at REPO_DIR; a clone of REPO_URL when the
    CI files or the environment set one; else the release sdist from the package index."""
    repo_dir_name = env.get("REPO_DIR") or project.repo_dir or project.project
    if not repo_dir_name:
        msg = (
            "no project to build: set REPO_DIR in the CI files' global environment (the "
            "project's checkout, as multibuild), or [tool.numpy-wheels] project"
        )
        raise ConfigError(msg)
    repo_dir = root / repo_dir_name
    env_url = env.get("REPO_URL")
    repo_url = env_url or project.repo_url
    guessed = False
    if project.project:
        name, name_from = project.project, "[tool.numpy-wheels] project"
    elif (found := tree_project_name(repo_dir)) is not None:
        name, name_from = found, f"the metadata in {repo_dir_name}/"
    elif repo_url and (from_url := _url_name(repo_url)):
        # not cloned yet: the repository's name (the clone's metadata names it next time)
        name, name_from = from_url, f"REPO_URL={repo_url}"
    else:
        name, name_from, guessed = repo_dir.name, f"REPO_DIR={repo_dir_name}", True
    submodule = is_submodule(root, repo_dir)
    kind: SourceKind
    if source is not None:
        kind, reason = source, "chosen with --source"
    elif (repo_dir / ".git").exists():
        kind, reason = "git", f"REPO_DIR {repo_dir_name} is a git checkout"
    elif env_url:
        kind, reason = "git", f"REPO_URL={env_url} is set (cloned into {repo_dir_name})"
    elif submodule:
        # as on CI, which checks submodules out; the source step says how when it is not
        kind, reason = (
            "git",
            f"REPO_DIR {repo_dir_name} is a git submodule of the wheels repository",
        )
    else:
        kind = "sdist"
        reason = (
            f"no git checkout at {repo_dir_name}/ and no REPO_URL: the release sdist "
            "from the package index"
        )
    checked_out = (repo_dir / ".git").exists() or submodule
    if kind == "git" and repo_url is None and not checked_out:
        msg = (
            f"--source git needs a git checkout at {repo_dir} or a REPO_URL to clone "
            "(CI files, environment, or [tool.numpy-wheels] repo-url)"
        )
        raise ConfigError(msg)
    return ProjectSource(
        name=name,
        name_from=name_from,
        repo_dir=repo_dir,
        repo_url=repo_url,
        kind=kind,
        reason=reason,
        name_guessed=guessed,
        submodule=submodule,
    )


def _url_name(url: str) -> str | None:
    """The repository name at the end of a git URL (``…/myext.git`` → ``myext``)."""
    last = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    return last if PROJECT_NAME.fullmatch(last) else None


_GITMODULES_PATH = re.compile(r"^\s*path\s*=\s*(.+?)\s*$", re.MULTILINE)


def is_submodule(root: Path, repo_dir: Path) -> bool:
    """True when ``repo_dir`` is a submodule path in ROOT/.gitmodules (git-config syntax:
    ``path = DIR`` under ``[submodule "NAME"]``), checked out or not."""
    gitmodules = root / ".gitmodules"
    if not gitmodules.is_file():
        return False
    text = read_config_text(gitmodules)
    return any(root / p == repo_dir for p in _GITMODULES_PATH.findall(text))


def project_name(root: Path, env: Mapping[str, str], config: CIConfig | None = None) -> str:
    """The name of the project this wheels repository builds (for staging, release, matrix)."""
    project = read_project_config(root)
    if project.project:
        return project.project
    try:
        config = config or read_ci_files(root, project)
    except ConfigError:
        return resolve_project(root, env, project).name
    return resolve_project(root, run_environment(env, config=config), project).name


def repository_url(root: Path, env: Mapping[str, str]) -> str | None:
    """Where the project's tags are (the release resolves its tag there): REPO_URL from the
    environment or the CI files, ``[tool.numpy-wheels] repo-url``, else REPO_DIR's own
    checkout; None when there is none."""
    project = read_project_config(root)
    try:
        run_env = run_environment(env, config=read_ci_files(root, project))
    except ConfigError:  # no CI files (or unreadable ones): the environment alone
        run_env = dict(env)
    try:
        source = resolve_project(root, run_env, project)
    except ConfigError:
        return project.repo_url
    if source.repo_url:
        return source.repo_url
    return str(source.repo_dir) if (source.repo_dir / ".git").exists() else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildOptions:
    root: Path
    project: ProjectConfig
    project_name: str
    commit: ResolvedCommit
    identifiers: tuple[BuildId, ...]
    backend: Backend
    backend_reason: str
    source: SourceKind
    source_reason: str
    repo_dir: Path
    repo_dir_submodule: bool  # REPO_DIR is a submodule path in the wheels repo's .gitmodules
    repo_url: str | None
    wheelhouse: Path
    cache_dir: Path
    config_path: Path
    env_vars_path: Path
    build_depends: tuple[str, ...]
    test_depends: tuple[str, ...]
    extra_argv: tuple[str, ...]
    keep_going: bool
    run_tests: bool
    image: str | None
    # identifier -> images its wheel is tested in (the portability test; Linux only)
    test_images: Mapping[str, tuple[str, ...]]
    require_portability_test: bool
    engine_available: bool  # `docker info` answered when the options were resolved
    index_url: str  # PIP_INDEX_URL: where the sdist comes from
    use_ccache: bool  # USE_CCACHE=1 (multibuild), else when ccache is on PATH
    compiler_cache: bool  # the tool's own ccache (NUMPY_WHEELS_CCACHE=0: off)
    cibw_environment: str  # the user's CIBW_ENVIRONMENT, extended with ours
    build_env: Mapping[str, str]  # the process environment over the CI files' globals, no secrets
    openblas: bool = False  # the project configuration requests the pinned scipy-openblas
    build_constraints: tuple[str, ...] = ()  # pins of the build venv (verify: the record's)
    retest: bool = False  # --retest: never reuse a stored test verdict


_PLATFORM_OS: Mapping[str, HostOS] = {"linux": "linux", "darwin": "macos", "win32": "windows"}


def host_identifier(
    *,
    version: tuple[int, int],
    free_threaded: bool,
    machine: str,
    os_name: str,
    libc: str = "glibc",
) -> str:
    """The one identifier the host backend can build here (``os_name``: ``sys.platform``).

    >>> host_identifier(version=(3, 11), free_threaded=False, machine="x86_64", os_name="linux")
    'cp311-manylinux_x86_64'
    """
    suffix = "t" if free_threaded else ""
    return identifier_from_multibuild(
        python_version=f"{version[0]}.{version[1]}{suffix}",
        plat=machine,
        os_name=_PLATFORM_OS.get(os_name, "linux"),
        libc="manylinux" if libc == "glibc" else "musllinux",
    )


def _this_host() -> str:
    import platform
    import sysconfig

    return host_identifier(
        version=(sys.version_info.major, sys.version_info.minor),
        free_threaded=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        machine=platform.machine(),
        os_name=sys.platform,
        libc=platform.libc_ver()[0] or "musl",
    )


def ci_job_wheels(
    config: CIConfig, skip: Sequence[str] = ()
) -> tuple[tuple[BuildId, ...], tuple[str, ...]]:
    """What the CI jobs build, in file and job order, each wheel under its own job's
    variables (as that job's runner builds it: MB_ML_VER, MB_PYTHON_OSX_VER), and apart the
    identifiers this tool has no plan for (cp27 in a 2016 file, manylinux_i686)."""
    # by key: the identifier alone is every variant's, so the last one listed (macOS's
    # +accelerate) stood for a job that asks for no BLAS_BACKEND (issue 12 tryout)
    known = {b.key: b for b in load_catalogue().all_ids()}
    buildable: dict[str, BuildId] = {}
    other: dict[str, None] = {}
    for identifier, ci_file, job in job_identifiers(config):
        if any(selector_matches(s, identifier) for s in skip):
            continue
        if identifier not in known:
            other.setdefault(identifier)
        elif identifier not in buildable:
            values = job_values(ci_file, job)
            buildable[identifier] = with_multibuild(known[identifier], values)
    return tuple(buildable.values()), tuple(other)


def choose_identifiers(
    project: ProjectConfig,
    *,
    env: Mapping[str, str],
    only: str | None,
    host_platform: str,
    host: str | None = None,
    ci_jobs: tuple[BuildId, ...] = (),
) -> tuple[BuildId, ...]:
    """``--only`` wins; then a CI job's MB_PYTHON_VERSION + PLAT; then, for the host backend,
    the host's own identifier; then the project selection, or without one (a multibuild-style
    repository) what the CI jobs build (``ci_jobs``: ``ci_job_wheels``), as ``matrix`` lists.
    The host backend builds only the host's identifier: anything else is a clear error, not a
    mislabelled wheel."""
    catalogue = load_catalogue()
    plat = (env.get("PLAT") or "").strip()
    if plat:
        plat_arch(plat)  # PLAT=bogus is a ConfigError, not an identifier nothing matches
    if only is None:
        os_name = runner_os(env) or _PLATFORM_OS.get(host_platform, "linux")
        only = job_identifier(env, os_name)
    if host is not None:
        if plat and only is None:
            _host_plat_check(plat, host)
        only = only or host
        if only.partition("+")[0] != host:
            msg = (
                f"the host backend builds only {host} on this machine, not {only}; use "
                "--backend cibuildwheel, or run with the matching interpreter"
            )
            raise SelectionError(msg)
    if only is None and not project.has_selection and ci_jobs:
        return ci_jobs  # each under its own job's variables already
    chosen = select(catalogue, build=project.build, skip=project.skip, only=only)
    # MB_ML_VER / MB_PYTHON_OSX_VER: the wheel's platform tag, as plan and the manifest say
    return tuple(with_multibuild(b, env) for b in chosen)


def _host_plat_check(plat: str, host: str) -> None:
    """PLAT names the architecture to build; the host backend builds only its own (issue 12
    tryout: PLAT=i686 built and shipped cp311-manylinux_x86_64 with exit 0). SelectionError
    naming PLAT when it is another, as an MB_PYTHON_VERSION of another Python is."""
    platform = host.partition("-")[2]
    os_name: HostOS = (
        "macos"
        if platform.startswith("macosx")
        else ("windows" if platform.startswith("win") else "linux")
    )
    libc = "musllinux" if platform.startswith("musllinux") else "manylinux"
    wanted = identifier_from_multibuild(
        python_version="3.11", plat=plat, os_name=os_name, libc=libc
    ).partition("-")[2]
    if wanted != platform:
        msg = (
            f"PLAT={plat} asks for {wanted}, but the host backend builds only this machine's "
            f"{platform} ({host})"
        )
        platforms = {b.platform.name for b in load_catalogue().all_ids()}
        hint = (
            "Build it with --backend cibuildwheel, or unset PLAT for this machine's."
            if wanted in platforms
            else f"This tool builds no {wanted} wheel (resources/matrix.toml); unset PLAT "
            "for this machine's."
        )
        raise SelectionError(msg, hint=hint)


def choose_backend(
    requested: Backend | None, env: Mapping[str, str], *, engine_available: bool
) -> tuple[Backend, str]:
    """The backend and why: ``--backend``, NUMPY_WHEELS_BACKEND, then cibuildwheel on any CI
    (every OS: it brings the job's own Python), host for a local run."""
    if requested is not None:
        return requested, "chosen with --backend"
    configured = env_choice(env, "NUMPY_WHEELS_BACKEND", BACKENDS, fold_case=True)
    if configured is not None:
        return configured, "NUMPY_WHEELS_BACKEND"
    if on_ci(env) or running_service(env) is not None:  # Azure sets TF_BUILD, not CI
        # The runner's own Python never decides what a job builds: cibuildwheel installs the
        # job's (python.org / nuget / PyPy downloads, or the manylinux image's).
        reason = "on CI: each job builds its identifier with cibuildwheel"
        return "cibuildwheel", reason + (
            " (a container engine answers)" if engine_available else ""
        )
    return "host", "a local run (set --backend cibuildwheel for manylinux images)"


def _engine_check(identifiers: Sequence[BuildId], *, engine_available: bool) -> None:
    """On CI, Linux identifiers need a container engine: its absence is exit 13, never a
    silent build of something else."""
    linux = [b.key for b in identifiers if b.platform.os == "linux"]
    if linux and not engine_available:
        msg = (
            f"this CI job builds {', '.join(linux)} in a manylinux/musllinux container, but "
            "no container engine answers `docker info` on this runner: start Docker there "
            "(Travis: services: [docker]); NUMPY_WHEELS_BACKEND=host would build only this "
            "machine's own identifier instead"
        )
        raise ContainerEngineError(msg)


def _cache_dir(root: Path, env: Mapping[str, str]) -> Path:
    if env.get("NUMPY_WHEELS_CACHE"):
        return Path(env["NUMPY_WHEELS_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", str(root))) / ".cache")
    return Path(base) / "numpy-wheels"


def resolve_build_options(
    request: BuildRequest,
    *,
    env: Mapping[str, str],
    engine_available: bool = False,
    host_platform: str = "linux",
    host_id: str | None = None,
    ci_config: CIConfig | None = None,
) -> BuildOptions:
    """Resolve every build setting once. ``host_id``: what the host backend can build here."""
    root = request.root
    host_id = host_id or _this_host()
    project = read_project_config(root)
    config = ci_config or read_ci_files(root, project)
    # The CI files' global environment is the local run's default; the process overrides it
    # (but for the commit, which the files name: a different one exported is said unused).
    process = env
    run = job_environment(process, config=config)
    env = run.values
    _check_values(env, run.sources)
    commit = resolve_commit(config, env)
    unused = unused_commit(process, commit)
    if unused is not None:
        log.warning(unused)
    chosen, reason = choose_backend(request.backend, env, engine_available=engine_available)
    identifiers = choose_identifiers(
        project,
        env=env,
        only=request.only,
        host_platform=host_platform,
        host=host_id if chosen == "host" else None,
        ci_jobs=() if project.has_selection else ci_job_wheels(config, project.skip)[0],
    )
    if chosen == "cibuildwheel" and reason.startswith("on CI"):
        _engine_check(identifiers, engine_available=engine_available)
    where = resolve_project(root, env, project, source=request.source)
    if where.kind == "sdist" and request.source is None and where.name_guessed:
        shown = where.repo_dir
        shown = shown.relative_to(root) if shown.is_relative_to(root) else shown
        msg = (
            f"REPO_DIR {shown} does not hold the project (no git "
            "checkout, no metadata) and no REPO_URL says where to clone it from"
        )
        hint = (
            "Check REPO_DIR's spelling (CI files or environment), or set REPO_URL. To build "
            "the release sdist from the package index, name the project "
            "([tool.numpy-wheels] project in pyproject.toml) or pass --source sdist."
        )
        raise ConfigError(msg, hint=hint)
    return BuildOptions(
        root=root,
        project=project,
        project_name=where.name,
        commit=commit,
        identifiers=identifiers,
        backend=chosen,
        backend_reason=reason,
        source=where.kind,
        source_reason=where.reason,
        repo_dir=where.repo_dir,
        repo_dir_submodule=where.submodule,
        repo_url=where.repo_url,
        keep_going=request.keep_going,
        run_tests=request.run_tests,
        image=container_image(env, project, identifiers[0]),
        test_images={b.identifier: portability_images(project, env, b) for b in identifiers},
        require_portability_test=request.require_portability_test,
        engine_available=engine_available,
        openblas=project.openblas,
        build_constraints=request.build_constraints,
        retest=request.retest,
        **_job_variables(root, env, wheelhouse=request.wheelhouse),
    )


def _check_values(env: Mapping[str, str], sources: Mapping[str, str]) -> None:
    """The values the build reads later, checked before any work: a ConfigError naming the
    variable and where it is set (``file:line`` or the process environment)."""
    value = (env.get("MB_ML_VER") or "").strip()
    libc = "musllinux" if (env.get("MB_ML_LIBC") or "").strip() == "musllinux" else "manylinux"
    problem = ml_ver_problem(value, libc=libc) if value else None
    if problem is not None:
        msg = f"{sources.get('MB_ML_VER', FROM_PROCESS)}: {problem}"
        raise ConfigError(msg, hint="Set MB_ML_VER as multibuild spells it, or unset it.")


def hook_paths(root: Path, env: Mapping[str, str]) -> tuple[Path, Path]:
    """CONFIG_PATH and ENV_VARS_PATH (multibuild's names and defaults), relative to ROOT."""
    return (
        root / (env.get("CONFIG_PATH") or "config.sh"),
        root / (env.get("ENV_VARS_PATH") or "env_vars.sh"),
    )


def _job_variables(root: Path, env: Mapping[str, str], *, wheelhouse: Path | None) -> Any:
    """The BuildOptions fields read from the job's variables (multibuild's names and ours):
    places, requirements, caches and the environment that crosses into the build."""
    return {
        "wheelhouse": wheelhouse or root / (env.get("WHEEL_SDIR") or "wheelhouse"),
        "cache_dir": _cache_dir(root, env),
        **dict(zip(("config_path", "env_vars_path"), hook_paths(root, env), strict=True)),
        "build_depends": split_words(env.get("BUILD_DEPENDS")),
        "test_depends": split_words(env.get("TEST_DEPENDS")),
        "extra_argv": split_words(env.get("EXTRA_ARGV")),
        "index_url": env.get("PIP_INDEX_URL") or "https://pypi.org/simple/",
        "use_ccache": env_switch(env, "USE_CCACHE", default=False),
        "compiler_cache": env_switch(env, "NUMPY_WHEELS_CCACHE", default=True),
        "cibw_environment": env.get("CIBW_ENVIRONMENT", ""),
        "build_env": without_secrets(env),
    }


def container_image(
    env: Mapping[str, str], project: ProjectConfig, build_id: BuildId
) -> str | None:
    """The cibuildwheel image: NUMPY_WHEELS_IMAGE; multibuild's DOCKER_IMAGE (``$plat``,
    ``${plat}`` and ``{PLAT}`` replaced by the arch, as multibuild did); ``[tool.numpy-wheels]
    images``; multibuild's MB_ML_VER as cibuildwheel's image name (``2014`` →
    ``manylinux2014``, ``_2_28`` → ``manylinux_2_28``); else cibuildwheel's digest-pinned
    default (None).

    >>> from numpy_wheels.model.matrix import load_catalogue
    >>> bid = load_catalogue().find("cp312-manylinux_aarch64")
    >>> container_image({"DOCKER_IMAGE": "quay.io/pypa/manylinux2014_$plat"}, ProjectConfig(), bid)
    'quay.io/pypa/manylinux2014_aarch64'
    >>> container_image({"MB_ML_VER": "_2_28"}, ProjectConfig(), bid)
    'manylinux_2_28'
    """
    if env.get("NUMPY_WHEELS_IMAGE"):
        return env["NUMPY_WHEELS_IMAGE"]
    arch = build_id.platform.arch
    if env.get("DOCKER_IMAGE"):
        image = env["DOCKER_IMAGE"]
        for token in ("${plat}", "$plat", "{PLAT}"):
            image = image.replace(token, arch)
        return image
    if build_id.platform.name in project.images:
        return project.images[build_id.platform.name]
    if env.get("MB_ML_VER") and build_id.platform.os == "linux":
        libc = "musllinux" if build_id.platform.name.startswith("musllinux") else "manylinux"
        return f"{libc}{env['MB_ML_VER']}"
    return None
