"""Checks over the CI files: do they agree on what to build, and are the values well formed?

``lint`` reports every finding; ``cifiles/commit.py`` refuses a commit with the same checks.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

from numpy_wheels.cifiles.records import (
    DAILY_NAMES,
    CIConfig,
    CIFile,
    EnvVar,
    Location,
    is_valid_ref,
    shown_path,
)
from numpy_wheels.cifiles.scalars import changes_text
from numpy_wheels.errors import ConfigError
from numpy_wheels.files import shown
from numpy_wheels.model.matrix import ml_policy

Kind: TypeAlias = Literal[
    "disagree",
    "double-equals",
    "unbalanced-quote",
    "not-assignment",
    "unexpanded",
    "plain-credential",
    "unknown-name",
    "missing",
    "bad-ref",
    "yaml-type",
    "not-honoured",
    "coverage",
    "sourced-helpers",
    "stray-character",
    "unbuildable",
    "hook-syntax",
    "bad-value",
]
Severity: TypeAlias = Literal["error", "warning"]

#: Values this tool reads from the CI files (multibuild's names).
READ_NAMES = frozenset(
    {
        "BUILD_COMMIT",
        *DAILY_NAMES,
        "REPO_DIR",
        "REPO_URL",
        "PLAT",
        "MB_PYTHON_VERSION",
        "MB_ML_VER",
        "MB_ML_LIBC",
        "BLAS_BACKEND",
        "CONFIG_PATH",
        "ENV_VARS_PATH",
        "OPENBLAS_VERSION",
        "BUILD_DEPENDS",
        "TEST_DEPENDS",
        "EXTRA_ARGV",
        "WHEEL_SDIR",
        "NPY_RELAXED_STRIDES_DEBUG",
        "DOCKER_IMAGE",
        "DOCKER_TEST_IMAGE",
        "MB_PYTHON_OSX_VER",
        "BUILD_PREFIX",
        "USE_CCACHE",
    }
)
#: Values that are a commit-ish or a Python version: a YAML number there is always wrong.
STRING_NAMES = frozenset(
    {"BUILD_COMMIT", *DAILY_NAMES, "MB_PYTHON_VERSION", "PYTHON_VERSION", "MB_PYTHON_OSX_VER"}
)
#: multibuild's variables this tool does not honour, and why (lint warns; never silent).
NOT_HONOURED: Mapping[str, str] = {
    "UNICODE_WIDTH": "narrow-unicode (UCS2) builds existed only for Python 2",
    "MANYLINUX_URL": "only multibuild's pip helpers in config.sh read it (pip_opts: "
    "build_pip_wheel, install_wheel); the tool's build venv and test installs read pip's "
    "own PIP_FIND_LINKS",
    "MB_TEST_VER": "the tests use the interpreter the wheel was built for",
    "VENV": "the tests always run in a fresh venv",
    "MB_PYTHON_OSX_VER_ARM64": "macOS targets come from the build plan (`plan IDENT`)",
}
#: Names the CI files of multibuild-era repositories use that are not typos of READ_NAMES.
OTHER_KNOWN = frozenset(
    {"PYTHON_VERSION", "PYTHON_ARCH", "PYTHON", "EXTRA_ARGV", "ARCHIVE_SDIR", "DOWNLOADS_SDIR"}
)

_CREDENTIAL = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY")
# A value that refers to a secret store rather than holding one.
_REFERENCE = re.compile(r"^\s*(\$\{\{.*\}\}|\$\(.*\)|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\s*$")
_UNEXPANDED = re.compile(r"\$\{\{.*?\}\}|\$\([A-Za-z_][A-Za-z0-9_.]*\)")


#: What to do about each kind of finding (the error's hint; lint prints each kind's once).
HINTS: Mapping[Kind, str] = {
    "disagree": "Set the same value in every CI file that sets it.",
    "double-equals": "Write the assignment with one '=': NAME=value.",
    "unbalanced-quote": "Close the quote, or remove it.",
    "not-assignment": "A Travis env item is NAME=value assignments separated by spaces.",
    "unexpanded": "Write the literal value: this tool does not expand CI expressions.",
    "plain-credential": "Move it into the CI service's encrypted variables (secure:/secrets) "
    "and revoke the one written here.",
    "unknown-name": "Correct the variable's name (README: the variables this tool reads).",
    "missing": "Set BUILD_COMMIT (a tag, branch or commit hash) in a CI file's global environment.",
    "bad-ref": "Write a tag, branch or commit hash; `python -m numpy_wheels bump REF` writes "
    "it in every CI file.",
    "yaml-type": "Write the value as the message says, so every YAML version reads the text "
    "written.",
    "not-honoured": "Remove the variable, or do what it did in config.sh.",
    "coverage": "Make each CI file build exactly its share of the wheels ([tool.numpy-wheels.ci] "
    "in pyproject.toml; `python -m numpy_wheels matrix --ci NAME` lists a share).",
    "sourced-helpers": "Define the helpers named in the hook file itself to override the "
    "tool's own.",
    "stray-character": "Delete the character named (an invisible one: most editors do not "
    "show it).",
    "unbuildable": "Remove the job, or build that wheel another way: this tool builds only "
    "what resources/matrix.toml lists (`python -m numpy_wheels matrix --build '*'`).",
    "hook-syntax": "Correct the line bash names (`bash -n FILE` shows it).",
    "bad-value": "Write one of the values the message lists.",
}
#: The hint of a disagreement on the commit: bump rewrites it in every file at once.
BUMP_HINT = "Make the CI files agree (`python -m numpy_wheels bump REF` edits all of them)."


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    kind: Kind
    message: str
    locations: tuple[Location, ...]
    subject: str | None = None  # for "disagree": the value the files disagree on
    severity: Severity = "error"  # warnings are printed; only errors make lint fail

    def __str__(self) -> str:
        where = " vs ".join(str(loc) for loc in self.locations)
        return f"{where}: {self.message}"

    @property
    def hint(self) -> str:
        """What to do about it: the kind's own advice (bump only for the commit)."""
        if self.kind == "disagree" and self.subject in ("BUILD_COMMIT", *DAILY_NAMES):
            return BUMP_HINT
        return HINTS[self.kind]


