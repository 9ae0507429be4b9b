"""The table of hostile and broken inputs (issue 18): every case names the cause it probes,
the command line it runs (built in its sandbox), the documented exit code, what the command
may change (``owns``, paths under the sandbox), and a wall-clock bound. One assertion set
(test_hostile.py) applies to all of them."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.hostile.badserver import Route
from tests.hostile.sandbox import CANARY, EXPECTED, PYPROJECT, TRAVIS, Sandbox
from tests.wheelfiles import (
    bomb_in,
    garbage_in,
    make_sdist,
    make_wheel,
    member_named_nothing,
    member_twice,
    offsets_before_the_start,
)

Build = Callable[[Sandbox], list[str]]

OK, FATAL, USAGE, CONFIG, LINT, SELECTION = 0, 1, 2, 3, 4, 5
STORE, AUTH, CREDENTIALS, CONFLICT, GATE, INDEX = 15, 16, 17, 18, 19, 20
SOURCE = 6

#: The issue's causes, for the coverage check.
CAUSES = {
    1: "the CLI maps only its own errors",
    2: "CI readers assume shapes; no limits",
    3: "values not validated where read",
    4: "bump not atomic as a set",
    5: "brace expansion exponential and recursive",
    6: "local store paths joined unchecked",
    7: "staging trusts the wheelhouse",
    8: "secrets starting with $ called unexpanded and printed",
    9: "network: no deadline, unbounded, quadratic, file:// links, upper-case sha256",
    10: "Ctrl-C with worker threads",
    11: "exit codes",
    12: "text from input printed with the control characters a terminal acts on",
}


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    cause: int
    code: int
    build: Build
    program: str = "numpy-wheels"  # or wheel-uploader
    owns: tuple[str, ...] = ()
    bound: float = 10.0
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    expect: str | None = None  # text the output must contain (the message says why)
    absent: str | None = None  # text the output must not contain


CASES: list[Case] = []


def case(*args: object, **kwargs: object) -> None:
    CASES.append(Case(*args, **kwargs))  # type: ignore[arg-type]


def root(sb: Sandbox, *argv: str) -> list[str]:
    return ["--root", str(sb.repo), *argv]


# == 1, 11: the boundary: files the tool reads, in any state ===================================

NOT_UTF8 = b"env:\n  global:\n    - BUILD_COMMIT=v2.4.6\n    - X=\xff\xfe\n"


def with_file(rel: str, content: str | bytes, *argv: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        sb.write(f"repo/{rel}", content)
        return root(sb, *argv)

    return build


def with_dir(rel: str, *argv: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        target = sb.repo / rel
        if target.exists():
            target.unlink()
        target.mkdir(parents=True)
        return root(sb, *argv)

    return build


for command in (
    ["lint"],
    ["commit"],
    ["bump", "v1.0.0"],
    ["reproduce", "--ci", "travis", "--job", "0", "--dry-run"],
):
    case(
        f"boundary/travis-not-utf8/{command[0]}",
        1,
        CONFIG,
        with_file(".travis.yml", NOT_UTF8, *command),
        expect=".travis.yml:4: not UTF-8",
    )
case(
    "boundary/setup-cfg-not-utf8/upload",
    1,
    CONFIG,
    with_file(
        "setup.cfg",
        b"[staging]\nrelease_container = w\xff\n",
        "upload",
        "--local-folder",
        "nowhere",
    ),
    expect="setup.cfg:2: not UTF-8",
)
case(
    "boundary/setup-cfg-not-utf8/release",
    1,
    CONFIG,
    with_file(
        "setup.cfg",
        b"[wheelhouse_uploader]\nartifact_indexes = \xff\n",
        "release",
        "0.1.0",
        "-n",
        "-w",
        "dl",
    ),
    owns=("cwd/dl",),  # the report of the failure
    expect="not UTF-8",
)
case(
    "boundary/pyproject-not-utf8/matrix",
    1,
    CONFIG,
    with_file("pyproject.toml", b'[tool.numpy-wheels]\nproject = "f\xffoo"\n', "matrix"),
    expect="pyproject.toml:2: not UTF-8",
)
case("boundary/pyproject-is-a-directory/matrix", 1, CONFIG, with_dir("pyproject.toml", "matrix"))
case("boundary/setup-cfg-is-a-directory/staged", 1, CONFIG, with_dir("setup.cfg", "staged"))
# A CI or configuration file that is not a file is named as what it is (exit 3): it used to be
# taken for "no such file" (lint passed without it), and a FIFO must never be waited on.


def with_special(rel: str, kind: str, *argv: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        target = sb.tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        match kind:
            case "directory":
                target.mkdir()
            case "fifo":
                os.mkfifo(target)
            case "broken-symlink":
                target.symlink_to(sb.tmp / "gone.yml")
        return root(sb, *argv)

    return build


SPECIAL = {
    "directory": "is a directory",
    "fifo": "a FIFO (named pipe)",
    "broken-symlink": "a broken symbolic link",
}
for kind, said in SPECIAL.items():
    for command in (
        ["lint"],
        ["commit"],
        ["bump", "v9.9.9"],
        ["reproduce", "--ci", "travis", "--job", "0", "--dry-run"],
    ):
        case(
            f"boundary/travis-{kind}/{command[0]}",
            1,
            CONFIG,
            with_special("repo/.travis.yml", kind, *command),
            bound=5,
            expect=said,
        )
    case(
        f"boundary/workflow-{kind}/lint",
        1,
        CONFIG,
        with_special("repo/.github/workflows/wheels.yml", kind, "lint"),
        bound=5,
        expect=said,
    )
    case(
        f"boundary/pyproject-{kind}/matrix",
        1,
        CONFIG,
        with_special("repo/pyproject.toml", kind, "matrix"),
        bound=5,
        expect=said,
    )
    case(
        f"boundary/setup-cfg-{kind}/staged",
        1,
        CONFIG,
        with_special("repo/setup.cfg", kind, "staged", "--local-root", "store"),
        bound=5,
        expect=said,
    )
    case(
        f"boundary/pypirc-{kind}/release",
        1,
        CONFIG,
        lambda sb, k=kind: with_special(
            "home/.pypirc",
            k,
            "release",
            "0.1.0",
            "-u",
            sb.listing(),
            "-w",
            str(sb.dl),
            "--config-file",
            str(sb.home / ".pypirc"),
            "-r",
            "x",
            "--allow-unverified-provenance",
        )(sb),
        bound=5,
        expect=said if kind != "directory" else "a directory",
    )
# The hook files likewise (issue 12 tryout): a config.sh that is no file was "missing", an
# env_vars.sh that is none was skipped and the build went on (exit 0).
for kind, said in SPECIAL.items():
    for hook in ("config.sh", "env_vars.sh"):

        def hook_build(sb: Sandbox, k: str = kind, h: str = hook) -> list[str]:
            sb.write("repo/config.sh", "function run_tests { true; }\n")
            return with_special(f"repo/{h}", k, "build", "--backend", "host", "--no-test")(sb)

        case(
            f"boundary/{hook}-{kind}/build",
            1,
            CONFIG,
            hook_build,
            bound=10,
            expect=said,
            absent="is missing",
        )
        case(
            f"boundary/{hook}-{kind}/lint",
            1,
            CONFIG,
            with_special(f"repo/{hook}", kind, "lint"),
            bound=5,
            expect=said,
        )
case(
    "values/mb-ml-ver-unknown/build",
    3,
    CONFIG,
    with_file(
        ".travis.yml",
        "env:\n  global:\n    - BUILD_COMMIT=v2.4.6\n    - MB_ML_VER=2099\n",
        "build", "--backend", "host", "--no-test",
    ),
    expect=".travis.yml:4: MB_ML_VER='2099' is not a manylinux policy multibuild names",
)  # fmt: skip
case(
    "values/mb-ml-ver-unknown/lint",
    3,
    LINT,
    with_file(
        ".travis.yml", "env:\n  global:\n    - BUILD_COMMIT=v2.4.6\n    - MB_ML_VER=2099\n", "lint"
    ),
    expect=".travis.yml:4: MB_ML_VER='2099' is not a manylinux policy multibuild names",
)
case(
    "values/config-sh-syntax/lint",
    3,
    LINT,
    with_file("config.sh", "function run_tests {\n    echo (\n}\n", "lint"),
    expect="config.sh:2: config.sh: bash cannot parse it: syntax error",
)
case(
    "values/config-sh-syntax/build",
    3,
    CONFIG,
    with_file("config.sh", "function run_tests {\n    echo (\n}\n", "build", "--no-test"),
    expect="config.sh:2: syntax error near unexpected token",
)
case(
    "boundary/pyproject-bad-toml/matrix",
    1,
    CONFIG,
    with_file("pyproject.toml", "[tool.numpy-wheels\n", "matrix"),
    expect="not valid TOML",
)
for name, toml in {
    "tool-scalar": "tool = 5\n",
    "table-scalar": "[tool]\nnumpy-wheels = 5\n",
    "build-ints": "[tool.numpy-wheels]\nbuild = [5]\n",
    "skip-table": "[tool.numpy-wheels]\nskip = {a = 1}\n",
    "images-ints": "[tool.numpy-wheels]\nimages = {a = 5}\n",
    "settings-int": "[tool.numpy-wheels.config-settings]\na = 5\n",
    "unknown-key": "[tool.numpy-wheels]\nbuidl = ['*']\n",
    "project-traversal": '[tool.numpy-wheels]\nproject = "../../evil"\n',
    "project-empty": '[tool.numpy-wheels]\nproject = ""\n',
    "project-space": '[tool.numpy-wheels]\nproject = "a b"\n',
    "project-newline": '[tool.numpy-wheels]\nproject = "a\\nb"\n',
    "deep-arrays": "[tool.numpy-wheels]\nbuild = " + "[" * 3000 + "]" * 3000 + "\n",
    "deep-inline-tables": "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
}.items():
    case(
        f"values/pyproject-{name}/matrix",
        3 if "project" in name else 1,
        CONFIG,
        with_file("pyproject.toml", toml, "matrix"),
    )
case(
    "values/pyproject-project-traversal/upload",
    3,
    CONFIG,
    with_file(
        "pyproject.toml",
        '[tool.numpy-wheels]\nproject = "../../evil"\n',
        "upload",
        "w",
        "--local-folder",
        "nowhere",
    ),
)
for name, cfg in {
    "no-section": "release_container = w\n",
    "duplicate-section": "[staging]\na=1\n[staging]\nb=2\n",
    "unknown-key": "[staging]\nrelease-container = w\n",
    "container-traversal": "[staging]\nrelease_container = ../../x\n",
}.items():
    case(
        f"boundary/setup-cfg-{name}/staged",
        1 if "container" not in name else 6,
        CONFIG,
        with_file("setup.cfg", cfg, "staged", "--local-root", "store"),
    )
case(
    "boundary/setup-cfg-percent-is-text/staged",
    1,
    STORE,  # read as text (not a ConfigError); the store root is then looked for, and missing
    with_file(
        "setup.cfg",
        "[staging]\nrelease_container = w\npublic-url = http://x/%zz\n",
        "staged",
        "--local-root",
        "store",
    ),
    expect="store does not exist: create it first",
)


def travis(text: str | bytes, *argv: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        sb.only_ci(".travis.yml", text)
        return root(sb, *argv)

    return build


# == 2: CI files of every shape but the expected one ===========================================

TRAVIS_SHAPES = {
    "env-scalar": "env: 5\n",
    "env-global-scalar": "env: {global: 5}\n",
    "env-global-nested-list": "env: {global: [[1]]}\n",
    "env-matrix-scalar": "env: {matrix: 5}\n",
    "env-jobs-mapping": "env: {global: [BUILD_COMMIT=v1], jobs: {a: 1}}\n",
    "matrix-scalar": "env: [BUILD_COMMIT=v1]\nmatrix: 5\n",
    "matrix-include-scalar": "matrix: {include: 5}\n",
    "matrix-include-ints": "matrix: {include: [5]}\n",
    "jobs-list": "jobs: [1, 2]\n",
    "jobs-include-env-int": "jobs: {include: [{env: 5}]}\n",
    "jobs-include-name-list": "jobs: {include: [{name: [1], env: A=1}]}\n",
    "jobs-exclude-scalar": "jobs: {exclude: 5}\n",
    "top-level-list": "- 1\n- 2\n",
    "top-level-scalar": "just a string\n",
    "variable-name-int": "env: {global: [{5: x}]}\n",
    "variable-value-list": "env: {global: [{BUILD_COMMIT: [v1]}]}\n",
    "alias-bomb": "a0: &a0 [x,x,x,x,x,x,x,x,x]\n"
    + "".join(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
    + "env: {global: *a8}\n",
    "deep-flow-nesting": "env: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-block-nesting": "env:\n" + "".join(" " * (2 * i + 2) + "-\n" for i in range(900)),
    "nul-bytes": "env:\x00\x00\n",
    "tab-indent": "env:\n\tglobal: 1\n",
    "duplicate-keys": "env: 1\nenv: 2\n",
    "unclosed-quote": 'env: "abc\n',
    "huge-file": "# " + "x" * (2 << 20) + "\n",
}
#: Shapes whose scalars are read as the text written (a string env "5", a runtime-expression
#: matrix): readable, so lint reports what they lack instead (exit 4), still no traceback.
READ_AS_TEXT = {"env-scalar", "env-global-scalar", "jobs-include-env-int", "variable-name-int"}
for name, text in TRAVIS_SHAPES.items():
    for verb in ("lint", "commit"):
        code = LINT if name in READ_AS_TEXT else CONFIG
        case(f"ci/travis/{name}/{verb}", 2, code, travis(text, verb))
case("ci/travis/empty-file/lint", 2, LINT, travis("", "lint"), expect="no CI file sets")
case("ci/travis/self-alias/lint", 2, LINT, travis("a: &a [*a]\nenv: *a\n", "lint"))


def ci_file(name: str, text: str, *argv: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        sb.only_ci(name, text)
        return root(sb, *argv)

    return build


APPVEYOR_SHAPES = {
    "environment-scalar": "environment: 5\n",
    "environment-list": "environment: [1]\n",
    "global-list": "environment: {global: [1]}\n",
    "matrix-scalar": "environment: {matrix: 5}\n",
    "matrix-ints": "environment: {matrix: [5]}\n",
    "matrix-value-list": "environment: {matrix: [{A: [1]}]}\n",
    "global-value-mapping": "environment: {global: {A: {b: 1}}}\n",
}
GITHUB_SHAPES = {
    "jobs-list": "jobs: [1, 2]\n",
    "job-scalar": "jobs: {a: 5}\n",
    "strategy-scalar": "jobs: {a: {strategy: 5}}\n",
    "matrix-scalar": "jobs: {a: {strategy: {matrix: 5}}}\n",
    "include-ints": "jobs: {a: {strategy: {matrix: {include: [5]}}}}\n",
    "exclude-scalar": "jobs: {a: {strategy: {matrix: {x: [1], exclude: 5}}}}\n",
    "env-list": "env: [1]\n",
    "job-env-scalar": "jobs: {a: {env: 5}}\n",
    "matrix-too-big": "jobs: {a: {strategy: {matrix: {x: [1,2,3,4,5,6,7], y: [1,2,3,4,5,6,7], "
    "z: [1,2,3,4,5,6,7]}}}}\n",
}
AZURE_SHAPES = {
    "jobs-ints": "jobs: [1, 2]\n",
    "jobs-scalar": "jobs: 5\n",
    "strategy-scalar": "jobs: [{job: a, strategy: 5}]\n",
    "matrix-scalar": "jobs: [{job: a, strategy: {matrix: 5}}]\n",
    "variables-ints": "variables: [5]\n",
    "variables-scalar": "variables: 5\n",
    "stage-jobs-scalar": "stages: [{stage: x, jobs: 5}]\n",
    "matrix-entry-list": "jobs: [{job: a, strategy: {matrix: {e: [1]}}}]\n",
}
for provider, name_, shapes in (
    ("appveyor", "appveyor.yml", APPVEYOR_SHAPES),
    ("github", ".github/workflows/wheels.yml", GITHUB_SHAPES),
    ("azure", "azure-pipelines.yml", AZURE_SHAPES),
):
    for shape, text in shapes.items():
        for verb in ("lint", "commit"):
            code = LINT if shape == "matrix-scalar" and provider != "appveyor" else CONFIG
            case(f"ci/{provider}/{shape}/{verb}", 2, code, ci_file(name_, text, verb))
    first = next(iter(shapes.values()))
    case(
        f"ci/{provider}/shape/reproduce",
        2,
        CONFIG,
        ci_file(name_, first, "reproduce", "--ci", provider, "--job", "0", "--dry-run"),
    )
    case(f"ci/{provider}/shape/bump", 2, CONFIG, ci_file(name_, first, "bump", "v1.0.0"))


# == 3: values checked where they are read =====================================================


def build_commit(value: str, *argv: str, yaml: bool = False) -> Build:
    def build(sb: Sandbox) -> list[str]:
        text = (
            f"env:\n  global:\n    - BUILD_COMMIT: {json.dumps(value)}\n"
            if yaml
            else f"env:\n  global:\n    - BUILD_COMMIT={value}\n"
        )
        sb.only_ci(".travis.yml", text)
        return root(sb, *argv)

    return build


for label, value, yaml in (
    ("shell-metachar", "'v2.4.6;touch x'", False),
    ("newline", "v2.4.6\ntouch x", True),
    ("option-like", "--upload-pack=touch", False),
    ("dash", "-x", True),
    ("dotdot", "v1..v2", False),
    ("command-substitution", "$(touch x)", True),
    ("backticks", "`touch x`", True),
    ("space", "v1 v2", True),
    ("ends-with-lock", "v1.lock", False),
):
    for verb in ("lint", "commit"):
        case(f"values/build-commit-{label}/{verb}", 3, LINT, build_commit(value, verb, yaml=yaml))
case(
    "values/build-commit-metachar/build",
    3,
    LINT,
    build_commit("'v2.4.6;touch x'", "build", "--backend", "host", "--no-test"),
)
case(
    "values/daily-commit-metachar/commit",
    3,
    LINT,
    travis("env:\n  global:\n    - BUILD_COMMIT=v1\n    - DAILY_COMMIT='main;touch x'\n", "commit"),
    env={"TRAVIS_EVENT_TYPE": "cron"},
)
case("values/build-commit-empty/commit", 3, LINT, build_commit('""', "commit"))
case(
    "values/build-commit-no-break-space/lint",
    3,
    LINT,
    build_commit("v2.4.6\u00a0", "lint"),
    expect="has U+00A0 (NO-BREAK SPACE)",
    absent="Make the CI files agree",  # bump's hint: wrong for a stray character
)
case(
    "values/build-commit-literal-block/lint",
    3,
    LINT,
    ci_file("appveyor.yml", "environment:\n  global:\n    BUILD_COMMIT: |\n      v1\n", "lint"),
    expect="appveyor.yml:3: BUILD_COMMIT: its value 'v1\\n' ends with a line break",
)
case(
    "values/tab-after-colon/commit",
    3,
    OK,
    ci_file("appveyor.yml", "environment:\n  global:\n    BUILD_COMMIT:\tv1\n", "commit"),
    expect="v1",
)
case(
    "values/tab-indentation/lint",
    3,
    CONFIG,
    ci_file("appveyor.yml", "environment:\n  global:\n\tBUILD_COMMIT: v1\n", "lint"),
    expect="appveyor.yml:3: not valid YAML",
)

for label, ref in (
    ("metachar", "v1;touch x"),
    ("dotdot", "a..b"),
    ("newline", "v1\nx"),
    ("long", "v" * 300),
    ("space", "v 1"),
    ("tilde", "v1~1"),
):
    case(
        f"values/bump-ref-{label}",
        3,
        USAGE,
        lambda sb, r=ref: root(sb, "bump", r),
        expect="not a valid git ref",
        absent="v" * 100,  # a long ref is shown clipped, not echoed whole
    )
case("values/bump-option-ref", 3, USAGE, lambda sb: root(sb, "bump", "--", "-x"))
for label, version in (
    ("words", "not a version"),
    ("traversal", "2.4.6/../../x"),
    ("empty", ""),
    ("newline", "2.4.6\n"),
    ("html", "<b>1</b>"),
    # packaging's Version raises plain ValueError past int()'s 4,300-digit limit, not
    # InvalidVersion: it escaped as an internal error, the digits echoed whole
    ("digits", "1" * 5000),
):
    case(
        f"values/matrix-wheels-{label}",
        3,
        USAGE,
        lambda sb, v=version: root(sb, "matrix", "--wheels", v),
        expect="is not a version",
        absent="1" * 200,  # a long value is shown clipped
    )
    case(
        f"values/release-version-{label}",
        3,
        USAGE,
        lambda sb, v=version: root(sb, "release", v, "-n", "-w", str(sb.dl)),
        absent="1" * 200,
    )
for name, argv in {
    "release": ["release", "2.4.6+local", "-n", "-w", "dl"],
    "matrix-wheels": ["matrix", "--wheels", "2.4.6+local"],
}.items():
    case(
        f"values/{name}-local-version",
        3,
        USAGE,
        lambda sb, a=argv: root(sb, *a),
        expect="package indexes refuse local versions (PEP 440)",
    )
case(
    "values/uploader-local-version",
    3,
    USAGE,
    lambda sb: root(sb, "-n", "-w", str(sb.dl), "fooext", "0.1.0+cpu"),
    program="wheel-uploader",
    expect="release '0.1.0'",
)
for label, package in (("traversal", "../evil"), ("space", "a b"), ("empty", ""), ("slash", "a/b")):
    case(
        f"values/uploader-package-{label}",
        3,
        USAGE,
        lambda sb, p=package: root(sb, "-n", "-w", str(sb.dl), p, "0.1.0"),
        program="wheel-uploader",
    )
for flag, value in (
    ("--keep-dev", "-1"),
    ("--keep-dev", "0"),
    ("--keep-dev", "x"),
    ("--max-workers", "0"),
    ("--max-workers", "-3"),
):
    case(
        f"values/upload{flag}={value}",
        3,
        USAGE,
        lambda sb, f=flag, v=value: root(sb, "upload", "w", f, v),
        expect=flag,
    )
for value in ("0", "nan", "inf", "-1", "x"):
    case(
        f"values/release--timeout={value}",
        3,
        USAGE,
        lambda sb, v=value: root(sb, "release", "0.1.0", "-n", "--timeout", v),
    )
# Closed-choice environment variables: a misspelt value is exit 3 naming the variable and the
# values it takes, never read as "unset" (NUMPY_WHEELS_BACKEND=bogus built with the default).
for variable, value in (
    ("NUMPY_WHEELS_BACKEND", "bogus"),
    ("NUMPY_WHEELS_CCACHE", "off"),
    ("USE_CCACHE", "yes"),
    ("MB_ML_LIBC", "glibc"),
    ("PYTHON_ARCH", "99"),
    ("NUMPY_WHEELS_MODE", "nightly"),
):
    case(
        f"values/env-{variable}-{value}/build",
        3,
        CONFIG,
        lambda sb: root(sb, "build", "--no-test"),
        env={
            variable: value,
            "PYTHON_VERSION": "3.12",
            **({"PLAT": "x86_64"} if "LIBC" in variable else {}),
        },
        expect=f"{variable}={value!r} is not",
    )
for label, where in (("missing", "nope/repo"), ("a-file", "outside/private.txt")):
    for command in (["matrix"], ["lint"]):
        case(
            f"values/root-{label}/{command[0]}",
            3,
            USAGE,
            lambda sb, w=where, c=command: ["--root", str(sb.tmp / w), *c],
            expect="does not exist" if label == "missing" else "is not a directory",
        )
case("values/matrix-only-long", 3, SELECTION, lambda sb: root(sb, "matrix", "--only", "x" * 5000))
case("values/plan-unknown", 3, SELECTION, lambda sb: root(sb, "plan", "../../etc"))
case(
    "values/plan-contradictory-variant",
    3,
    USAGE,
    lambda sb: root(sb, "plan", "cp313-macosx_arm64+openblas", "--variant", "accelerate"),
    expect="names the openblas variant, --variant accelerate another",
)
case(
    "values/plan-same-variant-twice",
    3,
    5,  # the sandbox's fooext asks for no BLAS: Accelerate is no choice of it
    lambda sb: root(sb, "plan", "cp313-macosx_arm64+accelerate", "--variant", "accelerate"),
    expect="asks for no BLAS",
)
case(
    "values/reproduce-job-out-of-range",
    3,
    SELECTION,
    lambda sb: root(sb, "reproduce", "--ci", "travis", "--job", "999", "--dry-run"),
)
HELPER_JOB_FIRST = """\
on: push
env:
  BUILD_COMMIT: v2.4.6
