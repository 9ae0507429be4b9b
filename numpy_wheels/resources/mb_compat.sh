# multibuild's public helper functions for config.sh / env_vars.sh hooks, so the hook files of
# multibuild-era wheels repositories run unchanged. Sourced before env_vars.sh and config.sh;
# config.sh may override any of them. Read against multibuild's common_utils.sh,
# travis_{linux,osx}_steps.sh, osx_utils.sh, manylinux_utils.sh, configure_build.sh and
# library_builders.sh; each function is one of:
#   provided  - same contract as multibuild (own implementation)
#   mapped    - the step is the tool's own (source, repair, OpenBLAS): the helper says so and
#               succeeds, or does the part that still belongs to the hook
#   refused   - stops the hook with "numpy-wheels: refused: NAME (...)" and why; the tool turns
#               that line into the error message (exit 8 for hooks, 9 inside build_wheel)
# The table is also in numpy_wheels/build/hooks.py (MB_HELPERS), checked by a test.

# -- refusal --------------------------------------------------------------------------------

_mb_refuse() {
    # _mb_refuse NAME REASON: print the refusal and stop the whole hook, also from inside
    # $(...) or `local x=$(...)`, where a plain exit would only end the subshell.
    # The call site is the first frame outside this file (config.sh:LINE, also at its top
    # level, where bash has no function to blame).
    local i where=""
    for (( i=1; i<${#BASH_SOURCE[@]}; i++ )); do
        case "${BASH_SOURCE[$i]}" in
            ""|"${BASH_SOURCE[0]}") ;;
            *) where=" (called at ${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i-1))]})"; break ;;
        esac
    done
    echo "numpy-wheels: refused: $1: $2$where" >&2
    kill -s TERM "$$" 2>/dev/null
    exit 97
}

_mb_mapped() { echo "numpy-wheels: $1: $2" >&2; }

# -- provided: common_utils.sh --------------------------------------------------------------

# The interpreter of the step (build venv / test venv): multibuild's names for it.
PYTHON_EXE="${PYTHON_EXE:-python}"
PIP_CMD="${PIP_CMD:-$PYTHON_EXE -m pip}"
MULTIBUILD_DIR="${MULTIBUILD_DIR:-$(dirname "${BASH_SOURCE[0]}")}"
if [ "$(uname)" = "Darwin" ]; then IS_MACOS=1; IS_OSX=1; fi
if [ -f /etc/alpine-release ]; then IS_ALPINE=1; fi

# multibuild echoes "true" (callers test [ -n "$(is_function f)" ]); the status works too.
is_function() { declare -Ff "$1" >/dev/null && echo true; }
any_python() {
    local cmd
    for cmd in $PYTHON_EXE python3 python; do
        if [ -n "$(type -t "$cmd")" ]; then echo "$cmd"; return; fi
    done
    echo "Could not find python or python3" >&2
    return 1
}
abspath() { $(any_python) -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$1"; }
relpath() {
    $(any_python) -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
        "$1" "${2:-$PWD}"
}
realpath() { $(any_python) -c 'import os, sys; print(os.path.realpath(sys.argv[1]))' "$1"; }
lex_ver() { echo "$1" | awk -F "." '{printf "%03d%03d%03d", $1, $2, $3}'; }
unlex_ver() { echo "$((10#${1:0:3}+0)).$((10#${1:3:3}+0)).$((10#${1:6:3}+0))"; }
strip_ver_suffix() { unlex_ver "$(lex_ver "$1")"; }
rm_mkdir() {
    [ -n "$1" ] || { echo "Need not-empty path" >&2; return 1; }
    rm -rf "$1" && mkdir -p "$1"
}
set_opts() {
    local opts=$1 chars="exhmBH" i char
    for (( i=0; i<${#chars}; i++ )); do
        char=${chars:$i:1}
        if [ -n "${opts//[^${char}]/}" ]; then set -"$char"; else set +"$char"; fi
    done
}
suppress() {
    # Run a command, show its output only if it fails.
    local tmp ret
    tmp=$(mktemp) || return
    echo "Running $*"
    "$@" >"$tmp" 2>&1 && ret=0 || ret=$?
    [ "$ret" -eq 0 ] || cat "$tmp"
    rm -f "$tmp"
    return "$ret"
}
expect_return() {
    (( $# < 2 )) && { echo "Must have at least 2 arguments" >&2; return 1; }
    local retcode=$1 retval=0
    ( "${@:2}" ) || retval=$?
    [[ $retcode == "$retval" ]] && return 0
    return "$retval"
}
cmd_notexit() {
    [ -n "$1" ] || { echo "no command" >&2; return 1; }
    local retval=0
    ( "$@" ) || retval=$?
    return "$retval"
}
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
check_python() { [ -n "$PYTHON_EXE" ] || { echo "PYTHON_EXE variable not defined" >&2; return 1; }; }
check_pip() { [ -n "$PIP_CMD" ] || { echo "PIP_CMD variable not defined" >&2; return 1; }; }
get_os() { $(any_python) -c 'import platform; print(platform.uname()[0])'; }
get_platform() { $(any_python) -c 'import platform; print(platform.uname()[4])'; }
get_distutils_platform() { $PYTHON_EXE -c 'import sysconfig; print(sysconfig.get_platform())'; }
get_py_digit() { $PYTHON_EXE -c 'import sys; print(sys.version_info[0])'; }
get_py_mm() { $PYTHON_EXE -c 'import sys; print("{0}.{1}".format(*sys.version_info[0:2]))'; }
get_py_mm_nodot() { $PYTHON_EXE -c 'import sys; print("{0}{1}".format(*sys.version_info[0:2]))'; }
# Travis keep-alives: this tool streams the build's output, so there is nothing to keep alive.
start_spinner() { :; }
stop_spinner() { :; }
pip_opts() { [ -n "${MANYLINUX_URL:-}" ] && echo "--find-links $MANYLINUX_URL"; }
untar() {
    local in_fname=$1
    [ -n "$in_fname" ] || { echo "in_fname not defined" >&2; return 1; }
    case "${in_fname##*.}" in
        tar) tar -xf "$in_fname" ;;
        gz|tgz) tar -zxf "$in_fname" ;;
        bz2) tar -jxf "$in_fname" ;;
        xz) tar -Jxf "$in_fname" ;;
        zip) unzip -qq "$in_fname" ;;
        *) echo "Did not recognize extension ${in_fname##*.}" >&2; return 1 ;;
    esac
}
fetch_unpack() {
    # fetch_unpack URL [ARCHIVE_NAME]: download once into $ARCHIVE_SDIR (deadline + retries),
    # unpack into the current directory, echo the unpacked names.
    local url=$1
    [ -n "$url" ] || { echo "url not defined" >&2; return 1; }
    local archive_fname=${2:-$(basename "$url")}
    local arch_sdir="${ARCHIVE_SDIR:-archives}"
    mkdir -p "$arch_sdir"
    local out_archive="${arch_sdir}/${archive_fname}"
    if [ ! -f "$out_archive" ]; then
        curl -fsSL --connect-timeout 30 --max-time 600 --retry 4 -o "$out_archive.part" "$url"
        mv "$out_archive.part" "$out_archive"
    fi
    rm_mkdir arch_tmp
    (cd arch_tmp && untar "../$out_archive" && ls -1d ./* && cp -a ./. ..)
    rm -rf arch_tmp
}
gh_clone() { git clone "https://github.com/$1"; }

# -- provided: building and installing wheels (multibuild's build_wheel family) -------------
# The tool runs pre_build as its own step before build_wheel and repairs after it; these
# build into $WHEEL_SDIR, which the tool collects.

wrap_wheel_builder() { "$@"; }
# In the host backend's build venv (NUMPY_WHEELS_BUILD_VENV), which holds the project's build
# requirements and BUILD_DEPENDS, pip builds without isolation (one venv, no isolation, as
# multibuild's pip of its time built): an isolated build did not see BUILD_DEPENDS (a setup.py
# importing one failed with ModuleNotFoundError). Elsewhere (cibuildwheel's environment) pip
# builds isolated, with the project's declared build requirements.
pip_wheel_cmd() {
    local isolation=()
    if [ -n "${NUMPY_WHEELS_BUILD_VENV:-}" ]; then isolation=(--no-build-isolation); fi
    $PIP_CMD wheel $(pip_opts) "${isolation[@]}" -w "$1" --no-deps .
}
bdist_wheel_cmd() {
    # multibuild used setup.py bdist_wheel (versioneer); without a setup.py, pip's PEP 517 build.
    if [ -f setup.py ]; then
        $PYTHON_EXE setup.py bdist_wheel
        cp dist/*.whl "$1"
    else
        pip_wheel_cmd "$1"
    fi
}
build_wheel_cmd() {
    local cmd=${1:-pip_wheel_cmd}
    local repo_dir=${2:-$REPO_DIR}
    [ -n "$repo_dir" ] || { echo "repo_dir not defined" >&2; return 1; }
    local wheelhouse
    wheelhouse=$(abspath "${WHEEL_SDIR:-wheelhouse}")
    mkdir -p "$wheelhouse"
    if [ -n "${BUILD_DEPENDS:-}" ]; then
        # shellcheck disable=SC2086
        $PIP_CMD install $(pip_opts) $BUILD_DEPENDS
    fi
    (cd "$repo_dir" && $cmd "$wheelhouse")
}
build_pip_wheel() { wrap_wheel_builder build_wheel_cmd "pip_wheel_cmd" "$@"; }
build_bdist_wheel() { wrap_wheel_builder build_wheel_cmd "bdist_wheel_cmd" "$@"; }
# The tool's own PEP 517 build is the default build_wheel; config.sh overrides it by defining
# build_wheel (the tool then calls that one, on both backends).
build_wheel() { build_pip_wheel "$@"; }
install_wheel() {
    # Install TEST_DEPENDS (one requirement per line or word) and the wheel pip accepts.
    local wheelhouse
    wheelhouse=$(abspath "${WHEEL_SDIR:-wheelhouse}")
    if [ -n "${TEST_DEPENDS:-}" ]; then
        # shellcheck disable=SC2086
        $PIP_CMD install $(pip_opts) "$@" $TEST_DEPENDS
    fi
    local names
    names=$(cd "$wheelhouse" && ls -1 ./*.whl | sed 's|^\./||; s/-.*//' | sort -u)
    [ -n "$names" ] || { echo "ERROR: no wheels in $wheelhouse" >&2; return 1; }
    # shellcheck disable=SC2086
    $PIP_CMD install $(pip_opts) "$@" --only-binary=:all: --find-links "$wheelhouse" $names
}
install_run() {
    install_wheel
    mkdir -p tmp_for_test
    (cd tmp_for_test && run_tests)
    rmdir tmp_for_test 2>/dev/null || echo "Cannot remove tmp_for_test"
}

# -- mapped: steps the tool does itself -----------------------------------------------------

clean_code() {
    _mb_mapped clean_code "the tool checked out ${1:-$REPO_DIR} at ${2:-$BUILD_COMMIT} (its source step)"
}
fill_submodule() {
    _mb_mapped fill_submodule "the tool made ${1:-$REPO_DIR}/.git a real repository (its source step)"
}
repair_wheelhouse() {
    _mb_mapped repair_wheelhouse "the tool repairs the wheel after build_wheel (auditwheel/delocate/delvewheel)"
}
update_env_for_build_prefix() {
    # configure_build.sh's contract: libraries built into $BUILD_PREFIX are found by later builds.
    BUILD_PREFIX="${BUILD_PREFIX:-/usr/local}"
    export CPPFLAGS="-I$BUILD_PREFIX/include ${CPPFLAGS:-}"
    export LIBRARY_PATH="$BUILD_PREFIX/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
    export PKG_CONFIG_PATH="$BUILD_PREFIX/lib/pkgconfig/${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export PATH="$BUILD_PREFIX/bin:$PATH"
}
activate_ccache() {
    # The tool's own ccache (build/ccache.py): CCACHE_DIR set and its masquerade directory
    # (cc -> ../ccache) on PATH; the build already compiles through it.
    local dir
    if [ -n "${CCACHE_DIR:-}" ]; then
        local IFS=:
        for dir in $PATH; do
            if [ -L "$dir/cc" ] && [ "$(readlink "$dir/cc")" = "../ccache" ] && [ -x "$dir/../ccache" ]; then
                _mb_mapped activate_ccache "the tool's compiler cache is on ($dir, CCACHE_DIR=$CCACHE_DIR)"
                return 0
            fi
        done
    fi
    # USE_CCACHE=1: compile through ccache when it is installed (the tool sets CCACHE_DIR).
    for dir in /usr/lib/ccache /usr/lib64/ccache /usr/local/opt/ccache/libexec; do
        if [ -d "$dir" ]; then export PATH="$dir:$PATH"; echo "Using C compiler: $(command -v cc)"; return 0; fi
    done
    _mb_refuse activate_ccache "ccache is not installed here (apt-get install ccache / yum install ccache)"
}
openblas_get() {
    # The tool links the pinned, sha256-checked scipy-openblas (resources/openblas.toml).
    case "${PKG_CONFIG_PATH:-}" in
        *openblas*) _mb_mapped "${FUNCNAME[1]:-openblas_get}" "OpenBLAS is the pinned scipy-openblas on PKG_CONFIG_PATH" ;;
        *) _mb_refuse "${FUNCNAME[1]:-openblas_get}" "this tool provides OpenBLAS only when the project configuration requests it (openblas = true in [tool.numpy-wheels] of pyproject.toml)" ;;
    esac
}
build_openblas() { openblas_get "$@"; }