def hints(findings: Iterable[Finding]) -> str:
    """The distinct hints of ``findings`` in the order first met, joined so that ``main``
    prints each on its own ``hint:`` line."""
    return "\nhint: ".join(dict.fromkeys(f.hint for f in findings))


def definitions(config: CIConfig, names: Iterable[str]) -> list[EnvVar]:
    """Every definition of any of ``names`` in the CI files, in file order, each once (an
    Azure template's variables are read through every job that uses the template)."""
    wanted = set(names)
    found = {
        (v.location.path, v.location.line, v.name): v
        for f in config.files
        for v in f.definitions()
        if v.name in wanted
    }
    return list(found.values())


def agreement(config: CIConfig, names: Sequence[str], label: str) -> Finding | None:
    """A "disagree" finding when the files give ``names`` different values."""
    defs = [v for v in definitions(config, names) if v.value is not None]
    values = {v.value for v in defs}
    if len(values) <= 1:
        return None
    listing = "; ".join(f"{v.location} says {v.name}={v.value!r}" for v in defs)
    return Finding(
        kind="disagree",
        message=f"CI files disagree on {label}: {listing}",
        locations=tuple(v.location for v in defs),
        subject=names[0],
    )


def python_minor(value: str) -> str:
    """A job's Python version as major.minor (``3.10.x``/``3.10.0`` → ``3.10``).

    >>> [python_minor(v) for v in ("3.10", "3.10.x", "3.9.0", "3.14t", "pypy3.8-7.3.8")]
    ['3.10', '3.10', '3.9', '3.14t', 'pypy3.8']
    """
    match = re.fullmatch(r"(pypy)?(\d+)\.(\d+)(t?)([.-].*)?", value.strip())
    if match is None:
        return value
    return f"{match.group(1) or ''}{match.group(2)}.{match.group(3)}{match.group(4)}"


