"""Stage a wheelhouse in the store: gate, upload, per-file records, retention, pages.

Concurrency: every uploader writes one record per file (``.records/<file>.json``) after the
file itself, then rebuilds ``metadata.json``, ``index.html`` and ``simple/`` from the listing of
all records, and lists again after writing: if records appeared meanwhile it rebuilds once more.
The last writer therefore always publishes every record written before its final listing, so
concurrent CI jobs never lose each other's entries (the old merge of metadata.json did).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import StoreError, UploadConflictError, UsageError
from .log import log
from .matrix import BuildId
from .pages import Record, index_html, metadata_json, simple_pages
from .source import sha256_of
from .store import Store

RECORDS = ".records/"
Action: TypeAlias = Literal["uploaded", "skipped", "replaced", "would upload"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Staged:
    filename: str
    size: int
    sha256: str
    action: Action
    seconds: float = 0.0


def parse_dist(filename: str) -> tuple[str, Version, frozenset[str]]:
    """Project, version and tag set of a wheel or sdist file name (build tags, compressed
    tag sets); anything else is a UsageError."""
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            return str(name), version, frozenset(str(t) for t in tags)
        name, version = parse_sdist_filename(filename)
        return str(name), version, frozenset({"sdist"})
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        msg = f"{filename}: not a wheel or sdist file name ({exc})"
        raise UsageError(msg) from None


def read_records(store: Store, known: dict[str, Record] | None = None) -> dict[str, Record]:
    """Every record in the store (``known`` ones are not fetched again)."""
    known = dict(known or {})
    names = [o.name for o in store.list(RECORDS) if o.name.endswith(".json")]
    out: dict[str, Record] = {}
    for name in names:
        filename = name[len(RECORDS) : -len(".json")]
        if filename in known:
            out[filename] = known[filename]
            continue
        raw = store.get_bytes(name)
        if raw is None:  # deleted by a concurrent retention pass
            continue
        out[filename] = Record(**json.loads(raw))
    return out


def publish_pages(
    store: Store, *, project: str, expected: Sequence[BuildId], attempts: int = 10
) -> dict[str, Record]:
    """Rebuild metadata.json, index.html and simple/ until a listing after the write agrees."""
    records: dict[str, Record] = {}
    for _ in range(attempts):
        records = read_records(store, records)
        values = list(records.values())
        for name, text in simple_pages(values).items():
            store.put_bytes(name, text.encode(), content_type="text/html")
        store.put_bytes(
            "metadata.json",
            json.dumps(metadata_json(values), indent=1).encode(),
            content_type="application/json",
        )
        store.put_bytes(
            "index.html",
            index_html(values, project=project, expected=expected).encode(),
            content_type="text/html",
        )
        after = {o.name[len(RECORDS) : -len(".json")] for o in store.list(RECORDS)}
        if after == set(records):
            return records
    msg = f"the store's records kept changing over {attempts} index rebuilds"
    raise StoreError(msg)


def _retention(store: Store, records: dict[str, Record], keep_dev: int) -> list[str]:
    """Delete all but the ``keep_dev`` newest dev files per (project, tags), by version."""
    groups: dict[tuple[str, frozenset[str]], list[tuple[Version, str]]] = {}
    for filename in records:
        project, version, tags = parse_dist(filename)
        if version.is_devrelease:
            groups.setdefault((project, tags), []).append((version, filename))
    removed = []
    for files in groups.values():
        for _, filename in sorted(files, reverse=True)[keep_dev:]:
            # Record first: no page ever links a file that is already gone.
            store.delete(f"{RECORDS}{filename}.json")
            store.delete(filename)
            removed.append(filename)
            del records[filename]
    return removed


def _content_type(filename: str) -> str:
    return "application/zip" if filename.endswith(".whl") else "application/gzip"


def upload(
    files: Sequence[Path],
    *,
    store: Store,
    project: str,
    expected: Sequence[BuildId],
    update_index: bool = True,
    force: bool = False,
    keep_dev: int = 5,
    max_workers: int = 4,
    dry_run: bool = False,
    progress: Callable[[Staged], None] | None = None,
) -> list[Staged]:
    """Upload ``files``; identical bytes are skipped, a release file with other bytes refused."""
    if not files:
        msg = "no wheels or sdists to upload"
        raise UsageError(msg)
    store.ensure_container()
    existing = read_records(store)
    plan: list[tuple[Path, Record, Action]] = []
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for path in files:
        name, version, _ = parse_dist(path.name)
        record = Record(
            filename=path.name,
            project=name,
            version=str(version),
            sha256=sha256_of(path),
            size=path.stat().st_size,
            uploaded=now,
        )
        old = existing.get(path.name)
        if old is not None and old.sha256 == record.sha256:
            plan.append((path, old, "skipped"))
        elif old is not None and not (force or version.is_devrelease):
            msg = (
                f"{path.name} is already staged with sha256 {old.sha256}; this file has "
                f"{record.sha256}. Nothing was uploaded."
            )
            raise UploadConflictError(msg)
        else:
            plan.append((path, record, "replaced" if old else "uploaded"))
    if dry_run:
        return [
            Staged(
                filename=p.name,
                size=r.size,
                sha256=r.sha256,
                action="skipped" if a == "skipped" else "would upload",
            )
            for p, r, a in plan
        ]

    def send(item: tuple[Path, Record, Action]) -> Staged:
        path, record, action = item
        start = time.monotonic()
        if action != "skipped":
            store.put_file(path.name, path, content_type=_content_type(path.name))
            store.put_bytes(
                f"{RECORDS}{path.name}.json",
                json.dumps(record.as_json()).encode(),
                content_type="application/json",
            )
        done = Staged(
            filename=path.name,
            size=record.size,
            sha256=record.sha256,
            action=action,
            seconds=time.monotonic() - start,
        )
        if progress is not None:
            progress(done)
        return done

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        results = list(pool.map(send, plan))
    if update_index:
        records = read_records(store)
        for filename in _retention(store, records, keep_dev):
            log.write(f"removed old dev file {filename} (keeping the newest {keep_dev})")
        publish_pages(store, project=project, expected=expected)
    return results
