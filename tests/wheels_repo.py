"""Build a tiny multibuild-style wheels repository: the fixture of the build pipeline tests.

``fooext`` is a local git repository holding a setuptools C extension that calls a BLAS
routine of the pinned scipy-openblas (found through the pkg-config file numpy_wheels writes),
and records at build time the variables that crossed into the build.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

TRAVIS = """\
language: python
env:
  global:
    - REPO_DIR=fooext
    - BUILD_COMMIT={commit}
    - DAILY_COMMIT=main
    - TEST_DEPENDS="{test_depends}"
jobs:
  include:
    - env: MB_PYTHON_VERSION=3.11 PLAT=x86_64
script:
  - python -m numpy_wheels build
"""

APPVEYOR = """\
environment:
  global:
    REPO_DIR: fooext
    BUILD_COMMIT: {commit}
    DAILY_COMMIT: main
  matrix:
    - MB_PYTHON_VERSION: "3.11"
      PLAT: x86_64
build_script:
  - python -m numpy_wheels build
"""

CONFIG_SH = """\
function pre_build {
    echo "pre_build saw FOOEXT_MARK=${FOOEXT_MARK:-unset}"
}

function run_tests {
    for dep in ${TEST_DEPENDS:-}; do python -m pip show -q "$dep"; done
    echo "test depends installed: ${TEST_DEPENDS:-none}"
    python -c 'import fooext, sys; print("dot =", fooext.dot()); sys.exit(fooext.dot() != 32.0)'
    python -c 'import fooext._buildinfo as b; print("build env:", b.BUILD_ENV)'
    echo "run_tests saw FOOEXT_MARK=${FOOEXT_MARK:-unset}"
    [ -z "${FOOEXT_FAIL_TESTS:-}" ]
}
"""

ENV_VARS_SH = """\
export FOOEXT_MARK=from-env-vars
if [ "${NUMPY_WHEELS_MODE:-release}" = "daily" ]; then
    export NPY_RELAXED_STRIDES_DEBUG=1
fi
"""

LICENSE_LINUX = """\
This binary distribution of fooext also bundles the following software:

Name: OpenBLAS
Files: fooext.libs/libscipy_openblas*.so

Name: GCC runtime library
Files: fooext.libs/libgfortran*.so
Files: fooext.libs/libquadmath*.so
"""

SETUP_PY = """\
import os, shlex, subprocess
from setuptools import Extension, setup

def pkg_config(flag):
    return shlex.split(subprocess.check_output(["pkg-config", flag, "scipy-openblas"], text=True))

seen = {k: os.environ.get(k) for k in ("FOOEXT_MARK", "NPY_RELAXED_STRIDES_DEBUG",
                                       "NUMPY_WHEELS_MODE", "BUILD_COMMIT")}
with open(os.path.join("fooext", "_buildinfo.py"), "w") as fh:
    fh.write(f"BUILD_ENV = {seen!r}\\n")
setup(ext_modules=[Extension("fooext._blas", ["src/_blas.c"],
                             extra_compile_args=pkg_config("--cflags"),
                             extra_link_args=pkg_config("--libs") + EXTRA_LINK,
                             define_macros=MACROS, py_limited_api=bool(MACROS))],
      options=OPTIONS)