def _python_versions(ci_file: CIFile) -> set[str]:
    out = set()
    for job in ci_file.jobs:
        var = job.get("MB_PYTHON_VERSION") or job.get("PYTHON_VERSION")
        if var is not None and var.value:
            out.add(python_minor(var.value))
    return out


def _python_agreement(config: CIConfig) -> Finding | None:
    sets = [(f, _python_versions(f)) for f in config.files]
    sets = [(f, s) for f, s in sets if s]
    if len({frozenset(s) for _, s in sets}) <= 1:
        return None
    listing = "; ".join(f"{f.path.name} builds {', '.join(sorted(s))}" for f, s in sets)
    return Finding(
        kind="disagree",
        message=f"CI files disagree on the Python versions: {listing}",
        locations=tuple(Location(path=f.path, line=1) for f, _ in sets),
        subject="MB_PYTHON_VERSION",
    )


def _yaml_type_finding(var: EnvVar) -> Finding | None:
    """A value YAML 1.1 or 1.2 reads as a number/bool/null/date where a string is meant: a
    plain scalar (``scalars.describe`` says which version reads what), or any scalar whose
    explicit tag (``!!float``) says so."""
    if var.yaml_type is None or var.name is None or var.value is None:
        return None
    string = var.name in READ_NAMES or var.name in STRING_NAMES
    if var.yaml_tag is None and not string and not changes_text(var.value):
        return None  # e.g. PYTHON_ARCH: 64: every loader gives back the same text
    where = var.typed_at or var.location
    if var.yaml_tag is not None:
        fix = f'write it without the tag (or as !!str): {var.name}: "{var.value}"'
    elif var.typed_at is not None:
        fix = f"quote the matrix value at {where}: '{var.value}'"
    else:
        fix = f'quote it: {var.name}: "{var.value}"'
    return Finding(
        kind="yaml-type",
        message=f"{var.name}: {var.value} is not read as the text written: {var.yaml_type}; {fix}",
        locations=(where,),
        subject=var.name,
    )


def ml_ver_problem(value: str, *, libc: str = "manylinux") -> str | None:
    """What is wrong with an ``MB_ML_VER`` value (``model.matrix.ml_policy``'s rule: ``1``,
    ``2010``, ``2014``, ``_2_NN``; ``_1_N`` with ``MB_ML_LIBC=musllinux``), None for one
    multibuild names. lint flags it where it is written; the build stops on it before any work
    (it was caught only after the compile, as auditwheel's usage text, exit 10).

    >>> ml_ver_problem("2014") is None, ml_ver_problem("_1_2", libc="musllinux") is None
    (True, True)
    >>> print(ml_ver_problem("2099"))
    MB_ML_VER='2099' is not a manylinux policy multibuild names (1, 2010, 2014, _2_24, _2_28 …)
    """
    try:
        ml_policy(value.strip(), libc=libc)
    except ConfigError as exc:
        return str(exc)
    return None


def value_findings(var: EnvVar, known: frozenset[str]) -> Iterable[Finding]:
    """What is wrong with one definition (``known``: the names a typo is matched against)."""
    if var.problem is not None:
        kind: Kind = "unbalanced-quote" if "quote" in var.problem else "not-assignment"
        yield Finding(kind=kind, message=var.problem, locations=(var.location,))
        return
    if var.name is None or var.value is None:
        return
    yield from _written_findings(var.name, var.value, (var.location,))
    stray = _stray_character(var.name, var.value)
    if stray is not None:
        yield Finding(kind="stray-character", message=stray, locations=(var.location,))
    typed = _yaml_type_finding(var)
    if typed is not None:
        yield typed
    yield from _name_findings(var, var.name, var.value, known)