jobs:
  matrix:
    runs-on: ubuntu-latest
    steps: [{run: echo}]
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.12"]
    env:
      MB_PYTHON_VERSION: ${{ matrix.python }}
      PLAT: x86_64
"""
case(
    "values/reproduce-job-builds-no-wheel",
    3,
    SELECTION,
    ci_file(
        ".github/workflows/wheels.yml",
        HELPER_JOB_FIRST,
        "reproduce",
        "--ci",
        "github",
        "--job",
        "0",
        "--dry-run",
    ),
    expect="that build a wheel: 1: build",
)
case(
    "values/reproduce-job-negative",
    3,
    SELECTION,
    lambda sb: root(sb, "reproduce", "--ci", "travis", "--job", "-1", "--dry-run"),
)


# == 4: bump edits in place, as a set ===========================================================


def bump_symlinked(sb: Sandbox) -> list[str]:
    real = sb.write("repo/ci/travis.yml", (sb.repo / ".travis.yml").read_bytes())
    (sb.repo / ".travis.yml").unlink()
    (sb.repo / ".travis.yml").symlink_to(real)
    return root(sb, "bump", "v9.9.9")


def bump_crlf(sb: Sandbox) -> list[str]:
    for rel in (".travis.yml", "appveyor.yml"):
        path = sb.repo / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return root(sb, "bump", "v9.9.9")


CI_FILES = ("repo/.travis.yml", "repo/appveyor.yml", "repo/.github/workflows/wheels.yml")
case("bump/symlinked-file", 4, OK, bump_symlinked, owns=(*CI_FILES, "repo/ci/travis.yml"))
case("bump/crlf-files", 4, OK, bump_crlf, owns=CI_FILES)
case("bump/dry-run-writes-nothing", 4, OK, lambda sb: root(sb, "bump", "v9.9.9", "--dry-run"))
case(
    "bump/files-disagree",
    4,
    LINT,
    with_file(
        "appveyor.yml", "environment:\n  global:\n    BUILD_COMMIT: v1.0.0\n", "bump", "v9.9.9"
    ),
    expect="disagree",
)
case("bump/daily", 4, OK, lambda sb: root(sb, "bump", "main2", "--daily"), owns=CI_FILES)
case(
    "bump/value-in-folded-string",
    4,
    OK,
    travis("env:\n  global:\n    - >-\n      BUILD_COMMIT=v1\n      X=1\n", "bump", "v2"),
    owns=("repo/.travis.yml",),
    expect="+      BUILD_COMMIT=v2",
)
case(
    "bump/value-in-literal-block",
    4,
    OK,
    ci_file(
        "appveyor.yml", "environment:\n  global:\n    BUILD_COMMIT: |\n      v1\n", "bump", "v2"
    ),
    owns=("repo/appveyor.yml",),
    expect="+      v2",
)
case(
    "bump/alias-of-another-value",
    4,
    CONFIG,
    ci_file(
        "appveyor.yml",
        "environment:\n  global:\n    OTHER: &c v1\n    BUILD_COMMIT: *c\n",
        "bump",
        "v2",
    ),
    expect="appveyor.yml:4: BUILD_COMMIT is the alias *c of the anchor &c at",
)


# == 5: selectors ==============================================================================

for label, selector in (
    ("22-groups", "{a,b}" * 22),
    ("1500-singletons", "{a}" * 1500),
    ("deep-nesting", "{" * 100 + "a" + "}" * 100),
    ("huge-range", "cp{1..100000}-*"),
    ("long", "x" * 5000),
):
    case(
        f"braces/cli-build-{label}",
        5,
        SELECTION,
        lambda sb, s=selector: root(sb, "matrix", "--build", s),
        bound=5,
    )
    case(
        f"braces/cli-skip-{label}",
        5,
        SELECTION,
        lambda sb, s=selector: root(sb, "matrix", "--skip", s),
        bound=5,
    )
case(
    "braces/pyproject-22-groups",
    5,
    SELECTION,
    with_file(
        "pyproject.toml", f"[tool.numpy-wheels]\nbuild = [{json.dumps('{a,b}' * 22)}]\n", "matrix"
    ),
    bound=5,
)
case("braces/range-is-fine", 5, OK, lambda sb: root(sb, "matrix", "--build", "cp3{11..13}-*"))


# == 6: the local store stays under --local-root ===============================================


def upload_to(container: str, *extra: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        sb.wheels()
        (sb.store / "a" / "b").mkdir(parents=True, exist_ok=True)
        return root(
            sb,
            "upload",
            container,
            "--local-root",
            str(sb.store / "a" / "b"),
            "--local-folder",
            str(sb.tmp / "house"),
            *extra,
        )

    return build


for label, container in (
    ("dotdot", "../../x"),
    ("absolute", "/tmp/x"),
    ("parent", ".."),
    ("slash", "a/b"),
    ("newline", "a\nb"),
    ("backslash", "a\\b"),
):
    case(f"store/container-{label}/upload", 6, USAGE, upload_to(container))
case(
    "store/container-dotdot/staged",
    6,
    USAGE,
    lambda sb: root(sb, "staged", "--container", "../../x", "--local-root", str(sb.store)),
)


def records_symlink_out(sb: Sandbox) -> list[str]:
    container = sb.store / "a" / "b" / "w"
    container.mkdir(parents=True)
    (container / ".records").symlink_to(sb.outside)
    return upload_to("w")(sb)


case("store/symlink-in-container-leads-out", 6, STORE, records_symlink_out, owns=("store",))


def local_root_is_a_file(sb: Sandbox) -> list[str]:
    sb.store.rmdir()
    sb.write("store", "not a directory")
    sb.wheels()
    return root(
        sb, "upload", "w", "--local-root", str(sb.store), "--local-folder", str(sb.tmp / "house")
    )


case("store/local-root-is-a-file", 6, STORE, local_root_is_a_file)


def record_of(content: str) -> Build:
    def build(sb: Sandbox) -> list[str]:
        sb.write(f"store/w/.records/{EXPECTED[0]}.json", content)
        return root(sb, "staged", "--container", "w", "--local-root", str(sb.store))

    return build


for label, content in (
    ("half", "{half"),
    ("deep", "[" * 100000 + "]" * 100000),
    ("list", "[1, 2]"),
    ("wrong-keys", '{"a": 1}'),
    (
        "other-file",
        json.dumps(
            {
                "filename": "x",
                "project": "x",
                "version": "1",
                "sha256": "0",
                "size": 1,
                "uploaded": "t",
            }
        ),
    ),
):
    case(f"store/record-{label}/staged", 11, STORE, record_of(content))
case("store/valid-upload", 6, OK, upload_to("w"), owns=("store",))


# == 7: the wheelhouse is not trusted ===========================================================


def house_with(mutate: Callable[[Sandbox, Path], None]) -> Build:
    def build(sb: Sandbox) -> list[str]:
        house = sb.tmp / "house"
        sb.wheels()
        mutate(sb, house)
        return root(sb, "upload", "w", "--local-root", str(sb.store), "--local-folder", str(house))

    return build


def symlink_to_private(sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0-py3-none-any.whl").symlink_to(sb.outside / "private.txt")


def directory_wheel(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0-py3-none-any.whl").mkdir()


def empty_wheel(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0-py3-none-any.whl").write_bytes(b"")


def text_wheel(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0-py3-none-any.whl").write_text("not a zip\n")


def truncated_wheel(_sb: Sandbox, house: Path) -> None:
    path = house / EXPECTED[0]
    path.write_bytes(path.read_bytes()[:300])


def other_name(sb: Sandbox, house: Path) -> None:
    wheel = make_wheel(sb.tmp / "other", name="evil", version="0.1.0")
    (house / "fooext-0.1.0-py3-none-any.whl").write_bytes(wheel.read_bytes())


def other_version(_sb: Sandbox, house: Path) -> None:
    make_wheel(house, version="0.1.0", metadata_version="9.9.9")


def garbage_version(_sb: Sandbox, house: Path) -> None:
    make_wheel(house, version="0.1.0", metadata_version="not a version")


def digits_version(_sb: Sandbox, house: Path) -> None:
    make_wheel(house, version="0.1.0", metadata_version="1" * 5000)


def two_metadata(_sb: Sandbox, house: Path) -> None:
    path = make_wheel(house)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("other-0.1.0.dist-info/METADATA", "Name: other\nVersion: 0.1.0\n")


def no_metadata(_sb: Sandbox, house: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("fooext/__init__.py", "")
    (house / "fooext-0.1.0-py3-none-any.whl").write_bytes(buf.getvalue())


def huge_metadata(_sb: Sandbox, house: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fooext-0.1.0.dist-info/METADATA", b"Name: fooext\n" + b" " * (64 << 20))
    (house / "fooext-0.1.0-py3-none-any.whl").write_bytes(buf.getvalue())


def rewritten(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    """``path`` rewritten member by member through ``change`` (RECORD kept as it was)."""
    with zipfile.ZipFile(path) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, change(name, data))


def record_mismatch(_sb: Sandbox, house: Path) -> None:
    """A member changed after RECORD was written (its CRC right): pip refuses it."""
    path = house / EXPECTED[0]
    rewritten(path, lambda name, data: data + b"# changed\n" if name.endswith(".py") else data)


def damaged_member(_sb: Sandbox, house: Path) -> None:
    """One byte of a stored member flipped: its CRC no longer matches."""
    path = house / EXPECTED[0]
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"VALUE = 1")] ^= 0x20
    path.write_bytes(bytes(raw))


def wheel_tags_disagree(_sb: Sandbox, house: Path) -> None:
    """WHEEL's Tag line names another platform than the file name."""
    path = house / EXPECTED[0]
    tag = path.name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
    rewritten(
        path,
        lambda name, data: (
            data.replace(f"Tag: {tag}".encode(), b"Tag: py3-none-any")
            if name.endswith("/WHEEL")
            else data
        ),
    )