"""

BLAS_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include "cblas.h"

static PyObject *dot(PyObject *self, PyObject *args) {
    double x[3] = {1, 2, 3}, y[3] = {4, 5, 6};
    /* a libc call: the extension needs libc.so.6 (auditwheel tells an abi3 module's libc
       from its DT_NEEDED; the file name .abi3.so does not say) */
    if (getenv("FOOEXT_TRACE")) fputs("fooext.dot\\n", stderr);
    return PyFloat_FromDouble(scipy_cblas_ddot64_(3, x, 1, y, 1));
}

EXTRA_C
static PyMethodDef methods[] = {{"dot", dot, METH_NOARGS, "1*4 + 2*5 + 3*6"}, EXTRA_METHOD {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_blas", NULL, -1, methods};
PyMODINIT_FUNC PyInit__blas(void) { return PyModule_Create(&module); }
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "fooext"
version = "{version}"
readme = "README.md"
license = "BSD-3-Clause"
license-files = ["LICENSE.txt"]

[tool.setuptools]
packages = ["fooext"]
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


# Variants for the portability tests (each a real build of the same extension):
# - abi3: Py_LIMITED_API 3.9, tagged cp39-abi3, so one wheel suits bullseye's 3.9, the host's
#   3.11 and trixie's 3.13;
# - glib: linked to libglib-2.0.so.0, which auditwheel never grafts (manylinux whitelist) and
#   a minimal image does not have: the build machine's test passes, a clean image's fails;
# - closefrom: calls closefrom(), new in glibc 2.34, and is tagged manylinux_2_28 by its own
#   setup (bdist_wheel plat_name; auditwheel keeps that tag and adds manylinux_2_34).
GLIB_C = """\
extern const char *glib_check_version(unsigned, unsigned, unsigned);
static PyObject *glib(PyObject *self, PyObject *args) {
    return PyBool_FromLong(glib_check_version(2, 0, 0) == NULL);
}
"""
CLOSEFROM_C = """\
#include <unistd.h>
static PyObject *close_high(PyObject *self, PyObject *args) {
    closefrom(1 << 20);
    Py_RETURN_NONE;
}
"""


def make_project(
    path: Path,
    *,
    version: str = "0.1.0",
    tag: str | None = "v0.1.0",
    abi3: bool = False,
    glib: bool = False,
    closefrom: bool = False,
) -> str:
    """Create the fooext git repository; return the tagged commit's SHA."""
    (path / "fooext").mkdir(parents=True)
    (path / "src").mkdir()
    (path / "fooext" / "__init__.py").write_text("from ._blas import dot\n")
    extra_c, extra_method = "", ""
    if glib:
        extra_c += GLIB_C
        extra_method += '{"glib", glib, METH_NOARGS, "glib >= 2.0"},'
    if closefrom:
        extra_c += CLOSEFROM_C
        extra_method += '{"close_high", close_high, METH_NOARGS, "closefrom"},'
    c_source = BLAS_C.replace("EXTRA_C", extra_c).replace("EXTRA_METHOD", extra_method)
    (path / "src" / "_blas.c").write_text(c_source)
    options: dict[str, dict[str, str]] = {}
    if abi3:
        options.setdefault("bdist_wheel", {})["py_limited_api"] = "cp39"
    if closefrom:
        options.setdefault("bdist_wheel", {})["plat_name"] = "manylinux_2_28_x86_64"
    header = (
        f"EXTRA_LINK = {['-l:libglib-2.0.so.0'] if glib else []!r}\n"
        f"MACROS = {[('Py_LIMITED_API', '0x03090000')] if abi3 else []!r}\n"
        f"OPTIONS = {options!r}\n"
    )
    (path / "setup.py").write_text(header + SETUP_PY)
    (path / "pyproject.toml").write_text(PYPROJECT.format(version=version))
    (path / "LICENSE.txt").write_text("Copyright (c) 2026, fooext developers\n")
    (path / "README.md").write_text("# fooext\n\nA C extension calling scipy-openblas.\n")
    (path / ".gitignore").write_text("fooext/_buildinfo.py\nbuild/\n*.egg-info/\n")
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "fooext", cwd=path)
    if tag:
        git("tag", tag, cwd=path)
    return git("rev-parse", "HEAD", cwd=path)


def make_wheels_repo(
    root: Path,
    *,
    commit: str = "v0.1.0",
    test_depends: str = "",
    pyproject_extra: str = "",
    abi3: bool = False,
    glib: bool = False,
    closefrom: bool = False,
) -> Path:
    """A wheels repository in ``root`` whose REPO_DIR ``fooext`` is a tagged local git repo."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".travis.yml").write_text(TRAVIS.format(commit=commit, test_depends=test_depends))
    (root / "appveyor.yml").write_text(APPVEYOR.format(commit=commit))
    (root / "config.sh").write_text(CONFIG_SH)
    (root / "env_vars.sh").write_text(ENV_VARS_SH)
    (root / "LICENSE_linux.txt").write_text(LICENSE_LINUX)
    (root / "pyproject.toml").write_text(
        '[tool.numpy-wheels]\nproject = "fooext"\nopenblas = true\n' + pyproject_extra
    )
    make_project(root / "fooext", abi3=abi3, glib=glib, closefrom=closefrom)
    return root