def _written_findings(name: str, value: str, loc: tuple[Location, ...]) -> Iterable[Finding]:
    """How the value is written: a doubled ``=``, an unbalanced quote, a commit that is no
    git ref. A credential's value is never shown."""
    secret = bool(_CREDENTIAL.search(name))
    if value.startswith("="):
        yield Finding(
            kind="double-equals",
            message=f"{name}=={'…' if secret else value[1:]} has a doubled '='"
            + ("" if secret else f"; the value read is {value!r}"),
            locations=loc,
        )
    if value.count('"') % 2 or value.count("'") % 2:
        yield Finding(
            kind="unbalanced-quote",
            message=f"{name} value {'(not shown)' if secret else repr(value)} has an "
            "unbalanced quote",
            locations=loc,
        )
    if (
        name in ("BUILD_COMMIT", *DAILY_NAMES)
        and value.strip()
        and not value.startswith("=")
        and not _UNEXPANDED.search(value)
        and not is_valid_ref(value.strip())
    ):
        yield Finding(
            kind="bad-ref",
            message=f"{name}={shown(value)} is not a git ref (tag, branch or commit "
            "hash: letters, digits, ._/+-)",
            locations=loc,
        )


def _stray_character(name: str, value: str) -> str | None:
    r"""A character in ``value`` no author means: an invisible one (a non-breaking space, a
    zero-width space, a BOM), a line break ending it (a ``|`` block scalar keeps the last one),
    or a ``|`` ending a value the tool reads (a shell pipe in a Travis string). The value of a
    credential is never shown, only the character.

    >>> print(_stray_character("BUILD_COMMIT", "v2.4.6\u00a0"))
    BUILD_COMMIT: its value 'v2.4.6\xa0' has U+00A0 (NO-BREAK SPACE) at position 7 of 7
    >>> _stray_character("BUILD_COMMIT", "v2.4.6") is None
    True
    """
    its = "its value" if _CREDENTIAL.search(name) else f"its value {shown(value)}"
    for index, char in enumerate(value):
        if char in " \t\n\r" or not (char.isspace() or unicodedata.category(char) == "Cf"):
            continue
        what = unicodedata.name(char, "a control character")
        return (
            f"{name}: {its} has U+{ord(char):04X} ({what}) at position {index + 1} of {len(value)}"
        )
    if value.endswith(("\n", "\r")):
        return (
            f"{name}: {its} ends with a line break (a `|` block scalar keeps the last one: "
            "write `|-`, or the value on the key's line)"
        )
    if name in READ_NAMES and name not in ("BUILD_COMMIT", *DAILY_NAMES) and value.endswith("|"):
        return f"{name}: {its} ends with '|' (a shell pipe in a Travis string)"
    return None


def _name_findings(var: EnvVar, name: str, value: str, known: frozenset[str]) -> Iterable[Finding]:
    """What the name says about the value: a multibuild variable not honoured, an expression
    where a literal is read, a credential in plain text, a likely typo of a known name."""
    loc = (var.location,)
    if name in NOT_HONOURED:
        yield Finding(
            kind="not-honoured",
            message=f"{name} is a multibuild variable this tool does not honour: "
            f"{NOT_HONOURED[name]}",
            locations=loc,
            subject=name,
            severity="warning",
        )
    if name in READ_NAMES and _UNEXPANDED.search(value):
        yield Finding(
            kind="unexpanded",
            message=f"{name}={value!r} holds an expression this tool cannot "
            "expand; write the literal value",
            locations=loc,
        )
    plain = var.form != "secure" and value.strip() and not _REFERENCE.match(value)
    if _CREDENTIAL.search(name) and plain:
        yield Finding(
            kind="plain-credential",
            message=f"{name} holds a credential in plain text; use the CI's "
            "encrypted variables (secure:/secrets)",
            locations=loc,
        )
    if name not in known and name not in OTHER_KNOWN and name not in NOT_HONOURED:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
        if close:
            yield Finding(
                kind="unknown-name",
                message=f"{name} is not a variable this tool reads; did you mean {close[0]}?",
                locations=loc,
            )