# -- refused --------------------------------------------------------------------------------

_mb_ci_step="a CI-level step of multibuild; the CI runs \`python -m numpy_wheels build\` instead"
for _mb_name in before_install build_multilinux build_index_wheel build_index_wheel_cmd \
        install_pip install_pypy fill_pypy_ver get_pypy_build_prefix install_macpython \
        install_mac_cpython install_virtualenv make_workon_venv remove_travis_ve_pip \
        set_py_vars get_macpython_environment install_delocate install_pkg_config \
        install_rsync shell_session_update macos_intel_native_build_setup \
        macos_intel_cross_build_setup macos_arm64_cross_build_setup \
        macos_arm64_native_build_setup fuse_macos_intel_arm64 yum_install cpython_path \
        fill_pyver unroll_version get_macpython_arch get_macpython_osx_ver get_py_prefix \
        macpython_arch_for_version macpython_impl_for_version macpython_sdk_for_version \
        macpython_sdk_list_for_version pyinst_ext_for_version pyinst_fname_for_version \
        strip_macpython_ver_prefix; do
    eval "${_mb_name}() { _mb_refuse ${_mb_name} \"\$_mb_ci_step\"; }"
done
_mb_lib_step="multibuild's library_builders.sh downloads and compiles a library at build time; \
build it in pre_build with a pinned, checksummed download, or depend on a wheel of it"
for _mb_name in build_simple build_github build_zlib build_new_zlib build_jpeg \
        build_libjpeg_turbo build_libpng build_bzip2 build_tiff get_modern_cmake get_cmake \
        build_openjpeg build_lcms2 build_giflib build_xz ensure_xz build_libwebp build_freetype \
        build_libyaml build_szip build_hdf5 build_libaec build_blosc build_snappy build_lzo \
        build_lzf build_curl build_openssl build_netcdf build_pcre build_swig build_suitesparse \
        build_libtool build_ragel build_bison build_flex build_fftw_case build_fftw \
        build_cfitsio check_sha256sum; do
    eval "${_mb_name}() { _mb_refuse ${_mb_name} \"\$_mb_lib_step\"; }"
