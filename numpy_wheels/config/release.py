"""Release configuration: where twine uploads to, from ``--repository-url`` or a ``~/.pypirc``
section (read with twine's own reader, so both agree on its meaning), and the simple index
that shows what the target already holds."""

from __future__ import annotations

import configparser
import dataclasses

from numpy_wheels.errors import ConfigError, UsageError
from numpy_wheels.log import log

PYPI_HOSTS = ("upload.pypi.org", "pypi.org", "test.pypi.org", "pypi.python.org")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """Where twine uploads to, and the simple index that shows what is there."""

    repository: str | None  # a ~/.pypirc section
    repository_url: str
    simple_url: str
    config_file: str

    @property
    def is_pypi(self) -> bool:
        return any(h in self.repository_url for h in PYPI_HOSTS)


def resolve_target(
    *,
    repository: str | None,
    repository_url: str | None,
    index_url: str | None,
    config_file: str | None,
) -> Target:
    """The upload URL from ``--repository-url`` or the ``~/.pypirc`` section (twine's own
    reader), and the simple index next to it (PyPI's is pypi.org/simple/)."""
    from twine.exceptions import (
        InvalidConfiguration,
        TwineException,
        UnableToReadConfigurationFile,
    )
    from twine.utils import DEFAULT_CONFIG_FILE, get_repository_from_config

    # twine's own default ("~/.pypirc"): a missing default file means PyPI's defaults, a
    # missing file the user named is an error — as twine itself behaves.
    cfg = config_file or DEFAULT_CONFIG_FILE
    try:
        found = get_repository_from_config(cfg, repository or "pypi", repository_url)
    except (InvalidConfiguration, UnableToReadConfigurationFile) as exc:
        msg = f"{cfg}: {str(exc).splitlines()[0]}"
        raise ConfigError(msg) from None
    except TwineException as exc:  # a --repository-url twine refuses
        raise UsageError(str(exc).splitlines()[0]) from None
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        msg = f"{cfg}: not a readable pypirc file ({why})"
        raise ConfigError(msg) from None
    log.add_secret(str(found.get("password") or "") or None)
    url = str(found["repository"])
    if index_url:
        simple = index_url
    elif "test.pypi.org" in url:
        simple = "https://test.pypi.org/simple/"
    elif any(h in url for h in PYPI_HOSTS):
        simple = "https://pypi.org/simple/"
    else:
        simple = url.rstrip("/") + "/simple/"
    return Target(
        repository=None if repository_url else (repository or "pypi"),
        repository_url=url,
        simple_url=simple,
        config_file=cfg,
    )
