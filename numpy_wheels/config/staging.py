"""Staging/release configuration: ``setup.cfg`` < environment < command line, resolved once.

The companion of config/build.py for the upload and release steps; nothing else reads these
sources. The store adapters (staging/store.py) receive the resolved ``StoreConfig``.
"""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeAlias, TypedDict, get_args

from numpy_wheels.cifiles.commit import Mode
from numpy_wheels.config.secrets import credentials
from numpy_wheels.errors import ConfigError, CredentialsMissingError, StoreError, UsageError
from numpy_wheels.files import read_config_text
from numpy_wheels.log import log
from numpy_wheels.model.choices import SWIFT_AUTH_VERSIONS, env_choice, one_of

Provider: TypeAlias = Literal["local", "swift", "cloudfiles", "s3"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
#: Rackspace Cloud Files defaults (``--provider-name cloudfiles``): the identity service of
#: Rackspace's public cloud (v2.0 API, API-key credentials) and the region wheelhouse-uploader
#: used (``--region ord``).
RACKSPACE_IDENTITY = "https://identity.api.rackspacecloud.com/v2.0/"
RACKSPACE_REGION = "ORD"


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoreConfig:
    provider: Provider
    container: str
    username: str | None = None
    secret: str | None = dataclasses.field(default=None, repr=False)
    region: str | None = None
    auth_url: str | None = None  # Swift: v1 tempauth or Keystone v2/v3; Rackspace identity
    auth_version: str = "1"
    project: str | None = None  # Keystone project (tenant)
    domain: str = "Default"  # Keystone v3 user and project domain
    storage_url: str | None = None  # Swift: skip the catalogue, use this storage URL
    endpoint_url: str | None = None  # S3
    local_root: Path | None = None
    public_url: str | None = None  # where anonymous readers find the container
    public: bool = True  # wheelhouse-uploader's CDN switch: CDN-enable / anonymous reads
    retries: int = 5
    #: seconds one store or identity request may wait for the server (connect or read),
    #: before the clients' own retries
    timeout: float = 60.0


def check_container_name(name: str) -> str:
    """One path component of printable characters: never ``/``, ``..`` or an absolute path
    (for the local store that would write outside --local-root; Swift and S3 refuse them).

    >>> check_container_name("wheels")
    'wheels'
    """
    if (
        not name.strip()
        or name != name.strip()  # " wheels" is another container than "wheels", by mistake
        or len(name) > 255
        or "/" in name
        or "\\" in name
        or name in (".", "..")
        or not name.isprintable()
    ):
        msg = (
            f"container {name!r} is not a container name (one path component, no '/' or "
            "'..', no leading or trailing blanks)"
        )
        raise UsageError(msg)
    return name


@dataclasses.dataclass(frozen=True, kw_only=True)
class StagingConfig:
    """The multibuild-era ``setup.cfg``: ``[staging]`` (where CI jobs stage wheels) and
    ``[wheelhouse_uploader] artifact_indexes`` (where releases are fetched from)."""

    release_container: str | None
    daily_container: str | None
    artifact_indexes: tuple[str, ...]
    store: Mapping[str, str]  # provider-name, auth-url, endpoint-url, region, local-root, …


_STORE_KEYS = (
    "provider-name",
    "auth-url",
    "auth-version",
    "storage-url",
    "endpoint-url",
    "region",
    "local-root",
    "public-url",
    "project-name",
    "domain-name",
)


def read_staging_config(root: Path) -> StagingConfig:
    parser = configparser.ConfigParser(interpolation=None)
    path = root / "setup.cfg"
    try:
        if path.exists() or path.is_symlink():  # a broken link is named, not skipped
            parser.read_string(read_config_text(path), source=str(path))
    except configparser.Error as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from None
    uploader = (
        dict(parser["wheelhouse_uploader"]) if parser.has_section("wheelhouse_uploader") else {}
    )
    staging = dict(parser["staging"]) if parser.has_section("staging") else {}
    for key in staging:
        if key not in (*_STORE_KEYS, "release_container", "daily_container"):
            close = difflib.get_close_matches(key, _STORE_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"{path} [staging]: unknown key {key!r}{hint}"
            raise ConfigError(msg)
    return StagingConfig(
        release_container=staging.get("release_container"),
        daily_container=staging.get("daily_container"),
        artifact_indexes=tuple(uploader.get("artifact_indexes", "").split()),
        store={k: v for k, v in staging.items() if k in _STORE_KEYS},
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoreArgs:
    """What the command line says about the store (None: not given)."""

    container: str | None = None
    provider: str | None = None
    username: str | None = None
    secret: str | None = None
    region: str | None = None
    auth_url: str | None = None
    auth_version: str | None = None
    storage_url: str | None = None
    project: str | None = None
    endpoint_url: str | None = None
    local_root: Path | None = None
    public_url: str | None = None
    public: bool = True
    timeout: float = 60.0


def _container(root: Path, cfg: StagingConfig, args: StoreArgs, *, mode: Mode) -> str:
    """CONTAINER, else setup.cfg's container for the mode; a bad name from setup.cfg is a
    ConfigError (the file is wrong), from the command line a UsageError."""
    container = args.container or (
        cfg.daily_container if mode == "daily" else cfg.release_container
    )
    if not container:
        msg = f"no container named, and setup.cfg [staging] has no {mode}_container; pass CONTAINER"
        raise UsageError(msg)
    try:
        return check_container_name(container)
    except UsageError as exc:
        if args.container:
            raise
        msg = f"{root / 'setup.cfg'} [staging]: {exc}"
        raise ConfigError(msg) from None


def _local_root(root: Path, cfg: StagingConfig, args: StoreArgs, *, checked: bool) -> Path:
    """--local-root, setup.cfg local-root (relative to the repository), else ROOT/staging.

    A root that was named must exist when the local store is used (``checked``): a StoreError
    names it (a typo'd --local-root used to be created, and the files staged there). Only
    the default, inside the repository, is created on first use."""
    named = args.local_root or (
        Path(cfg.store["local-root"]) if "local-root" in cfg.store else None
    )
    if named is None:
        return root / "staging"
    path = named if named.is_absolute() else root / named
    if checked and not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        msg = (
            f"local store root {path} {what}: create it first (a store root is never created, "
            "so a mistyped --local-root/local-root cannot receive the files)"
        )
        raise StoreError(msg)
    return path


def _auth_version(cfg: StagingConfig, env: Mapping[str, str], args: StoreArgs) -> str:
    """--auth-version, ST_AUTH_VERSION, setup.cfg auth-version, else 1 (tempauth); each one
    of SWIFT_AUTH_VERSIONS (a typo used to mean v1 or v2, whichever the adapter fell to)."""
    if args.auth_version is not None:
        if args.auth_version.strip() not in SWIFT_AUTH_VERSIONS:
            msg = f"--auth-version must be one of {', '.join(SWIFT_AUTH_VERSIONS)}"
            raise UsageError(msg)
        return args.auth_version.strip()
    from_env = env_choice(env, "ST_AUTH_VERSION", SWIFT_AUTH_VERSIONS)
    if from_env is not None:
        return from_env
    configured = cfg.store.get("auth-version", "1").strip()
    if configured not in SWIFT_AUTH_VERSIONS:
        msg = (
            f"setup.cfg [staging] auth-version = {configured!r} is not one of "
            f"{', '.join(SWIFT_AUTH_VERSIONS)}"
        )
        raise ConfigError(msg)
    return configured


def _provider(cfg: StagingConfig, env: Mapping[str, str], args: StoreArgs) -> Provider:
    """--provider-name, NUMPY_WHEELS_STORE, setup.cfg provider-name, else local."""
    if args.provider:
        typed = one_of(args.provider.lower(), PROVIDERS)
        if typed is None:
            msg = f"--provider-name must be one of {', '.join(PROVIDERS)}, not {args.provider!r}"
            raise UsageError(msg)
        return typed
    from_env = env_choice(env, "NUMPY_WHEELS_STORE", PROVIDERS, fold_case=True)
    if from_env is not None:
        return from_env
    configured = cfg.store.get("provider-name", "local")
    typed = one_of(configured.strip().lower(), PROVIDERS)
    if typed is None:
        msg = (
            f"setup.cfg [staging] provider-name = {configured!r} is not one of "
            f"{', '.join(PROVIDERS)}"
        )
        raise ConfigError(msg)
    return typed


def resolve_store_config(
    root: Path,
    env: Mapping[str, str],
    args: StoreArgs,
    *,
    mode: Mode,
    require_credentials: bool = True,
) -> StoreConfig:
    """The store to use: the mode picks the release or daily container unless one is named.
    Without ``require_credentials`` (a dry run) missing credentials leave them None."""
    cfg = read_staging_config(root)
    container = _container(root, cfg, args, mode=mode)
    typed = _provider(cfg, env, args)
    try:
        username, secret = credentials(typed, env, username=args.username, secret=args.secret)
    except CredentialsMissingError:
        if require_credentials:
            raise
        username = secret = None
    local_root = _local_root(root, cfg, args, checked=typed == "local")
    region = (args.region or cfg.store.get("region") or "").strip() or None
    if typed == "cloudfiles":
        region = region or RACKSPACE_REGION
    return StoreConfig(
        provider=typed,
        container=container,
        username=username,
        secret=secret,
        region=region,
        auth_version=_auth_version(cfg, env, args) if typed == "swift" else "1",
        project=args.project
        or env.get("OS_PROJECT_NAME")
        or env.get("OS_TENANT_NAME")
        or cfg.store.get("project-name"),
        domain=env.get("OS_USER_DOMAIN_NAME") or cfg.store.get("domain-name", "Default"),
        local_root=local_root,
        public=args.public,
        timeout=args.timeout,
        **_store_urls(cfg, env, args, typed),
    )


class _StoreUrls(TypedDict):
    auth_url: str | None
    storage_url: str | None
    endpoint_url: str | None
    public_url: str | None


def _store_urls(
    cfg: StagingConfig, env: Mapping[str, str], args: StoreArgs, typed: Provider
) -> _StoreUrls:
    """auth_url, storage_url, endpoint_url and public_url: command line > environment >
    setup.cfg, each checked by ``_url``. Cloud Files takes Rackspace's identity service
    unless one is named; ST_AUTH/OS_AUTH_URL are not read for it: they name v1.0 or
    Keystone endpoints, which take no API key."""
    conf = "setup.cfg [staging]"
    store = cfg.store
    identity = [("--auth-url", args.auth_url), (f"{conf} auth-url", store.get("auth-url"))]
    if typed != "cloudfiles":
        identity[1:1] = [("ST_AUTH", env.get("ST_AUTH")), ("OS_AUTH_URL", env.get("OS_AUTH_URL"))]
    auth_url = _url(identity)
    return {
        "auth_url": RACKSPACE_IDENTITY if typed == "cloudfiles" and not auth_url else auth_url,
        "storage_url": _url(
            [
                ("--storage-url", args.storage_url),
                ("OS_STORAGE_URL", env.get("OS_STORAGE_URL")),
                (f"{conf} storage-url", store.get("storage-url")),
            ]
        ),
        "endpoint_url": _url(
            [
                ("--endpoint-url", args.endpoint_url),
                ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
                (f"{conf} endpoint-url", store.get("endpoint-url")),
            ]
        ),
        "public_url": _url(
            [("--public-url", args.public_url), (f"{conf} public-url", store.get("public-url"))],
            schemes=("http", "https", "file"),
        ),
    }


def _url(
    sources: list[tuple[str, str | None]], schemes: tuple[str, ...] = ("http", "https")
) -> str | None:
    """The first URL given in ``sources`` ((where it is written, value), highest precedence
    first), which must be one of ``schemes`` with a host (file: without). Anything else
    reached the store client and failed there, after the work, in the client's words
    (``--auth-url ftp://…``: a StoreError quoting requests). From the command line it is a
    UsageError, from the environment or setup.cfg a ConfigError naming where it is written."""
    for where, value in sources:
        if not value:
            continue
        try:
            parts = urllib.parse.urlsplit(value.strip())
            usable = parts.scheme.lower() in schemes and (
                parts.scheme.lower() == "file" or bool(parts.hostname)
            )
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:  # an unclosed [IPv6 bracket, a bad port
            usable = False
        if usable:
            return value.strip()
        wanted = " or ".join(f"{s}://" for s in schemes)
        msg = f"{where} = {log.redact(value)!r} is not a URL of the form {wanted}HOST/…"
        raise (UsageError if where.startswith("--") else ConfigError)(msg)
    return None