done
# MacPython/gfortran-install (a submodule of numpy's and scipy's wheels repositories).
_mb_gf_step="gfortran-install fetches prebuilt OpenBLAS/gfortran archives; this tool builds with \
the compilers of the build image and links the pinned scipy-openblas only for a project whose \
configuration asks for it (openblas = true in [tool.numpy-wheels])"
for _mb_name in get_gf_lib install_gfortran get_gf_lib_for_suf; do
    eval "${_mb_name}() { _mb_refuse ${_mb_name} \"\$_mb_gf_step\"; }"
done
unset _mb_name

# -- stubs stay -----------------------------------------------------------------------------
# config.sh may source the real helper files (numpy-wheels' sources the gfortran-install
# submodule's gfortran_utils.sh, whose get_gf_lib downloads archives): their definitions of a
# mapped or refused helper would silently replace the tool's. The hook runner calls
# _mb_keep_stubs after config.sh, which puts back every mapped or refused helper defined
# anywhere but config.sh / env_vars.sh themselves (a project's own definition still wins).
declare -A _MB_STUBS=()
for _mb_name in $(compgen -A function); do
    case "$_mb_name" in _mb_*) continue ;; esac
    _mb_body=$(declare -f "$_mb_name")
    case "$_mb_body" in
        *_mb_refuse\ *|*_mb_mapped\ *|*openblas_get\ *) _MB_STUBS[$_mb_name]=$_mb_body ;;
    esac
done
unset _mb_name _mb_body
_mb_keep_stubs() {
    # _mb_keep_stubs CONFIG_PATH ENV_VARS_PATH (as they were sourced)
    local name where file
    shopt -s extdebug
    for name in "${!_MB_STUBS[@]}"; do
        where=$(declare -F "$name") || continue
        file=${where#* * }
        if [ "$file" != "$1" ] && [ "$file" != "$2" ] && [ "$file" != "${BASH_SOURCE[0]}" ]; then
            eval "${_MB_STUBS[$name]}"
        fi
    done
    shopt -u extdebug
}
