"""Where credentials come from, named once: the variables ``credentials`` reads are the
variables stripped from the build environment and (the secret halves) redacted from every
line printed, so a secret added here is found, kept out of builds and tests, and never shown."""

from __future__ import annotations

from collections.abc import Mapping

from numpy_wheels.errors import CredentialsMissingError
from numpy_wheels.log import log

#: wheelhouse-uploader's own variables, read first for every store.
UPLOADER_USERNAME = "WHEELHOUSE_UPLOADER_USERNAME"
UPLOADER_SECRET = "WHEELHOUSE_UPLOADER_SECRET"  # noqa: S105 (a variable name)
#: Each store's own (username, secret) variables, after the uploader's.
STORE_CREDENTIALS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "swift": (("ST_USER", "OS_USERNAME"), ("ST_KEY", "OS_PASSWORD")),
    # Rackspace: the API key (ST_KEY is also the key of the swift CLI's Rackspace v1.0 auth);
    # never OS_PASSWORD, which is a password.
    "cloudfiles": (("ST_USER",), ("ST_KEY",)),
    "s3": (("AWS_ACCESS_KEY_ID",), ("AWS_SECRET_ACCESS_KEY",)),
}
#: twine reads them itself; we keep them out of logs and builds, and refuse unexpanded ones.
TWINE_USERNAME = "TWINE_USERNAME"
TWINE_PASSWORD = "TWINE_PASSWORD"  # noqa: S105 (a variable name)
#: Variables whose values are never printed (redacted from every line, tracebacks included).
SECRET_NAMES: frozenset[str] = frozenset(
    {
        UPLOADER_SECRET,
        *(name for _, secrets in STORE_CREDENTIALS.values() for name in secrets),
        "AWS_SESSION_TOKEN",
        TWINE_PASSWORD,
    }
)
#: Every variable that may hold a credential: never passed to the build or the tests.
CREDENTIAL_NAMES: frozenset[str] = SECRET_NAMES | {
    UPLOADER_USERNAME,
    TWINE_USERNAME,
    *(name for users, _ in STORE_CREDENTIALS.values() for name in users),
}


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus every credential variable.

    >>> without_secrets({"PATH": "/bin", "TWINE_PASSWORD": "x", "ST_KEY": "y"})
    {'PATH': '/bin'}
    """
    return {k: v for k, v in env.items() if k not in CREDENTIAL_NAMES}


def unexpanded(value: str) -> bool:
    """A CI variable that arrived as its own reference: ``$(SECRET)`` (Azure), ``${{ … }}``
    (GitHub), ``${SECRET}``. A bare ``$word`` is not one: real secrets may start with ``$``.

    >>> unexpanded("$(WHEELHOUSE_UPLOADER_SECRET)"), unexpanded("s3cr3t"), unexpanded("$ecret")
    (True, False, False)
    """
    return value.strip().startswith(("$(", "${"))


def refuse_unexpanded(source: str, value: str | None) -> None:
    """The one check of every credential a command reads (the store's for ``upload``, twine's
    variables and pypirc's for ``release``): a CredentialsMissingError naming ``source``, never
    the value (whatever the variable holds may be a secret after all), before any network."""
    if value and unexpanded(value):
        msg = (
            f"{source} holds an unexpanded reference ($(…)/${{…}}) instead of a value: "
            "the CI did not pass the secret (pull request from a fork, or a missing "
            "mapping); nothing was uploaded"
        )
        raise CredentialsMissingError(msg)


def credentials(
    provider: str, env: Mapping[str, str], *, username: str | None, secret: str | None
) -> tuple[str | None, str | None]:
    """Username and secret: command line, then WHEELHOUSE_UPLOADER_*, then the backend's own
    variables. Missing or unexpanded is a CredentialsMissingError (a visible, distinct exit)."""
    if provider not in STORE_CREDENTIALS:  # the local store needs none
        return None, None
    user_vars, secret_vars = STORE_CREDENTIALS[provider]
    found: dict[str, tuple[str, str]] = {}
    for label, given, names in (("username", username, user_vars), ("secret", secret, secret_vars)):
        candidates = [("--" + label, given)] + [
            (n, env.get(n)) for n in (f"WHEELHOUSE_UPLOADER_{label.upper()}", *names)
        ]
        # a value of blanks alone is no value (a CI secret saved as " ", say), not a key
        source, value = next(((s, v) for s, v in candidates if v and v.strip()), ("", ""))
        if not value:
            msg = (
                f"no {label} for the {provider} store: set WHEELHOUSE_UPLOADER_"
                f"{label.upper()} (or {' / '.join(names)}); nothing was uploaded"
            )
            raise CredentialsMissingError(msg)
        refuse_unexpanded(source, value)
        found[label] = (source, value)
    log.add_secret(found["secret"][1])
    return found["username"][1], found["secret"][1]