def _damaged(damage: Callable[[Path], object]) -> Callable[[Sandbox, Path], None]:
    """The first wheel made again with 8 MiB of zeros in ``fooext/blob.bin``, then damaged."""

    def mutate(_sb: Sandbox, house: Path) -> None:
        tag = EXPECTED[0].removeprefix("fooext-0.1.0-").removesuffix(".whl")
        damage(make_wheel(house, tag=tag, size=8 << 20))

    return mutate


def _described(description: str) -> Callable[[Sandbox, Path], None]:
    """The first wheel made again with a METADATA that twine check --strict refuses (PyPI
    would refuse its upload at the release): staged with exit 0 before."""

    def mutate(_sb: Sandbox, house: Path) -> None:
        tag = EXPECTED[0].removeprefix("fooext-0.1.0-").removesuffix(".whl")
        head = "Metadata-Version: 2.1\nName: fooext\nVersion: 0.1.0\n"
        make_wheel(house, tag=tag, metadata=(head + description).encode())

    return mutate


def bad_sdist(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0.tar.gz").write_bytes(b"\x1f\x8b garbage")


def empty_sdist(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0.tar.gz").write_bytes(b"")


def sdist_dir(_sb: Sandbox, house: Path) -> None:
    (house / "fooext-0.1.0.tar.gz").mkdir()


def renamed(new_name: str, *, tag: str = "py3-none-any") -> Callable[[Sandbox, Path], None]:
    """A valid wheel (METADATA agrees with the name up to normalisation) under a name the
    release gate would refuse later: it must be refused before anything is staged."""

    def mutate(_sb: Sandbox, house: Path) -> None:
        wheel = make_wheel(house / "made", tag=tag)
        wheel.rename(house / new_name)
        (house / "made").rmdir()

    mutate.__name__ = new_name
    return mutate


def sdist_renamed(_sb: Sandbox, house: Path) -> None:
    make_sdist(house).rename(house / "FooExt-0.1.0.tar.gz")


for label, rename, expect in (
    ("linux-tag", renamed("fooext-0.1.0-cp311-cp311-linux_x86_64.whl"), "linux_x86_64"),
    ("linux-tag-in-a-set", renamed("fooext-0.1.0-py3-none-linux_aarch64.any.whl"), "linux_"),
    ("project-case", renamed("FooExt-0.1.0-py3-none-any.whl"), "spelt 'FooExt'"),
    ("project-dash", renamed("foo.ext-0.1.0-py3-none-any.whl"), "spelt 'foo.ext'"),
    ("version-zero-padded", renamed("fooext-0.1.00-py3-none-any.whl"), "spelt '0.1.00'"),
    ("version-v", renamed("fooext-v0.1.0-py3-none-any.whl"), "spelt 'v0.1.0'"),
    ("version-upper-rc", renamed("fooext-0.1.0RC1-py3-none-any.whl"), "spelt '0.1.0RC1'"),
    ("space-in-tag", renamed("fooext-0.1.0-py3-none-any linux.whl"), "a space"),
    ("sdist-case", sdist_renamed, "FooExt"),
):
    case(f"wheelhouse/unreleasable-name/{label}", 7, USAGE, house_with(rename), expect=expect)

for fn in (
    symlink_to_private,
    directory_wheel,
    empty_wheel,
    text_wheel,
    truncated_wheel,
    other_name,
    other_version,
    garbage_version,
    two_metadata,
    no_metadata,
    huge_metadata,
    bad_sdist,
    empty_sdist,
    sdist_dir,
):
    case(f"wheelhouse/{fn.__name__.replace('_', '-')}", 7, USAGE, house_with(fn))
case("wheelhouse/digits-metadata-version", 7, USAGE, house_with(digits_version))
# What the release refuses (build/validate.py) is refused by the job that can rebuild it.
for fn, expect in (
    (record_mismatch, "its sha256 differs from RECORD's"),
    (damaged_member, "CRC check failed"),
    (wheel_tags_disagree, "WHEEL's Tag lines (py3-none-any) are not the file name's"),
):
    case(
        f"wheelhouse/{fn.__name__.replace('_', '-')}",
        7,
        USAGE,
        house_with(fn),
        expect=expect,
    )


# Archives zipfile fails on (tryout 30's fuzzer): OSError, IndexError, LZMAError, 8.4 GB of
# memory for a 4 KiB bzip2 bomb; each refused with its reason, nothing staged.
_FIRST_META = "fooext-0.1.0.dist-info/METADATA"
ZIP_DAMAGE: tuple[tuple[str, Callable[[Path], object], str], ...] = (
    ("offsets-before-start", lambda p: offsets_before_the_start(p, _FIRST_META), "damaged"),
    ("member-named-nothing", member_named_nothing, "a member with an empty name"),
    ("member-twice", lambda p: member_twice(p, _FIRST_META), "in the archive more than once"),
    ("bzip2-garbage", lambda p: garbage_in(p, "fooext/blob.bin", zipfile.ZIP_BZIP2),
     "Invalid data stream"),
    ("lzma-garbage", lambda p: garbage_in(p, "fooext/blob.bin", zipfile.ZIP_LZMA),
     "Corrupt input data"),
    ("bzip2-bomb", lambda p: bomb_in(p, "fooext/blob.bin", zipfile.ZIP_BZIP2),
     "holds more than the 1 bytes"),
    ("lzma-bomb", lambda p: bomb_in(p, "fooext/blob.bin", zipfile.ZIP_LZMA),
     "holds more than the 1 bytes"),
    ("metadata-bomb", lambda p: bomb_in(p, _FIRST_META, zipfile.ZIP_BZIP2),
     "METADATA: it holds more than the 1 bytes"),
)  # fmt: skip
for label, damage, expect in ZIP_DAMAGE:
    case(f"wheelhouse/zip/{label}", 7, USAGE, house_with(_damaged(damage)), expect=expect)


# What PyPI refuses at the release (twine check --strict) is refused by the job that built it.
for label, description, expect in (
    ("rst-not-rendered", "Description-Content-Type: text/x-rst\n\nA `broken\n", "rendered"),
    ("no-content-type", "\nA description.\n", "long_description_content_type"),
):
    case(f"wheelhouse/twine-check/{label}", 7, USAGE, house_with(_described(description)),
         expect=expect)  # fmt: skip


def summary_as(name: str, make: Callable[[Path], object]) -> Callable[[Sandbox, Path], None]:
    """The wheelhouse's summary ``name`` (read by upload for provenance) made by ``make``."""

    def mutate(_sb: Sandbox, house: Path) -> None:
        make(house / name)

    return mutate


def summary_link(sb: Sandbox, house: Path) -> None:
    (house / "build-summary.json").symlink_to(sb.outside / "private.txt")


# A summary is read before anything is sent: one that is not a regular file is named, never
# opened (a FIFO waited for a writer for ever), one that is not JSON is named, never a
# RecursionError (200,000 nested lists).
for label, summary, expect, bound in (
    ("fifo", summary_as("build-summary-x.json", os.mkfifo), "a FIFO", 5.0),
    ("sdist-fifo", summary_as("sdist-summary.json", os.mkfifo), "a FIFO", 5.0),
    ("directory", summary_as("build-summary.json", Path.mkdir), "a directory", 10.0),
    (
        "deep",
        summary_as("build-summary.json", lambda p: p.write_text("[" * 200_000 + "]" * 200_000)),
        "nested too deeply",
        10.0,
    ),
    ("half", summary_as("build-summary.json", lambda p: p.write_text("{half")), "not JSON", 10.0),
    (
        "not-utf8",
        summary_as("build-summary.json", lambda p: p.write_bytes(b'{"a": "\xff"}')),
        "not UTF-8",
        10.0,
    ),
    ("link-to-private", summary_link, "not JSON", 10.0),
):
    case(
        f"wheelhouse/summary-{label}",
        7,
        USAGE,
        house_with(summary),
        bound=bound,
        expect=expect,
        absent="build records (provenance)",  # refused before the upload goes on
    )
case(
    "wheelhouse/summary-of-another-shape-is-skipped",
    7,
    OK,
    house_with(summary_as("build-summary.json", lambda p: p.write_text('{"a": 1}'))),
    owns=("store",),
    expect="not a build summary this tool can read",
)
case(
    "wheelhouse/valid-with-sdist",
    7,
    OK,
    lambda sb: (
        sb.wheels(sdist=True),
        root(
            sb,
            "upload",
            "w",
            "--local-root",
            str(sb.store),
            "--local-folder",
            str(sb.tmp / "house"),
        ),
    )[1],
    owns=("store",),
)


def upload_dry(sb: Sandbox, *extra: str) -> list[str]:
    sb.wheels()
    house = str(sb.tmp / "house")
    return root(sb, "upload", "w", "--local-folder", house, "--dry-run", *extra)


# A dry run writes nothing anywhere: not the container, not the store root (owns nothing).
case(
    "wheelhouse/dry-run-creates-no-container",
    7,
    OK,
    lambda sb: upload_dry(sb, "--local-root", str(sb.store)),
    expect="would upload",
)
case(
    "wheelhouse/dry-run-into-an-existing-container",
    7,
    OK,
    lambda sb: (sb.write("store/w/keep.txt", "x"), upload_dry(sb, "--local-root", str(sb.store)))[
        1
    ],
    expect="would upload",
)
# A missing store, container or folder is named, never read as "nothing there".
case(
    "wheelhouse/local-folder-missing",
    7,
    USAGE,
    lambda sb: root(sb, "upload", "w", "--local-root", str(sb.store), "--local-folder", "nope"),
    expect="is not a directory",
    absent="staging 0 file(s)",  # nothing announced that does not happen
)
case(
    "exit-codes/staged-missing-local-root",
    11,
    STORE,
    lambda sb: root(sb, "staged", "--container", "w", "--local-root", str(sb.tmp / "nope")),
    expect="/nope does not exist: create it first",
)
case(
    "exit-codes/upload-to-a-missing-local-root",
    11,
    STORE,
    lambda sb: (
        sb.wheels(),
        root(
            sb,
            "upload",
            "w",
            "--local-root",
            str(sb.tmp / "typo"),
            "--local-folder",
            str(sb.tmp / "house"),
        ),
    )[1],
    expect="typo does not exist: create it first",
)
case(
    "exit-codes/staged-missing-container",
    11,
    STORE,
    lambda sb: (
        sb.write("store/other/x.txt", "x"),
        root(sb, "staged", "--container", "w", "--local-root", str(sb.store)),
    )[1],
    expect="container 'w' does not exist",
)
case(
    "exit-codes/release-from-a-missing-container",
    11,
    STORE,
    lambda sb: root(
        sb, "release", "0.1.0", "-w", str(sb.dl), "--container", "w", "--local-root", str(sb.store)
    ),
    owns=("dl",),
    expect="container 'w' does not exist",
)


def upload_to_store(sb: Sandbox) -> list[str]:
    sb.wheels()
    return root(
        sb, "upload", "w", "--local-root", str(sb.store), "--local-folder", str(sb.tmp / "house")
    )


case(
    "exit-codes/stray-record-does-not-block-upload",
    11,
    OK,
    lambda sb: (sb.write("store/w/.records/notes.txt.json", "{}"), upload_to_store(sb))[1],
    owns=("store",),
    expect="ignoring .records/notes.txt.json",
)


def linked_in_store(rel: str, build: Build, *, to: str = "cont") -> Build:
    """``store/REL`` a symbolic link to ``outside/TO`` (a file when TO has a suffix, else a
    directory), then ``build``: the local store refuses a link anywhere below --local-root."""

    def linked(sb: Sandbox) -> list[str]:
        argv = build(sb)
        target = sb.outside / to
        if target.suffix:
            sb.write(f"outside/{to}", "keep\n")
        else:
            target.mkdir()
        link = sb.store / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        return argv

    return linked


def staged_w(sb: Sandbox) -> list[str]:
    return root(sb, "staged", "--container", "w", "--local-root", str(sb.store))


def release_w(sb: Sandbox) -> list[str]:
    return root(
        sb, "release", "0.1.0", "-w", str(sb.dl), "--container", "w", "--local-root", str(sb.store)
    )


# The container directory as a link was followed: the whole upload landed outside the root.
for label, build, owns in (
    ("upload", upload_to_store, ()),
    ("dry-run", lambda sb: upload_dry(sb, "--local-root", str(sb.store)), ()),
    ("staged", staged_w, ()),
    ("release", release_w, ("dl",)),
):
    case(
        f"store/container-dir-is-a-symlink/{label}",
        6,
        STORE,
        linked_in_store("w", build),
        owns=owns,
        expect="is a symbolic link",
    )
for label, rel, to in (
    ("pages-dir", "w/simple", "cont"),
    ("object", f"w/{EXPECTED[0]}", "victim.txt"),
):
    case(
        f"store/{label}-is-a-symlink/upload",
        6,
        STORE,
        linked_in_store(rel, upload_to_store, to=to),
        owns=("store",),
        expect="is a symbolic link",
    )


# == 8: secrets ================================================================================

SWIFT_DEAD = ["--provider-name", "swift", "--auth-url", "http://127.0.0.1:9/auth/v1.0"]


def swift_upload(sb: Sandbox, *extra: str) -> list[str]:
    sb.wheels()
    return root(sb, "upload", "w", *SWIFT_DEAD, "--local-folder", str(sb.tmp / "house"), *extra)


for label, secret, code in (
    ("dollar-word-is-a-secret", "$" + CANARY, STORE),
    ("dollar-paren", "$(WHEELHOUSE_UPLOADER_SECRET)", CREDENTIALS),
    ("dollar-brace", "${WHEELHOUSE_UPLOADER_SECRET}", CREDENTIALS),
    ("github-expression", "${{ secrets.UPLOAD }}", CREDENTIALS),
    ("empty", "", CREDENTIALS),
):
    case(
        f"secrets/{label}",
        8,
        code,
        swift_upload,
        bound=30,
        env={"WHEELHOUSE_UPLOADER_SECRET": secret, "WHEELHOUSE_UPLOADER_USERNAME": "u"},
        absent="$" + CANARY if "dollar-word" in label else None,
    )
case(
    "secrets/cli-secret-not-printed",
    8,
    STORE,
    lambda sb: swift_upload(sb, "--secret", CANARY, "--username", "u"),
    bound=30,
)
case(
    "secrets/s3-secret-not-printed",
    8,
    STORE,
    lambda sb: (
        sb.wheels(),
        root(
            sb,
            "upload",
            "w",
            "--provider-name",
            "s3",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--local-folder",
            str(sb.tmp / "house"),
        ),
    )[1],
    env={"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": CANARY},
    bound=60,
)
case(
    "secrets/debug-traceback-redacted",
    8,
    STORE,
    lambda sb: ["--debug-traceback", *swift_upload(sb)],
    bound=30,
    env={"WHEELHOUSE_UPLOADER_SECRET": CANARY, "WHEELHOUSE_UPLOADER_USERNAME": "u"},
    expect="Traceback",
)
for label, line in (
    ("double-equals", f"WHEELHOUSE_UPLOADER_SECRET=={CANARY}"),
    ("unbalanced-quote", f'WHEELHOUSE_UPLOADER_SECRET="{CANARY}'),
    ("plain", f"AWS_SECRET_ACCESS_KEY={CANARY}"),
):
    case(
        f"secrets/lint-{label}",
        8,
        LINT,
        travis(f"env:\n  global:\n    - BUILD_COMMIT=v1\n    - {line}\n", "lint"),
        env={"WHEELHOUSE_UPLOADER_SECRET": "", "TWINE_PASSWORD": ""},
    )
case(
    "secrets/pypirc-password-malformed",
    8,
    CONFIG,
    lambda sb: (
        sb.write("home/.pypirc", f"[distutils]\nindex-servers = x\n[x\npassword = {CANARY}\n"),
        root(
            sb,
            "release",
            "0.1.0",
            "-u",
            sb.listing(),
            "-w",
            str(sb.dl),
            "--config-file",
            str(sb.home / ".pypirc"),
            "-r",
            "x",
        ),
    )[1],
    env={"TWINE_PASSWORD": ""},
    owns=("dl",),  # the report of the failure
)


# == 9: the network ============================================================================


def release(
    *extra: str, listing: Callable[[Sandbox], str] | None = None, dry: bool = True
) -> Build:
    def build(sb: Sandbox) -> list[str]:
        url = listing(sb) if listing else sb.listing()
        return root(
            sb,
            "release",
            "0.1.0",
            "-u",
            url,
            "-w",
            str(sb.dl),
            "--timeout",
            "2",
            "--allow-unverified-provenance",  # the sandbox's sets carry no build records
            *(["-n"] if dry else []),
            *extra,
        )

    return build


def page(
    behaviour: str, body: bytes = b"<a>x</a>" * 10, ctype: str = "text/html", status: int = 200
) -> Callable[[Sandbox], str]:
    route = Route(behaviour=behaviour, body=body, content_type=ctype, status=status)  # type: ignore[arg-type]
    return lambda sb: sb.url("/page", route)


for behaviour in (
    "stall",
    "stall-headers",
    "drip-headers",
    "drip",
    "stall-body",
    "short",
    "reset",
    "endless",
    "error500",
):
    case(
        f"network/listing-{behaviour}",
        9,
        STORE,
        release(listing=page(behaviour)),
        bound=6,
        owns=("dl",),
    )
case(
    "network/listing-404",
    9,
    STORE,
    release(listing=page("status", status=404)),
    bound=6,
    owns=("dl",),  # the report of the failure
)
# 401/403 are credentials (16), with advice about the URL read, never about the store's secrets
for status in (401, 403):
    case(
        f"network/listing-{status}",
        11,
        AUTH,
        release(listing=page("status", status=status)),
        bound=6,
        owns=("dl",),  # the report of the failure
        expect="URLs are read anonymously",
        absent="WHEELHOUSE_UPLOADER",
    )
    case(
        f"network/download-{status}",
        11,
        AUTH,
        release(listing=lambda sb, s=status: sb.listing(download="status", status=s)),  # type: ignore[misc]
        owns=("dl",),
        bound=6,
        expect="refused an anonymous read",
    )


def index_unreadable(sb: Sandbox) -> list[str]:
    argv = release(dry=False)(sb)
    simple = sb.url("/broken-simple/", Route(behaviour="error500"))
    sb.url("/broken-simple/fooext/", Route(behaviour="error500"))
    return [*argv, "--repository-url", sb.url("/up/", Route(behaviour="stall")), "--index-url",
            simple, "--dry-run"]  # fmt: skip


case(
    "network/index-simple-page-500",
    11,
    STORE,
    index_unreadable,
    owns=("dl",),
    bound=30,
    expect="The index's simple pages",  # the index's advice, not the store's
    absent="--local-root",
)


def index_refuses_reads(sb: Sandbox) -> list[str]:
    argv = release(dry=False)(sb)
    simple = sb.url("/private-simple/", Route(behaviour="status", status=403))
    sb.url("/private-simple/fooext/", Route(behaviour="status", status=403))
    return [
        *argv,
        "--repository-url",
        sb.url("/up/", Route(behaviour="stall")),
        "--index-url",
        simple,
        "--dry-run",
    ]


case(
    "network/index-simple-page-403",
    11,
    AUTH,
    index_refuses_reads,
    owns=("dl",),
    bound=10,
    expect="The index's simple pages",
    absent="WHEELHOUSE_UPLOADER",
)
case(
    "network/listing-redirect-without-location",
    9,
    STORE,
    release(listing=page("status", status=302)),
    bound=6,
)
case(
    "network/listing-closed-port",
    9,
    STORE,
    release(listing=lambda _sb: "http://127.0.0.1:9/listing/"),
    bound=6,
)
case(
    "network/listing-ftp-url",
    9,
    STORE,
    release(listing=lambda _sb: "ftp://127.0.0.1:9/x/"),
    owns=("dl",),  # the report of the failure
)
for label, body, ctype in (
    ("deep-json", b"[" * 100000 + b"]" * 100000, "application/json"),
    ("binary-json", b"\xff\xfe\x00garbage", "application/json"),
    ("json-list-of-ints", b"[1, 2, 3]", "application/json"),
    ("metadata-json-wrong-types", b'{"fooext-0.1.0-py3-none-any.whl": 5}', "application/json"),
    ("pep691-wrong-types", b'{"meta": 1, "files": 5}', "application/vnd.pypi.simple.v1+json"),
    ("plain-binary", b"\xff\xfe\xfd", "text/plain"),
):
    case(f"network/listing-{label}", 9, STORE, release(listing=page("ok", body, ctype)))


def links(href: str) -> Callable[[Sandbox], str]:
    return lambda sb: sb.listing(href=href)


for label, href in (
    ("file", "file:///tmp/{name}"),
    ("file-private", "file://{outside}/{name}"),
    ("ftp", "ftp://127.0.0.1:9/{name}"),
    ("data", "data:text/plain;base64,QUFB/{name}"),
):
    case(
        f"network/link-{label}-refused",
        9,
        STORE,
        lambda sb, h=href: release(listing=links(h.replace("{outside}", str(sb.outside))))(sb),
        expect="refused",
    )


def metadata_with_file_link(sb: Sandbox) -> str:
    data = {name: {"sha256": "0" * 64, "size": 1} for name in EXPECTED}
    base = sb.url(
        "/meta/metadata.json",
        Route(body=json.dumps(data).encode(), content_type="application/json"),
    )
    return base.replace("http://", "file://").rsplit("/", 1)[0] + "/metadata.json"


case("network/local-listing-of-absent-file", 9, STORE, release(listing=metadata_with_file_link))
case(
    "network/listing-digits-version-name",
    9,
    GATE,
    release(listing=links(f"fooext-{'1' * 5000}-py3-none-any.whl")),
    absent="1" * 200,
)
case(
    "network/listing-url-fragment-token",
    9,
    STORE,
    release(listing=lambda sb: sb.listing(page="error500") + "#token=" + CANARY),
    absent=CANARY,
)
for behaviour in ("stall-body", "drip", "reset", "short", "endless", "error500", "stall"):
    case(
        f"network/download-{behaviour}",
        9,
        STORE,
        release(listing=lambda sb, b=behaviour: sb.listing(download=b)),  # type: ignore[misc]
        bound=8,
        owns=("dl",),
    )
case(
    "network/download-404",
    9,
    STORE,
    release(listing=lambda sb: sb.listing(download="status", status=404)),
    owns=("dl",),
)
case(
    "network/upper-case-sha256",
    9,
    OK,
    release(listing=lambda sb: sb.listing(hashes="upper")),
    owns=("dl",),
    bound=20,
)
case(
    "network/wrong-sha256",
    9,
    GATE,
    release(listing=lambda sb: sb.listing(hashes="wrong")),
    owns=("dl",),
    absent="--allow-incomplete",
)
case(
    "network/no-sha256",
    9,
    GATE,
    release(listing=lambda sb: sb.listing(hashes="none")),
    owns=("dl",),
)
case(
    "network/10000-extra-links",
    9,
    OK,
    release(listing=lambda sb: sb.listing(extra_links=10000)),
    owns=("dl",),
    bound=30,
)


def duplicate_tags(sb: Sandbox) -> str:
    """The expected set plus three wheels with build tags, all claiming py3-none-any."""
    files = sb.wheels(sdist=True)
    for i in range(1, 4):
        wheel = make_wheel(sb.tmp / "dup", tag="py3-none-any", version="0.1.0")
        files.append(wheel.replace(wheel.with_name(f"fooext-0.1.0-{i}-py3-none-any.whl")))
    return sb.listing(files=files)


case(
    "network/duplicate-tags",
    9,
    GATE,
    release(listing=duplicate_tags),
    owns=("dl",),  # the report of the refusal
    expect="duplicate tags",
    absent="--allow-incomplete releases",
)


def staged_bad(mutate: Callable[[Path], None]) -> Callable[[Sandbox], str]:
    def listing(sb: Sandbox) -> str:
        files = sb.wheels(sdist=True)
        mutate(files[0])
        return sb.listing(files=files)

    return listing


def liar(path: Path) -> None:
    lie = make_wheel(path.parent.parent / "lie", version="0.1.0", metadata_version="0.2.0")
    path.write_bytes(lie.read_bytes())


for label, mutate, message in (
    ("empty", lambda p: p.write_bytes(b""), "is not a valid wheel: not a zip archive"),
    ("not-a-zip", lambda p: p.write_bytes(b"<html>error page</html>"), "(an HTML page?)"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[:200]), "not a zip archive"),
    ("mislabelled", liar, "METADATA says fooext 0.2.0"),
):
    case(
        f"network/staged-{label}-wheel",
        7,
        GATE,
        release(listing=staged_bad(mutate)),
        owns=("dl",),
        expect=message,
    )


def _made_again_damaged(damage: Callable[[Path], object]) -> Callable[[Path], None]:
    """The staged wheel's bytes replaced by a wheel of its tag with 8 MiB in blob.bin, damaged:
    the release reads it as it arrives (validate.MemberScan) and refuses it as upload does."""

    def mutate(path: Path) -> None:
        tag = path.name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
        made = make_wheel(path.parent.parent / "damaged", tag=tag, size=8 << 20)
        damage(made)
        path.write_bytes(made.read_bytes())

    return mutate


for label, damage, expect in ZIP_DAMAGE:
    case(
        f"network/staged-zip/{label}",
        7,
        GATE,
        release(listing=staged_bad(_made_again_damaged(damage))),
        owns=("dl",),
        expect=expect,
    )


def stalled_index(sb: Sandbox) -> list[str]:
    url = sb.listing()
    index = sb.url("/index/", Route(behaviour="stall"))
    simple = sb.url("/simple/", Route(behaviour="status", status=404))
    return root(
        sb,
        "release",
        "0.1.0",
        "-u",
        url,
        "-w",
        str(sb.dl),
        "--timeout",
        "3",
        "--allow-unverified-provenance",
        "--repository-url",
        index,
        "--index-url",
        simple,
    )


case(
    "network/index-accepts-and-never-answers",
    9,
    INDEX,
    stalled_index,
    owns=("dl",),
    bound=25,
    env={"TWINE_USERNAME": "u"},
)


def stalled_simple_index(sb: Sandbox) -> list[str]:
    url = sb.listing()
    sb.url("/simple2/fooext/", Route(behaviour="stall"))
    return root(
        sb,
        "release",
        "0.1.0",
        "-u",
        url,
        "-w",
        str(sb.dl),
        "--timeout",
        "2",
        "--allow-unverified-provenance",
        "--repository-url",
        sb.url("/up/", Route(behaviour="stall")),
        "--index-url",
        sb.url("/simple2/", Route(behaviour="stall")),
        "--dry-run",
    )


case("network/simple-index-stalls", 9, STORE, stalled_simple_index, owns=("dl",), bound=20)


# == 8 (continued): credentials written into URLs and headers ==================================
# Not in any variable the tool knows (the canary is): only the URL/header rules can hide it.

URL_SECRET = "urlsecret-" + uuid.uuid4().hex[:8]


def with_credentials(url: str, how: str) -> str:
    """``url`` carrying URL_SECRET as ``how`` says: userinfo, a token parameter, a header-like
    parameter, a signature."""
    scheme, _, rest = url.partition("://")
    match how:
        case "userinfo":
            return f"{scheme}://user:{URL_SECRET}@{rest}"
        case "token-userinfo":
            return f"{scheme}://{URL_SECRET}-0123456789@{rest}"
        case "token":
            return f"{url}?page=1&token={URL_SECRET}"
        case "x-auth-token":
            return f"{url}?X-Auth-Token={URL_SECRET}"
        case "signature":
            return f"{url}?X-Amz-Credential=AK&X-Amz-Signature={URL_SECRET}"
    raise AssertionError(how)


def listed(how: str) -> Callable[[Sandbox], str]:
    return lambda sb: with_credentials(sb.listing(), how)


def gone(how: str) -> Callable[[Sandbox], str]:
    return lambda sb: with_credentials(sb.url("/gone/", Route(behaviour="status", status=404)), how)


HOWS = ("userinfo", "token-userinfo", "token", "x-auth-token", "signature")
for how in HOWS:
    # printed on success (the listing read), with -n
    case(
        f"url-credentials/listing-ok/{how}",
        8,
        OK,
        release(listing=listed(how)),
        owns=("dl",),
        absent=URL_SECRET,
        expect="****",
    )
    # printed in the error (a listing that is not there)
    case(
        f"url-credentials/listing-404/{how}",
        8,
        STORE,
        release(listing=gone(how)),
        owns=("dl",),  # the report of the failure, redacted (checked for every case)
        absent=URL_SECRET,
        expect="****",
    )
    # the store URLs: refused connections name them
    case(
        f"url-credentials/swift-auth-url/{how}",
        8,
        STORE,
        lambda sb, how=how: swift_upload(sb, "--auth-url", with_credentials(SWIFT_DEAD[-1], how)),
        bound=30,
        env={"WHEELHOUSE_UPLOADER_SECRET": "key", "WHEELHOUSE_UPLOADER_USERNAME": "u"},
        absent=URL_SECRET,
    )
    # the usage error quotes the command line
    case(
        f"url-credentials/usage-error/{how}",
        8,
        USAGE,
        lambda sb, how=how: root(sb, "lint", with_credentials("http://127.0.0.1:9/x", how)),
        absent=URL_SECRET,
        expect="****",
    )


def index_with_credentials(sb: Sandbox) -> list[str]:
    """twine's command line (echoed by call()) and its failure carry the upload URL."""
    index = with_credentials(sb.url("/up/", Route(behaviour="error500")), "userinfo")
    return root(
        sb,
        "release",
        "0.1.0",
        "-u",
        sb.listing(),
        "-w",
        str(sb.dl),
        "--timeout",
        "10",
        "--allow-unverified-provenance",
        "--repository-url",
        index,
        "--index-url",
        sb.url("/simple/", Route(behaviour="status", status=404)),
    )


case(
    "url-credentials/twine-upload-url",
    8,
    INDEX,
    index_with_credentials,
    owns=("dl",),
    bound=40,
    env={"TWINE_USERNAME": "u"},
    absent=URL_SECRET,
)


def clone_with_credentials(sb: Sandbox) -> list[str]:
    """call() echoes ``git clone REPO_URL``, and its failure quotes the command again."""
    url = with_credentials("http://127.0.0.1:9/fooext.git", "userinfo")
    sb.write("repo/pyproject.toml", PYPROJECT + f'repo-url = "{url}"\n')
    sb.write("repo/config.sh", "function run_tests { true; }\n")
    return root(sb, "build", "--backend", "host", "--source", "git", "--no-test")


case(
    "url-credentials/call-echo",
    8,
    SOURCE,
    clone_with_credentials,
    owns=("repo/fooext", "repo/wheelhouse", "home/.cache"),
    absent=URL_SECRET,
    expect="+ git clone --no-checkout http://user:****@127.0.0.1:9/fooext.git",
)
case(
    "url-credentials/debug-traceback",
    8,
    STORE,
    lambda sb: [
        "--debug-traceback",
        *release(listing=gone("userinfo"))(sb),
    ],
    owns=("dl",),  # the report of the failure
    absent=URL_SECRET,
    expect="Traceback",
)


# == 11: exit codes ============================================================================

case(
    "exit-codes/pypirc-missing",
    11,
    CONFIG,
    release("--config-file", "/nonexistent/pypirc", "-r", "x", dry=False),
    owns=("dl",),  # the report of the failure
)
case(
    "exit-codes/pypirc-malformed",
    11,
    CONFIG,
    lambda sb: (
        sb.write("home/.pypirc", "[distutils\nindex-servers = x\n"),
        release("--config-file", str(sb.home / ".pypirc"), "-r", "x", dry=False)(sb),
    )[1],
    owns=("dl",),  # the report of the failure
    expect="twine's format",  # the pypirc's advice, not the CI files' (`lint`)
)
case(
    "exit-codes/pypirc-section-missing",
    11,
    CONFIG,
    lambda sb: (
        sb.write("home/.pypirc", "[distutils]\nindex-servers = a\n"),
        release("--config-file", str(sb.home / ".pypirc"), "-r", "b", dry=False)(sb),
    )[1],
    owns=("dl",),  # the report of the failure
)
case(
    "exit-codes/report-is-a-directory",
    11,
    USAGE,
    lambda sb: (sb.dl.mkdir(), release("--report", str(sb.dl))(sb))[1],
)
case(
    "exit-codes/report-under-a-file",
    11,
    USAGE,
    lambda sb: release("--report", str(sb.outside / "private.txt" / "r.json"))(sb),
)
case(
    "exit-codes/incomplete-set-hints-the-flag",
    11,
    GATE,
    release(listing=lambda sb: sb.listing(files=sb.wheels(sdist=True)[:2])),
    owns=("dl",),  # the report of the refusal
    expect="--allow-incomplete",
)
case(
    "exit-codes/incomplete-set-allowed",
    11,
    OK,
    release("--allow-incomplete", listing=lambda sb: sb.listing(files=sb.wheels()[:2])),
    owns=("dl",),
    bound=20,
)
case(
    "exit-codes/stale-local-file",
    11,
    GATE,
    lambda sb: (sb.write("dl/" + EXPECTED[0], b"stale"), release()(sb))[1],
    owns=("dl/release-fooext-0.1.0.json",),  # the report; the stale file stays as it was
    expect="--clobber",
)
case(
    "exit-codes/local-file-is-a-symlink",
    11,
    GATE,
    lambda sb: (
        sb.dl.mkdir(),
        (sb.dl / EXPECTED[0]).symlink_to(sb.outside / "private.txt"),
        release()(sb),
    )[2],
    owns=("dl/release-fooext-0.1.0.json",),  # the report; the link stays as it was
)
case(
    "exit-codes/no-listing",
    11,
    USAGE,
    lambda sb: root(sb, "release", "0.1.0", "-n"),
    owns=("home/wheelhouse",),  # the report of the failure, in the default -w
)


def wheel_dir_under_a_file(sb: Sandbox) -> list[str]:
    argv = release("--report", str(sb.tmp / "report.json"))(sb)
    argv[argv.index("-w") + 1] = str(sb.outside / "private.txt" / "dl")
    return argv


case("exit-codes/wheel-dir-under-a-file", 11, USAGE, wheel_dir_under_a_file, owns=("report.json",))
case("exit-codes/valid-dry-release", 11, OK, release(), owns=("dl",), bound=20)
case(
    "exit-codes/release-counts-wheels-and-sdists",
    11,
    OK,
    release(),
    owns=("dl",),
    bound=20,
    expect="5 wheels and 1 sdist found, 5 wheels and 1 sdist expected",
)

# == 3 (continued): closed-choice settings of the store ==========================================

case(
    "values/env-NUMPY_WHEELS_STORE-ftp/upload",
    3,
    CONFIG,
    upload_to_store,
    env={"NUMPY_WHEELS_STORE": "ftp"},
    expect="NUMPY_WHEELS_STORE='ftp' is not one of local, swift, cloudfiles, s3",
)
case(
    "values/env-ST_AUTH_VERSION-4/upload",
    3,
    CONFIG,
    swift_upload,
    env={"ST_AUTH_VERSION": "v4", "WHEELHOUSE_UPLOADER_USERNAME": "u"},
    expect="ST_AUTH_VERSION='v4' is not one of",
)
case(
    "values/setup-cfg-provider-typo/upload",
    3,
    CONFIG,
    lambda sb: (
        sb.write("repo/setup.cfg", "[staging]\nprovider-name = swfit\n"),
        upload_to_store(sb),
    )[1],
    expect="provider-name = 'swfit' is not one of",
)

# == 3, 9 (continued): Cloud Files identity that misbehaves, store URLs that are not URLs =======

RAX_USER = {"WHEELHOUSE_UPLOADER_USERNAME": "u"}
#: A v2.0 token whose catalogue has no Cloud Files: an account without the service.
NO_CLOUD_FILES = json.dumps(
    {
        "access": {
            "token": {"id": "t", "expires": "2099-01-01T00:00:00Z", "tenant": {"id": "1"}},
            "serviceCatalog": [
                {
                    "type": "compute",
                    "name": "cloudServersOpenStack",
                    "endpoints": [{"region": "ORD", "publicURL": "http://127.0.0.1:9/v2/1"}],
                }
            ],
            "user": {"id": "1", "name": "u"},
        }
    }
).encode()


def cloudfiles_upload(sb: Sandbox, identity: str, *extra: str) -> list[str]:
    sb.wheels()
    return root(
        sb,
        "upload",
        "w",
        "--provider-name",
        "cloudfiles",
        "--auth-url",
        identity,
        "--local-folder",
        str(sb.tmp / "house"),
        *extra,
    )


def identity_answering(route: Route, *extra: str) -> Build:
    """Rackspace identity v2.0 played by the bad server: POST …/v2.0/tokens gets ``route``."""

    def build(sb: Sandbox) -> list[str]:
        tokens = sb.url("/identity/v2.0/tokens", route)
        return cloudfiles_upload(sb, tokens.removesuffix("tokens"), *extra)

    return build


case(
    "network/cloudfiles-identity-never-answers",
    9,
    STORE,
    identity_answering(Route(behaviour="stall"), "--timeout", "2"),
    bound=15,
    env=RAX_USER,
    expect="sent no complete answer within 2 s (--timeout)",
)
case(
    "network/cloudfiles-identity-answers-html",
    9,
    STORE,
    identity_answering(Route(body=b"<html><body>Sign in</body></html>")),
    env=RAX_USER,
    expect="did not answer with a token: HTTP 200, text/html, beginning '<html><body>Sign in",
)
case(
    "network/cloudfiles-catalogue-without-cloud-files",
    9,
    STORE,
    identity_answering(Route(body=NO_CLOUD_FILES, content_type="application/json")),
    env=RAX_USER,
    expect="has no Cloud Files (object-store) endpoint in any region",
)


def identity_redirecting(sb: Sandbox) -> list[str]:
    """Rackspace identity answering 307 to another server that would take the API key."""
    elsewhere = sb.url("/elsewhere/v2.0/tokens", Route(behaviour="stall"))
    tokens = sb.url(
        "/identity/v2.0/tokens", Route(behaviour="redirect", status=307, location=elsewhere)
    )
    return cloudfiles_upload(sb, tokens.removesuffix("tokens"), "--timeout", "3")


case(
    "secrets/cloudfiles-identity-redirect-not-followed",
    8,
    STORE,
    identity_redirecting,
    bound=15,
    env=RAX_USER,
    expect="not followed: the API key would be sent there",
)
case(
    "network/cloudfiles-identity-drips-its-answer",
    9,
    STORE,
    identity_answering(
        Route(behaviour="drip", body=NO_CLOUD_FILES, content_type="application/json"),
        "--timeout",
        "3",
    ),
    bound=15,
    env=RAX_USER,
    expect="sent no complete answer within 3 s (--timeout)",
)
case(
    "secrets/blank-secret-is-missing",
    8,
    CREDENTIALS,
    lambda sb: cloudfiles_upload(sb, "https://identity.example/v2.0/"),
    env={**RAX_USER, "WHEELHOUSE_UPLOADER_SECRET": "   "},
    expect="no secret for the cloudfiles store",
)
case(
    "values/container-with-blanks",
    3,
    USAGE,
    lambda sb: (
        sb.wheels(),
        root(
            sb,
            "upload",
            " wheels",
            "--local-root",
            str(sb.store),
            "--local-folder",
            str(sb.tmp / "house"),
        ),
    )[1],
    expect="no leading or trailing blanks",
)
case(
    "values/auth-url-port-out-of-range",
    3,
    USAGE,
    lambda sb: cloudfiles_upload(sb, "http://127.0.0.1:99999/v2.0/"),
    env=RAX_USER,
    expect="--auth-url = 'http://127.0.0.1:99999/v2.0/' is not a URL",
)
case(
    "values/cloudfiles-auth-url-ftp",
    3,
    USAGE,
    lambda sb: cloudfiles_upload(sb, "ftp://identity.example/v2.0/"),
    env=RAX_USER,
    expect="--auth-url = 'ftp://identity.example/v2.0/' is not a URL of the form http:// or",
)
case(
    "values/env-OS_STORAGE_URL-no-scheme/upload",
    3,
    CONFIG,
    swift_upload,
    env={**RAX_USER, "OS_STORAGE_URL": "swift.example/v1/AUTH_x"},
    expect="OS_STORAGE_URL = 'swift.example/v1/AUTH_x' is not a URL",
)
case(
    "values/setup-cfg-endpoint-url-not-a-url/upload",
    3,
    CONFIG,
    lambda sb: (
        sb.write("repo/setup.cfg", "[staging]\nprovider-name = s3\nendpoint-url = s3:bucket\n"),
        upload_to_store(sb),
    )[1],
    env={"AWS_ACCESS_KEY_ID": "k"},
    expect="setup.cfg [staging] endpoint-url = 's3:bucket' is not a URL",
)
case(
    "values/upload-timeout-zero",
    3,
    USAGE,
    lambda sb: swift_upload(sb, "--timeout", "0"),
    env=RAX_USER,
    expect="must be more than 0",
)


# == 9, 11 (continued): verify's inputs ===========================================================

case(
    "verify/missing-wheel",
    11,
    USAGE,
    lambda sb: root(sb, "verify", str(sb.tmp / "nope-0.1.0-py3-none-any.whl")),
    expect="nope-0.1.0-py3-none-any.whl does not exist",
)
case(
    "verify/wheel-is-a-directory",
    11,
    USAGE,
    lambda sb: (sb.dl.mkdir(), root(sb, "verify", str(sb.dl)))[1],
    expect="is a directory, not a wheel file",
)
case(
    "verify/not-named-whl",
    11,
    USAGE,
    lambda sb: root(sb, "verify", str(sb.outside / "private.txt")),
    expect="does not end in .whl",
)
for behaviour in ("stall", "drip", "error500"):
    case(
        f"verify/url-{behaviour}",
        9,
        STORE,
        lambda sb, b=behaviour: root(
            sb,
            "verify",
            sb.url(f"/v/{b}/fooext-0.1.0-py3-none-any.whl", Route(behaviour=b, body=b"x" * 999)),
            "--timeout",
            "2",
        ),
        bound=6,
        expect="--timeout sets the deadline",
        absent="BUILD_COMMIT",  # the hint of a source error, wrong here
    )

# == 12: what input says is shown, never acted on by the terminal ===============================
# A name, a value or a server's reason phrase that carries escape sequences (set the window
# title, clear the screen), an 8-bit CSI or a bidirectional override must reach the terminal
# as visible text. test_hostile.py checks every case's output for them; these put them in
# each place a command shows text it was given.

#: Set the title, clear the screen, an 8-bit CSI, a right-to-left override.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def status_page(status: int, reason: str) -> Callable[[Sandbox], str]:
    return lambda sb: sb.url("/page", Route(behaviour="status", status=status, reason=reason))


def escaped_release_files(sb: Sandbox) -> str:
    """A listing whose links name files with escape sequences (percent-encoded, as a link
    names any byte)."""
    return sb.listing(href=sb.prefix + "/x/{name}%1B%5B2J%C2%9B31m%E2%80%AE")


def escaped_house(_sb: Sandbox, house: Path) -> None:
    (house / f"fooext-0.1.0-py3-none-any{ESCAPES}.whl").write_bytes(b"")
    (house / f"{ESCAPES}fooext-0.1.0-py3-none-any.whl").write_bytes(b"")


def escaped_metadata(path: Path) -> None:
    lie = make_wheel(path.parent.parent / "lie", version="0.1.0", metadata_version=ESCAPES)
    path.write_bytes(lie.read_bytes())


for label, build, code in (
    ("listing-reason", release(listing=status_page(404, ESCAPES)), STORE),
    (
        "download-reason",
        release(listing=lambda sb: sb.listing(download="status", status=404, reason=ESCAPES)),
        STORE,
    ),
    ("listing-names", release(listing=escaped_release_files), GATE),
    ("staged-metadata-version", release(listing=staged_bad(escaped_metadata)), GATE),
    ("wheelhouse-names", house_with(escaped_house), USAGE),
    (
        "ci-value",
        with_file(".travis.yml", TRAVIS.replace("v2.4.6", "v2.4.6" + ESCAPES), "lint"),
        CONFIG,
    ),
    (
        "project-name",
        with_file("pyproject.toml", PYPROJECT.replace("fooext", ESCAPES), "matrix"),
        CONFIG,
    ),
    ("bump-ref", lambda sb: root(sb, "bump", "v2.4.6" + ESCAPES), USAGE),
    ("matrix-wheels", lambda sb: root(sb, "matrix", "--wheels", ESCAPES), USAGE),
    ("option-value", lambda sb: root(sb, "matrix", "--format", ESCAPES), USAGE),
):
    case(f"terminal/{label}", 12, code, build, owns=("dl",))


def index_answering(reason: str) -> Build:
    """A release to an index that refuses each upload with 400 and ``reason`` (twine prints
    it)."""

    def build(sb: Sandbox) -> list[str]:
        index = sb.url("/index/", Route(behaviour="status", status=400, reason=reason))
        simple = sb.url("/simple/", Route(behaviour="status", status=404))
        return release("--repository-url", index, "--index-url", simple, dry=False)(sb)

    return build


case(
    "terminal/index-reason",  # through twine's output, which the tool relays
    12,
    INDEX,
    index_answering(ESCAPES),
    owns=("dl",),
    bound=30,
    env={"TWINE_USERNAME": "u"},
)
case(
    "terminal/listing-line-break-in-a-name",  # a name would forge a line of the output
    12,
    GATE,
    release(listing=lambda sb: sb.listing(href=sb.prefix + "/x/{name}%0Arelease%20verified.whl")),
    absent="release verified",
)
for label, path, expect in (
    # sent percent-encoded (the server answers: the request line was valid)
    ("path", "/caf\u00e9/", "HTTP 404"),
    ("control-in-path", "/a\x1b[2Jb c/", "HTTP 404"),
    ("host", "", "is not a plain ASCII name"),
):
    case(
        f"network/url-non-ascii-{label}",
        9,
        STORE,
        lambda sb, p=path: root(
            sb,
            "release",
            "0.1.0",
            "-u",
            f"{sb.server.url}{sb.prefix}{p}" if p else "http://ex\u00e4mple.invalid/",
            "-w",
            str(sb.dl),
            "--timeout",
            "2",
            "-n",
        ),
        expect=expect,
    )

case(
    "network/links-named-nothing-releasable",
    9,
    GATE,
    release(listing=escaped_release_files),
    expect="the listing names no wheel or sdist files, so none of fooext 0.1.0",
)
case(
    "network/links-of-other-versions",
    9,
    GATE,
    release(listing=lambda sb: sb.listing(files=[make_wheel(sb.tmp / "old", version="0.0.9")])),
    expect="none of the 1 files in the listing is of fooext 0.1.0 (all): "
    "fooext-0.0.9-py3-none-any.whl",
)
case(
    "network/presigned-links",  # the query is sent, never shown (its signature is a credential)
    9,
    OK,
    release(listing=lambda sb: sb.listing(href_query="?X-Amz-Signature=" + CANARY)),
    owns=("dl",),
)

IDS = [c.id for c in CASES]
assert len(IDS) == len(set(IDS)), [i for i in IDS if IDS.count(i) > 1]
