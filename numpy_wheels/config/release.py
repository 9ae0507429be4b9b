"""Release configuration: where twine uploads to, from ``--repository-url`` or a ``~/.pypirc``
section (read with twine's own reader, so both agree on its meaning), and the simple index
that shows what the target already holds."""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numpy_wheels.config.secrets import TWINE_PASSWORD, TWINE_USERNAME, refuse_unexpanded
from numpy_wheels.errors import ConfigError, UsageError
from numpy_wheels.files import not_a_file
from numpy_wheels.log import log

PYPI_HOSTS = ("upload.pypi.org", "pypi.org", "test.pypi.org", "pypi.python.org")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """Where twine uploads to, and the simple index that shows what is there: resolved once,
    used for the pre-check, the upload and the read-back alike."""

    repository: str | None  # a ~/.pypirc section
    repository_url: str
    simple_url: str
    config_file: str
    origin: str = "default"  # what chose it: --repository-url, TWINE_REPOSITORY_URL, -r, ...
    # None: the section is written in config_file; else why twine's default URL is used
    not_in_pypirc: str | None = None

    @property
    def is_pypi(self) -> bool:
        return any(h in self.repository_url for h in PYPI_HOSTS)

    def upload_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` for twine without twine's own target variables: the upload is given this
        target explicitly, and twine must not choose another (TWINE_REPOSITORY_URL would
        override ``--repository``)."""
        return {k: v for k, v in env.items() if k not in TARGET_VARIABLES}

    def describe(self) -> str:
        """The URL and where it came from: a pypirc section only when the file has it (twine
        gives ``pypi``/``testpypi`` their default URLs without one; issue 12 tryout: a run
        with no ~/.pypirc named "pypirc section 'pypi' of ~/.pypirc")."""
        if not self.repository:
            section = ""
        elif self.not_in_pypirc is None:
            section = f" (pypirc section {self.repository!r} of {self.config_file})"
        else:
            section = f" (twine's default for {self.repository!r}: {self.not_in_pypirc})"
        return f"{self.repository_url}{section}, from {self.origin}; simple index {self.simple_url}"


#: twine's own variables naming the target; the upload is given the resolved target
#: explicitly and these are removed from its environment, so twine cannot choose another.
TARGET_VARIABLES = ("TWINE_REPOSITORY_URL", "TWINE_REPOSITORY")


def choose_target(
    *, repository: str | None, repository_url: str | None, env: Mapping[str, str]
) -> tuple[str | None, str | None, str]:
    """twine's precedence: ``--repository-url`` > ``TWINE_REPOSITORY_URL`` > ``-r`` >
    ``TWINE_REPOSITORY`` > ``pypi``; returns (section, url, what chose it).

    >>> choose_target(repository="x", repository_url=None, env={"TWINE_REPOSITORY_URL": "u"})
    (None, 'u', 'TWINE_REPOSITORY_URL')
    >>> choose_target(repository=None, repository_url=None, env={"TWINE_REPOSITORY": "t"})
    ('t', None, 'TWINE_REPOSITORY')
    """
    if repository_url:
        return None, repository_url, "--repository-url"
    if env.get("TWINE_REPOSITORY_URL"):
        return None, env["TWINE_REPOSITORY_URL"], "TWINE_REPOSITORY_URL"
    if repository:
        return repository, None, "-r/--repository"
    if env.get("TWINE_REPOSITORY"):
        return env["TWINE_REPOSITORY"], None, "TWINE_REPOSITORY"
    return "pypi", None, "the default (pypi)"


def simple_index_for(upload_url: str) -> str:
    """The simple index beside an upload URL: PyPI's and TestPyPI's by host; Warehouse's
    upload endpoint ``…/legacy/`` (PyPI's, and a self-hosted Warehouse's or a proxy copying its
    layout) has its simple pages at ``…/simple/``, replacing ``legacy``; anything else
    (pypiserver at ``/``, devpi-style ``/user/index/``) has them below it at ``simple/``.

    >>> simple_index_for("https://upload.pypi.org/legacy/")
    'https://pypi.org/simple/'
    >>> simple_index_for("http://127.0.0.1:8080/legacy/"), simple_index_for("http://h/legacy")
    ('http://127.0.0.1:8080/simple/', 'http://h/simple/')
    >>> simple_index_for("http://127.0.0.1:8080/"), simple_index_for("http://h/root/dev")
    ('http://127.0.0.1:8080/simple/', 'http://h/root/dev/simple/')
    """
    import urllib.parse

    if "test.pypi.org" in upload_url:
        return "https://test.pypi.org/simple/"
    if any(h in upload_url for h in PYPI_HOSTS):
        return "https://pypi.org/simple/"
    parts = urllib.parse.urlsplit(upload_url)
    path = parts.path.rstrip("/")
    if path.rsplit("/", 1)[-1] == "legacy":
        path = path.rsplit("/", 1)[0]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/simple/", "", ""))


def _spaced_sections(cfg: str) -> list[str]:
    """pypirc sections whose names contain whitespace (twine can never find them)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(cfg, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return []
    return [name for name in parser.sections() if len(name.split()) > 1]


def _not_in_pypirc(cfg: str, section: str) -> str | None:
    """Why the pypirc ``cfg`` does not give ``section`` (None: it does). twine then uses its
    default URL for ``pypi``/``testpypi`` (``twine.utils.get_config``); ``_read_pypirc`` has
    already refused any other missing section and an unreadable file."""
    path = Path(cfg).expanduser()
    if not path.is_file():
        return f"there is no {cfg}"
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return f"{cfg} is not readable"
    return None if parser.has_section(section) else f"{cfg} has no [{section}] section"


#: What a pypirc error advises (ConfigError's own hint is about CI files).
PYPIRC_HINT = (
    "Fix the pypirc file named above (twine's format: an INI file in UTF-8, [distutils] "
    "index-servers naming one section per index), or name the index with --repository-url "
    "and give the credentials in TWINE_USERNAME/TWINE_PASSWORD."
)


def _read_pypirc(cfg: str, section: str, url_given: str | None) -> dict[str, Any]:
    """twine's repository settings of ``section`` in the pypirc ``cfg`` (twine's own reader,
    ``get_repository_from_config``), every way it can fail a typed error: a pypirc that is
    not a file, cannot be read or lacks the section is a ConfigError, a --repository-url
    twine refuses a UsageError."""
    from twine.exceptions import (
        InvalidConfiguration,
        TwineException,
        UnableToReadConfigurationFile,
    )
    from twine.utils import get_repository_from_config

    kind = not_a_file(Path(cfg).expanduser())
    if kind not in (None, "missing"):  # twine would open it: a FIFO blocks for ever
        msg = f"{cfg}: not a readable pypirc file (it is {kind})"
        raise ConfigError(msg, hint=PYPIRC_HINT)
    try:
        return dict(get_repository_from_config(cfg, section, url_given))
    except (InvalidConfiguration, UnableToReadConfigurationFile) as exc:
        msg = f"{cfg}: {str(exc).splitlines()[0]}"
        spaced = _spaced_sections(cfg)
        if spaced:
            msg += (
                f" (the file has {', '.join(map(repr, spaced))}: twine splits [distutils] "
                "index-servers on whitespace, so a section name with a space is never found; "
                "rename it without spaces)"
            )
        raise ConfigError(msg, hint=PYPIRC_HINT) from None
    except TwineException as exc:  # a --repository-url twine refuses
        raise UsageError(str(exc).splitlines()[0]) from None
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        msg = f"{cfg}: not a readable pypirc file ({why})"
        raise ConfigError(msg, hint=PYPIRC_HINT) from None


def resolve_target(
    *,
    repository: str | None,
    repository_url: str | None,
    index_url: str | None,
    config_file: str | None,
    env: Mapping[str, str] | None = None,
    uploading: bool = True,
) -> Target:
    """The upload URL chosen as twine chooses it (``choose_target``) from the command line,
    twine's variables and the ``~/.pypirc`` section (twine's own reader), and the simple
    index next to it (PyPI's is pypi.org/simple/).

    When ``uploading``, every credential twine would read (TWINE_USERNAME, TWINE_PASSWORD,
    the section's username and password) is refused if it is an unexpanded CI reference
    (CredentialsMissingError, as ``upload`` refuses the store's), before anything is sent."""
    from twine.utils import DEFAULT_CONFIG_FILE

    section, url_given, origin = choose_target(
        repository=repository, repository_url=repository_url, env=env or {}
    )
    # twine's own default ("~/.pypirc"): a missing default file means PyPI's defaults, a
    # missing file the user named is an error — as twine itself behaves.
    cfg = config_file or DEFAULT_CONFIG_FILE
    found = _read_pypirc(cfg, section or "pypi", url_given)
    log.add_secret(str(found.get("password") or "") or None)
    if uploading:
        where = f"{cfg} [{section or 'pypi'}]"
        for source, value in (
            (TWINE_USERNAME, (env or {}).get(TWINE_USERNAME)),
            (TWINE_PASSWORD, (env or {}).get(TWINE_PASSWORD)),
            (f"{where} username", found.get("username")),
            (f"{where} password", found.get("password")),
        ):
            refuse_unexpanded(source, str(value) if value else None)
    url = str(found["repository"])
    return Target(
        not_in_pypirc=_not_in_pypirc(cfg, section or "pypi"),
        repository=None if url_given else section,
        repository_url=url,
        simple_url=index_url or simple_index_for(url),
        config_file=cfg,
        origin=origin,
    )
