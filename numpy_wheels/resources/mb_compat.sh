# Helpers multibuild made available to config.sh hooks, so existing hook files keep working.
# Sourced before env_vars.sh and config.sh; config.sh may override any of them.

is_function() { [ "$(type -t "$1")" = "function" ]; }

retry() {
    # retry CMD...: five attempts, a second apart (multibuild's semantics).
    local attempt
    for attempt in 1 2 3 4 5; do
        "$@" && return 0
        echo "retry: attempt $attempt of '$*' failed" >&2
        sleep 1
    done
    return 1
}

check_var() { [ -n "${!1:-}" ] || { echo "${1} is not set" >&2; return 1; }; }

rm_mkdir() { rm -rf "$1" && mkdir -p "$1"; }

abspath() { python -c "import os, sys; print(os.path.abspath(sys.argv[1]))" "$1"; }

get_platform() { python -c "import platform; print(platform.machine())"; }

# The test interpreter: multibuild's names for it.
PYTHON_EXE="${PYTHON_EXE:-python}"
PIP_CMD="${PIP_CMD:-$PYTHON_EXE -m pip}"
