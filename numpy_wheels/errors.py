"""The one error hierarchy: every failure class has its own exit code and a hint.

Only ``__main__.main`` prints these and chooses the exit status; everything else raises.
This module imports nothing from the package so that any module may use it.
"""

from __future__ import annotations


class FatalError(Exception):
    """An unexpected failure (an "internal error" is a bug: --debug-traceback shows where).

    The base of every failure the user can act on; subclasses set ``return_code`` and
    ``hint``."""

    return_code = 1
    hint = ""
    #: the tail of a failed command's output (redacted), for callers that classify failures
    output = ""

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        if hint is not None:  # this failure's own advice, where the class's would mislead
            self.hint = hint


class UsageError(FatalError):
    """Bad command-line usage (argparse uses the same code)."""

    return_code = 2
    hint = "See `python -m numpy_wheels COMMAND --help`."


class ConfigError(FatalError):
    """A configuration file is missing, unreadable, malformed or has unknown keys."""

    return_code = 3
    hint = "Fix the file named above; `python -m numpy_wheels lint` checks all CI files."


class LintError(FatalError):
    """CI files disagree on a value the build reads, or hold an invalid value."""

    return_code = 4
    hint = "Make the CI files agree (`python -m numpy_wheels bump REF` edits all of them)."


class SelectionError(FatalError):
    """A build selector or identifier matches nothing."""

    return_code = 5
    hint = "Run `python -m numpy_wheels matrix` to list the identifiers."


class SourceError(FatalError):
    """The project's source could not be fetched or checked out at BUILD_COMMIT."""

    return_code = 6
    hint = "Check BUILD_COMMIT, REPO_URL and REPO_DIR."


class DependencyError(FatalError):
    """A pinned dependency (OpenBLAS) could not be fetched, or failed its sha256 check."""

    return_code = 7
    hint = "Check the pins in numpy_wheels/resources/openblas.toml and the package index."


class HookError(FatalError):
    """A config.sh / env_vars.sh hook failed."""

    return_code = 8
    hint = "The hook's own output is above; run it by hand with `bash -c 'source config.sh; …'`."


class BuildError(FatalError):
    """The wheel build failed or produced no wheel."""

    return_code = 9
    hint = "The build output is above."


class RepairError(FatalError):
    """Repair failed, or did not produce exactly one uploadable platform wheel."""

    return_code = 10
    hint = "The repair tool's report is above and kept in the wheelhouse."


class LicenceError(FatalError):
    """The bundled-library licence text is missing or does not cover a grafted library."""

    return_code = 11
    hint = "Edit LICENSE_<os>.txt in the wheels repository so it names every bundled library."


class WheelTestError(FatalError):
    """The installed wheel failed its tests, or no built wheel fits the test interpreter."""

    return_code = 12
    hint = "The test output is above; `--only ID` rebuilds just that wheel."


class ContainerEngineError(FatalError):
    """The container engine (docker/podman) is missing or not working."""

    return_code = 13
    hint = "Start the engine, or use `--backend host`."


class CommandNotFoundError(FatalError):
    """An external program the step needs is not installed."""

    return_code = 14
    hint = "Install the numpy-wheels[tools] extra, or the program named above."


class StoreError(FatalError):
    """The staging store could not be reached or refused an operation."""

    return_code = 15
    hint = "Check the store URL (--auth-url/--endpoint-url/--local-root); rerun to resume."


class AuthError(FatalError):
    """The store rejected the credentials."""

    return_code = 16
    hint = "Check WHEELHOUSE_UPLOADER_USERNAME / WHEELHOUSE_UPLOADER_SECRET."


class CredentialsMissingError(FatalError):
    """Upload skipped: no credentials, or a CI secret that arrived unexpanded."""

    return_code = 17
    hint = "Set the upload secret for this CI job; pull requests skip uploads on their own."


class UploadConflictError(FatalError):
    """A release file already staged with different bytes (release names are immutable)."""

    return_code = 18
    hint = "Release files never change; rerun with --force only if the staged file is bad."


class ReleaseGateError(FatalError):
    """The staged set is incomplete or inconsistent, or a file failed its hash check."""

    return_code = 19
    hint = "Nothing was uploaded: fix the staged set (rebuild, re-stage), then run again."


class IndexUploadError(FatalError):
    """The package index refused a file, holds other bytes under its name, or served back
    something other than what was uploaded."""

    return_code = 20
    hint = "File names on an index are never reusable: a bad file needs a new version."


class WheelTagError(FatalError):
    """A wheel's platform tags promise more than its binaries keep (a newer glibc/libstdc++
    symbol or macOS, a library from outside the wheel, another CPU)."""

    return_code = 21
    hint = (
        "Build in an image as old as the tag (manylinux_2_28 → a manylinux_2_28 image), or "
        "let auditwheel/delocate choose the tag; never re-tag by hand."
    )


class SigningError(FatalError):
    """The signing program (gpg) could not sign a file; nothing was uploaded."""

    return_code = 22
    hint = (
        "gpg runs with --batch: a key with a passphrase needs it cached in gpg-agent first "
        "(sign any file once interactively, or gpg-preset-passphrase), or a --sign-with "
        'wrapper running `gpg --pinentry-mode loopback --passphrase-file FILE "$@"`; '
        "-i/--identity names the key. Nothing was uploaded."
    )


class ReproducibilityError(FatalError):
    """A rebuild from a wheel's provenance record gave other bytes than the wheel."""

    return_code = 23
    hint = (
        "The members named above differ; the rebuilt wheel is kept for comparison "
        "(diffoscope shows the difference inside each file)."
    )


class OutputError(FatalError):
    """The command's output could not be written: standard output closed (``>&-``) or failing
    (a full disk, ``> /dev/full``).

    Its own code: the command may have done its work, but what it printed is lost, which a
    script must not read as success (a reader that went away is 141 instead, as other CLIs)."""

    return_code = 24
    hint = "Send the output somewhere writable (a file with space, a pipe, the terminal)."


#: Every error class with its exit code, for the README table and `--help`.
ALL_ERRORS: tuple[type[FatalError], ...] = (
    FatalError,
    UsageError,
    ConfigError,
    LintError,
    SelectionError,
    SourceError,
    DependencyError,
    HookError,
    BuildError,
    RepairError,
    LicenceError,
    WheelTestError,
    ContainerEngineError,
    CommandNotFoundError,
    StoreError,
    AuthError,
    CredentialsMissingError,
    UploadConflictError,
    ReleaseGateError,
    IndexUploadError,
    WheelTagError,
    SigningError,
    ReproducibilityError,
    OutputError,
)

INTERRUPTED_RETURN_CODE = 130
BROKEN_PIPE_RETURN_CODE = 141  # 128 + SIGPIPE, what the shell reports for `yes | head -1`
TERMINATED_RETURN_CODE = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same clean-up runs."""


def summary(cls: type[FatalError]) -> str:
    """The first paragraph of the class's docstring on one line (the --help exit-code table).

    >>> summary(UsageError)
    'Bad command-line usage (argparse uses the same code).'
    """
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
