# numpy's hooks, with multibuild's contract: numpy_wheels sources env_vars.sh, then this file,
# then calls a function. Define build_wheel here to replace the default PEP 517 build.

function pre_build {
    # Runs in the wheels repository before the build. OpenBLAS arrives pinned and
    # sha256-verified through PKG_CONFIG_PATH, so there is nothing to fetch or build here.
    echo "pre_build: building numpy ${BUILD_COMMIT} (${NUMPY_WHEELS_MODE}) with" \
         "PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-unset}"
}

function run_tests {
    # Runs in an empty directory, numpy installed from the wheel in a fresh venv.
    # numpy's own test requirements (as its release CI's before-test): meson and a compiler
    # for the f2py/mem_policy tests, pinned pytest and hypothesis.
    if [ -f "${REPO_DIR}/requirements/test_requirements.txt" ]; then
        python -m pip install -r "${REPO_DIR}/requirements/test_requirements.txt"
    fi
    python -c "import numpy; numpy.show_config()"
    python "${WHEELS_REPO}/ci/check_openblas.py"
    python "${WHEELS_REPO}/ci/check_license.py"
    # NUMPY_TEST_LABEL: numpy.test's label, "full" as numpy's release CI; EXTRA_ARGV: more
    # pytest arguments (word-split, as multibuild did).
    # numpy's suite runs from a directory outside the wheels repository: pytest looks for its
    # settings upwards from the working directory, and this repository's pyproject.toml holds
    # numpy_wheels' own pytest settings (minversion, addopts), which must not apply to numpy's.
    # shellcheck disable=SC2086
    (cd "$(mktemp -d)" && python -c 'import sys, numpy; sys.exit(not numpy.test(label=sys.argv[1], extra_argv=sys.argv[2:]))' \
        "${NUMPY_TEST_LABEL:-full}" -n auto --durations=10 ${EXTRA_ARGV:-})
}
