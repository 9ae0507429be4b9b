"""Staging stores: a local directory, OpenStack Swift and S3 (Rackspace Cloud Files, Swift with
Rackspace's identity and CDN, is in cloudfiles.py).

One small protocol over maintained clients (python-swiftclient, boto3); the protocols are not
hand-rolled. Every object write is whole or absent: Swift and S3 PUTs are atomic and carry the
MD5 the server checks; the local store writes a temporary file and renames it. Retries of
connection errors and 5xx are the clients' own (swiftclient ``retries``, botocore "standard").
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from numpy_wheels.config.staging import StoreConfig, check_container_name
from numpy_wheels.errors import AuthError, StoreError
from numpy_wheels.log import log


@dataclasses.dataclass(frozen=True, kw_only=True)
class ObjectInfo:
    name: str
    size: int


class Store(Protocol):
    config: StoreConfig

    def ensure_container(self) -> None: ...
    def exists(self) -> bool:
        """Whether the container exists (read-only: a dry run asks, never creates)."""
        ...

    def list(self, prefix: str = "") -> list[ObjectInfo]: ...
    def put_file(self, name: str, path: Path, *, content_type: str) -> None: ...
    def put_bytes(self, name: str, data: bytes, *, content_type: str) -> None: ...
    def get_bytes(self, name: str) -> bytes | None: ...
    def delete(self, name: str) -> None: ...
    def download(self, name: str, dest: Path) -> None: ...
    def base_url(self) -> str: ...
    def public_address(self) -> str | None:
        """Where anonymous readers find the container (ends in "/"), if it is published."""
        ...


LINK_HINT = (
    "Nothing was written through the link: replace it by a real directory, or name the real "
    "place as --local-root."
)


class LocalStore:
    """A directory; keys ending in ``/`` are stored as ``…/index.html`` (served as pages)."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        check_container_name(config.container)
        #: --local-root as named (links in it are the user's choice, resolved once here)
        self.base = (config.local_root or Path("staging")).resolve()
        self.root = self.base / config.container

    def _path(self, name: str) -> Path:
        """The file of object ``name``, always inside the container directory; every read
        and write goes through here."""
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or any(p in (".", "..") for p in parts):
            msg = f"object name {name!r} would leave the container {self.root}; refused"
            raise StoreError(msg)
        path = self.root / (name + "index.html" if name.endswith("/") or not name else name)
        self._check_inside(path)
        return path

    def _check_inside(self, path: Path) -> None:
        """Refuse ``path`` when any part of it below --local-root (the container directory
        included, the object itself too) is a symbolic link, or it resolves outside: a link
        planted in the store would have objects written or read anywhere the job can reach
        (issue 18 tryout: a symlinked container directory took the whole upload outside).
        StoreError, the same for every part."""
        current = self.base
        with self._errors(f"check of {path}"):
            for part in path.relative_to(self.base).parts:
                current = current / part
                if current.is_symlink():
                    msg = (
                        f"{current} is a symbolic link (to {current.readlink()}); the local "
                        f"store follows no link below --local-root {self.base}"
                    )
                    raise StoreError(msg, hint=LINK_HINT)
            inside = path.resolve().is_relative_to(self.base)
        if not inside:
            msg = f"{path} leads out of --local-root {self.base}"
            raise StoreError(msg, hint=LINK_HINT)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """OSError of the local file system → StoreError naming the operation."""
        try:
            yield
        except OSError as exc:
            msg = f"local store {what} failed in {self.root}: {exc.strerror or exc}"
            raise StoreError(msg) from None

    def ensure_container(self) -> None:
        self._check_inside(self.root)
        with self._errors("create container"):
            self.root.mkdir(parents=True, exist_ok=True)

    def exists(self) -> bool:
        self._check_inside(self.root)
        return self.root.is_dir()

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.exists():  # a typo in --local-root or the container is not "nothing staged"
            msg = f"container {self.config.container!r} does not exist: no directory {self.root}"
            raise StoreError(msg)
        out = []
        with self._errors("list"):
            for path in sorted(self.root.rglob("*")):
                name = path.relative_to(self.root).as_posix()
                if (
                    path.is_file()
                    and not path.is_symlink()
                    and name.startswith(prefix)
                    and ".part-" not in path.name
                ):
                    out.append(ObjectInfo(name=name, size=path.stat().st_size))
        return out

    def _write(self, name: str, write: Any) -> None:
        target = self._path(name)
        with self._errors(f"write of {name}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                # Readable by all only when the container is public (the CDN switch).
                Path(tmp).chmod(0o644 if self.config.public else 0o600)
                Path(tmp).replace(target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def put_file(self, name: str, path: Path, *, content_type: str) -> None:
        del content_type
        with self._errors(f"read of {path}"), path.open("rb") as src:
            self._write(name, lambda fh: _copy(src, fh))

    def put_bytes(self, name: str, data: bytes, *, content_type: str) -> None:
        del content_type
        self._write(name, lambda fh: fh.write(data))

    def get_bytes(self, name: str) -> bytes | None:
        path = self._path(name)
        with self._errors(f"read of {name}"):
            return path.read_bytes() if path.is_file() else None

    def delete(self, name: str) -> None:
        with self._errors(f"delete of {name}"):
            self._path(name).unlink(missing_ok=True)

    def download(self, name: str, dest: Path) -> None:
        try:
            shutil.copyfile(self._path(name), dest)
        except FileNotFoundError:
            msg = f"{name} is listed but not in {self.root}"
            raise StoreError(msg) from None
        except OSError as exc:
            msg = f"cannot copy {name} from {self.root}: {exc.strerror or exc}"
            raise StoreError(msg) from None

    def base_url(self) -> str:
        return self.config.public_url or self.root.as_uri() + "/"

    def public_address(self) -> str | None:
        return self.config.public_url


def _copy(src: Any, dst: Any) -> None:
    while block := src.read(1 << 20):
        dst.write(block)


class _RemoteStore:
    """put_file/put_bytes of a remote store: one PUT with its Content-Length, from a file or
    from bytes, so the object is stored whole or not at all."""

    def put_file(self, name: str, path: Path, *, content_type: str) -> None:
        with path.open("rb") as fh:
            self._put(name, fh, path.stat().st_size, content_type)

    def put_bytes(self, name: str, data: bytes, *, content_type: str) -> None:
        self._put(name, data, len(data), content_type)

    def _put(self, name: str, body: Any, size: int, content_type: str) -> None:
        raise NotImplementedError


class SwiftStore(_RemoteStore):
    """OpenStack Swift through python-swiftclient (tempauth v1, Keystone v2/v3)."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._local = threading.local()

    @property
    def conn(self) -> Any:
        """This thread's swiftclient ``Connection``: one is not thread-safe (it holds one HTTP
        connection, so two workers' bodies interleaved: a 294-byte download read 3262 bytes).
        swiftclient's own SwiftService gives each worker its own the same way
        (swiftclient/multithreading.py, ConnectionThreadPoolExecutor)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self) -> Any:
        from swiftclient.client import Connection

        config = self.config
        os_options: dict[str, str] = {}
        if config.region:
            os_options["region_name"] = config.region
        if config.project:
            os_options["project_name"] = config.project
        if config.auth_version.startswith("3"):
            os_options["user_domain_name"] = config.domain
            os_options["project_domain_name"] = config.domain
        if config.storage_url:
            os_options["object_storage_url"] = config.storage_url
        return Connection(
            authurl=config.auth_url,
            user=config.username,
            key=config.secret,
            auth_version=config.auth_version,
            os_options=os_options,
            retries=config.retries,
            starting_backoff=0.5,
            max_backoff=8,
            timeout=config.timeout,
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from swiftclient.exceptions import ClientException

        try:
            return fn(*args, **kwargs)
        except ClientException as exc:
            status = getattr(exc, "http_status", None)
            # Keystone refusals arrive from keystoneclient without an HTTP status.
            if status in (401, 403) or str(getattr(exc, "msg", "")).startswith("Unauthorized"):
                msg = f"Swift refused the credentials of {self.config.username!r} ({status})"
                raise AuthError(log.redact(msg)) from None
            if status == 404 and what in ("get", "head container"):
                return None
            if status == 404 and what == "list":
                msg = (
                    f"container {self.config.container!r} does not exist in "
                    f"{self.conn.url or self.config.storage_url or self.config.auth_url}"
                )
                raise StoreError(log.redact(msg)) from None
            msg = f"Swift {what} failed: {exc.msg if hasattr(exc, 'msg') else exc}"
            raise StoreError(log.redact(msg)) from None
        except OSError as exc:  # requests' ConnectionError is an OSError
            where = self.conn.url or self.config.storage_url or self.config.auth_url
            msg = f"Swift {what} failed: cannot reach {where}: {type(exc).__name__}"
            raise StoreError(log.redact(msg)) from None

    def ensure_container(self) -> None:
        headers = {"X-Container-Read": ".r:*,.rlistings"} if self.config.public else {}
        self._call("put container", self.conn.put_container, self.config.container, headers)

    def exists(self) -> bool:
        found = self._call("head container", self.conn.head_container, self.config.container)
        return found is not None

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        _, items = self._call(
            "list",
            self.conn.get_container,
            self.config.container,
            prefix=prefix or None,
            full_listing=True,
        )
        return [ObjectInfo(name=i["name"], size=int(i["bytes"])) for i in items]

    def _put(self, name: str, body: Any, size: int, content_type: str) -> None:
        # A PUT with its Content-Length is stored whole or not at all.
        self._call(
            "upload",
            self.conn.put_object,
            self.config.container,
            name,
            body,
            content_length=size,
            content_type=content_type,
        )

    def get_bytes(self, name: str) -> bytes | None:
        """The object's bytes, checked against the Content-Length and ETag (MD5) Swift sent:
        under load a body was once read empty, and a record read empty is a lost record."""
        problem = ""
        for _ in range(GET_ATTEMPTS):
            got = self._call("get", self.conn.get_object, self.config.container, name)
            if got is None:
                return None
            headers, body = got
            problem = _body_problem(headers, bytes(body))
            if not problem:
                return bytes(body)
        msg = f"Swift get of {name} failed {GET_ATTEMPTS} times: {problem}"
        raise StoreError(msg)

    def delete(self, name: str) -> None:
        self._call("delete", self.conn.delete_object, self.config.container, name)

    def download(self, name: str, dest: Path) -> None:
        headers, body = self._call(
            "download", self.conn.get_object, self.config.container, name, resp_chunk_size=1 << 20
        )
        size = 0
        with dest.open("wb") as fh:
            for block in body:
                fh.write(block)
                size += len(block)
        expected = headers.get("content-length")
        if expected is not None and expected.isdigit() and int(expected) != size:
            msg = f"Swift download of {name} ended after {size} of {expected} bytes"
            raise StoreError(msg)

    def base_url(self) -> str:
        if self.config.public_url:
            return self.config.public_url
        url, _ = self._call("auth", self.conn.get_auth)
        return f"{url}/{self.config.container}/"

    def public_address(self) -> str | None:
        return self.config.public_url


#: Reads of one object before a short or corrupt body is a StoreError.
GET_ATTEMPTS = 3


def _body_problem(headers: Mapping[str, str], body: bytes) -> str:
    """Why ``body`` is not the object Swift described in ``headers`` ("" when it is).

    >>> _body_problem({"content-length": "3", "etag": "900150983cd24fb0d6963f7d28e17f72"}, b"abc")
    ''
    >>> _body_problem({"content-length": "3"}, b"")
    'a short body (0 of 3 bytes)'
    """
    expected = headers.get("content-length", "")
    if expected.isdigit() and int(expected) != len(body):
        return f"a short body ({len(body)} of {expected} bytes)"
    etag = headers.get("etag", "").strip('"').lower()
    large = "x-object-manifest" in headers or "x-static-large-object" in headers
    # a plain object's ETag is the MD5 of its bytes (a large object's is not)
    if (
        len(etag) == 32
        and not large
        and hashlib.md5(body, usedforsecurity=False).hexdigest() != etag
    ):
        return "a body whose MD5 is not the object's ETag"
    return ""


class S3Store(_RemoteStore):
    """S3-compatible buckets through boto3 (endpoint URL, region, path-style addressing)."""

    def __init__(self, config: StoreConfig) -> None:
        import boto3
        from botocore.config import Config

        self.config = config
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region or "us-east-1",
            aws_access_key_id=config.username,
            aws_secret_access_key=config.secret,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": config.retries, "mode": "standard"},
                connect_timeout=config.timeout,
                read_timeout=config.timeout,
            ),
        )

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            # by status too: servers name refusals differently (InvalidToken, Forbidden, ...)
            if status in (401, 403) or code in (
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
                "403",
            ):
                msg = f"S3 refused the credentials ({code or status})"
                hint = (
                    "Check WHEELHOUSE_UPLOADER_USERNAME/_SECRET (or AWS_ACCESS_KEY_ID/"
                    f"AWS_SECRET_ACCESS_KEY) and that the key may use bucket "
                    f"{self.config.container!r}."
                )
                raise AuthError(msg, hint=hint) from None
            if code in ("NoSuchKey", "NoSuchBucket", "404") and what in ("get", "head bucket"):
                return None
            if code == "NoSuchBucket":
                msg = (
                    f"bucket {self.config.container!r} does not exist at {self.config.endpoint_url}"
                )
                raise StoreError(msg) from None
            msg = f"S3 {what} failed: {code}"
            raise StoreError(msg) from None
        except BotoCoreError as exc:
            msg = f"S3 {what} failed: {type(exc).__name__} ({self.config.endpoint_url})"
            raise StoreError(msg) from None

    def ensure_container(self) -> None:
        if not self.exists():
            self._call("create bucket", self.client.create_bucket, Bucket=self.config.container)

    def exists(self) -> bool:
        bucket = self.config.container
        return self._call("head bucket", self.client.head_bucket, Bucket=bucket) is not None

    def _acl(self) -> dict[str, str]:
        return {"ACL": "public-read"} if self.config.public else {}

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        out: list[ObjectInfo] = []
        token: str | None = None
        while True:
            args = {"Bucket": self.config.container, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = self._call("list", self.client.list_objects_v2, **args)
            out.extend(
                ObjectInfo(name=o["Key"], size=int(o["Size"])) for o in page.get("Contents", [])
            )
            token = page.get("NextContinuationToken")
            if not token:
                return out

    def _put(self, name: str, body: Any, size: int, content_type: str) -> None:
        self._call(
            "upload",
            self.client.put_object,
            Bucket=self.config.container,
            Key=name,
            Body=body,
            ContentType=content_type,
            ContentLength=size,
            **self._acl(),
        )

    def get_bytes(self, name: str) -> bytes | None:
        got = self._call("get", self.client.get_object, Bucket=self.config.container, Key=name)
        return None if got is None else bytes(got["Body"].read())

    def delete(self, name: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.config.container, Key=name)

    def download(self, name: str, dest: Path) -> None:
        self._call(
            "download",
            self.client.download_file,
            Bucket=self.config.container,
            Key=name,
            Filename=str(dest),
        )

    def base_url(self) -> str:
        return self.config.public_url or f"{self.config.endpoint_url}/{self.config.container}/"

    def public_address(self) -> str | None:
        return self.config.public_url
