"""A multibuild-era wheels repository exactly as one looked: CI files, config.sh calling
multibuild's helpers, the project as a tagged git checkout in REPO_DIR; no pyproject.toml in
the wheels repository, no environment variables. ``mbext`` is a small C extension using no
BLAS (so no OpenBLAS may be asked for)."""

from __future__ import annotations

from pathlib import Path

from tests.wheels_repo import git

TRAVIS = """\
language: python
env:
  global:
    - REPO_DIR=fooext
    - BUILD_COMMIT=v0.1.0
    - PLAT=x86_64
    - MB_ML_VER=2014
    - UNICODE_WIDTH=32
jobs:
  include:
    - os: linux
      env: MB_PYTHON_VERSION=3.11
    - os: linux
      env: MB_PYTHON_VERSION=3.12
before_install:
  - source multibuild/common_utils.sh
  - source multibuild/travis_steps.sh
  - before_install
install:
  - clean_code $REPO_DIR $BUILD_COMMIT
  - build_wheel $REPO_DIR $PLAT
script:
  - install_run $PLAT
"""

APPVEYOR = """\
environment:
  global:
    REPO_DIR: fooext
    BUILD_COMMIT: v0.1.0
  matrix:
    - PYTHON_VERSION: "3.11"
      MB_PYTHON_VERSION: "3.11"
      PLAT: x86_64
    - PYTHON_VERSION: "3.12"
      MB_PYTHON_VERSION: "3.12"
      PLAT: x86_64
"""

CONFIG_SH = """\
# Define custom utilities
# Test for macOS with [ -n "$IS_MACOS" ]
source ci/test_utils.sh

function pre_build {
    # Any stuff that you need to do before you start building the wheels
    # Runs in the root directory of this repository.
    activate_ccache
    echo "pre_build: REPO_DIR=$(relpath "$(abspath "$REPO_DIR")" "$PWD") at $BUILD_COMMIT"
    echo "pre_build: lex_ver 3.11.2 = $(lex_ver 3.11.2)"
    echo "pre_build: BLAS_BACKEND=${BLAS_BACKEND-unset}"
}

function build_wheel {
    # Override multibuild's build_wheel: the same pip wheel build, plus a marker.
    echo "build_wheel override for $1 on $2"
    build_pip_wheel "$@"
}

function run_tests {
    # Runs tests on installed distribution from an empty directory
    python --version
    echo "run_tests: python $(get_py_mm) in $(basename "$PWD")"
    python -c 'import fooext, sys; print("triple(14) =", fooext.triple(14))
sys.exit(fooext.triple(14) != 42)'
    check_triple
}
"""

#: A helper config.sh sources by a relative path, as numpy-wheels' sources
#: gfortran-install/gfortran_utils.sh: multibuild sourced config.sh from the repository root.
TEST_UTILS_SH = """\
function check_triple {
    echo "check_triple (ci/test_utils.sh): $(python -c 'import fooext; print(fooext.triple(5))')"
}
"""

EXT_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *triple(PyObject *self, PyObject *arg) {
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(3 * v);
}

static PyMethodDef methods[] = {{"triple", triple, METH_O, "3 * n"}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ext", NULL, -1, methods};
PyMODINIT_FUNC PyInit__ext(void) { return PyModule_Create(&module); }
"""

SETUP_PY = """\
from setuptools import Extension, setup

setup(
    name="fooext",
    version="0.1.0",
    # twine check --strict (the release) wants a description, as any released project has
    long_description="Triples numbers in C.",
    long_description_content_type="text/plain",
    packages=["fooext"],
    ext_modules=[Extension("fooext._ext", ["src/_ext.c"])],
)
"""


def make_project(path: Path) -> str:
    """The C extension as a git repository tagged v0.1.0 (a setup.py project, 2018 style)."""
    (path / "fooext").mkdir(parents=True)
    (path / "src").mkdir()
    (path / "fooext" / "__init__.py").write_text("from ._ext import triple\n")
    (path / "src" / "_ext.c").write_text(EXT_C)
    (path / "setup.py").write_text(SETUP_PY)
    (path / "LICENSE.txt").write_text("Copyright (c) 2026, fooext developers\n")
    (path / ".gitignore").write_text("build/\n*.egg-info/\n")
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "fooext", cwd=path)
    git("tag", "v0.1.0", cwd=path)
    return git("rev-parse", "HEAD", cwd=path)


def make_multibuild_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".travis.yml").write_text(TRAVIS)
    (root / "appveyor.yml").write_text(APPVEYOR)
    (root / "config.sh").write_text(CONFIG_SH)
    (root / "ci").mkdir(exist_ok=True)
    (root / "ci" / "test_utils.sh").write_text(TEST_UTILS_SH)
    make_project(root / "fooext")
    return root