def _ml_ver_findings(ci_file: CIFile) -> Iterable[Finding]:
    """A "bad-value" error for each MB_ML_VER multibuild would not take (musllinux's spelling
    when the file sets MB_ML_LIBC=musllinux)."""
    defs = list(ci_file.definitions())
    musl = any(v.name == "MB_ML_LIBC" and (v.value or "").strip() == "musllinux" for v in defs)
    for var in defs:
        if var.name != "MB_ML_VER" or not (var.value or "").strip():
            continue
        problem = ml_ver_problem(var.value or "", libc="musllinux" if musl else "manylinux")
        if problem is not None:
            yield Finding(kind="bad-value", message=problem, locations=(var.location,))


def lint(config: CIConfig, *, check_pythons: bool = True) -> list[Finding]:
    """Every problem in the CI files, agreement problems first. ``check_pythons``: the files
    must build the same Python versions (off when [tool.numpy-wheels.ci] shares the wheels
    out: then ``cifiles.jobs.coverage`` checks each file against its share)."""
    findings = [
        f
        for f in (
            agreement(config, ("BUILD_COMMIT",), "BUILD_COMMIT"),
            agreement(config, DAILY_NAMES, "the daily commit"),
            agreement(config, ("OPENBLAS_VERSION",), "the OpenBLAS pin"),
            _python_agreement(config) if check_pythons else None,
        )
        if f is not None
    ]
    if not definitions(config, ("BUILD_COMMIT",)):
        findings.append(
            Finding(
                kind="missing",
                message="no CI file sets BUILD_COMMIT",
                locations=tuple(Location(path=f.path, line=1) for f in config.files),
            )
        )
    findings.extend(_globals_agreement(config))
    for ci_file in config.files:
        for var in ci_file.definitions():
            findings.extend(value_findings(var, READ_NAMES))
        findings.extend(_ml_ver_findings(ci_file))
    unique: dict[tuple[str, str, tuple[Location, ...]], Finding] = {}
    for finding in findings:  # a matrix value filled into many jobs is one finding
        unique.setdefault((finding.kind, finding.message, finding.locations), finding)
    return list(unique.values())


#: Globals that a local run takes from the CI files (config/build.py): a disagreement on the
#: first two changes what is built (error); on the others, a local run differs from some CI.
GLOBAL_DEFAULTS = (
    "REPO_DIR",
    "REPO_URL",
    "BUILD_DEPENDS",
    "TEST_DEPENDS",
    "EXTRA_ARGV",
    "CONFIG_PATH",
    "ENV_VARS_PATH",
    "WHEEL_SDIR",
    "MB_ML_VER",
    "MB_ML_LIBC",
    "DOCKER_IMAGE",
    "MB_PYTHON_OSX_VER",
    "BUILD_PREFIX",
    "USE_CCACHE",
    "PLAT",
    "MB_PYTHON_VERSION",
)


def _globals_agreement(config: CIConfig) -> Iterable[Finding]:
    """CI files that give a global different values, or where one building file sets it and
    another does not (absent counts as disagreeing: that file's jobs run without it)."""
    building = [f for f in config.files if any(v.name == "BUILD_COMMIT" for v in f.definitions())]
    for name in GLOBAL_DEFAULTS:
        defs = [
            v for f in config.files if (v := f.get_global(name)) is not None and v.value is not None
        ]
        if not defs:
            continue
        if len({v.value for v in defs}) > 1:
            listing = "; ".join(f"{v.location} says {v.value!r}" for v in defs)
            error = name in ("REPO_DIR", "REPO_URL")
            yield Finding(
                kind="disagree",
                message=f"CI files disagree on the global {name}: {listing}"
                + ("" if error else f"; a local run uses {defs[0].value!r} ({defs[0].location})"),
                locations=tuple(v.location for v in defs),
                subject=name,
                severity="error" if error else "warning",
            )
            continue
        without = [f for f in building if not any(v.name == name for v in f.definitions())]
        if without:
            yield Finding(
                kind="disagree",
                message=f"CI files disagree on the global {name}: set in "
                + ", ".join(str(v.location) for v in defs)
                + f" but not in {', '.join(str(shown_path(f.path)) for f in without)}, whose "
                f"jobs run without it; a local run uses {defs[0].value!r}",
                locations=tuple(v.location for v in defs),
                subject=name,
                severity="warning",
            )
