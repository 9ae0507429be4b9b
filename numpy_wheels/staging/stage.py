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
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

from packaging.version import Version

from numpy_wheels.build import twinecheck, validate
from numpy_wheels.build.tagcheck import check_files
from numpy_wheels.build.tagcheck import enforce as enforce_tags
from numpy_wheels.errors import StoreError, UploadConflictError, UsageError
from numpy_wheels.files import (
    BadDistribution,
    is_dist,
    load_json,
    read_json,
    sha256_of,
)
from numpy_wheels.files import parse_dist as parse_dist_name
from numpy_wheels.log import log
from numpy_wheels.model.matrix import BuildId
from numpy_wheels.staging.pages import Record, index_html, metadata_json, simple_pages
from numpy_wheels.staging.store import Store

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
    """Project, version and tag set (``sdist`` for an sdist) of a wheel or sdist file name;
    anything else is a UsageError."""
    try:
        dist = parse_dist_name(filename)
    except BadDistribution as exc:
        raise UsageError(str(exc)) from None
    return dist.project, dist.version, frozenset(str(t) for t in dist.tags) or frozenset({"sdist"})


def check_local_file(path: Path) -> None:
    """Refuse what is named like a wheel/sdist but is not one to publish: a symlink (it could
    publish any file the job can read), not a regular file, empty, or anything the release
    would refuse it for (build/validate.py: not a readable archive, a RECORD or CRC that does
    not match, METADATA or WHEEL naming another project, version or tags than the file name).
    UsageError: nothing is sent. A damaged wheel is refused by the job that built it, which
    can build it again, rather than at the release."""
    try:
        st = path.lstat()
    except OSError as exc:
        msg = f"{path}: cannot read it ({exc.strerror})"
        raise UsageError(msg) from None
    if stat.S_ISLNK(st.st_mode):
        msg = f"{path} is a symbolic link; stage the file itself, not a link to it"
        raise UsageError(msg)
    if not stat.S_ISREG(st.st_mode):
        msg = f"{path} is not a regular file"
        raise UsageError(msg)
    if st.st_size == 0:
        msg = f"{path} is empty"
        raise UsageError(msg)
    _refuse_unreleasable_name(path)
    try:
        validate.check_file(path)
    except validate.InvalidDistribution as exc:
        msg = f"{path.parent}/{exc}; nothing was staged"
        raise UsageError(msg, hint=INVALID_FILE_HINT) from None


INVALID_FILE_HINT = (
    "Build the file again (or remove it from --local-folder): what the release would refuse "
    "is never staged."
)


def _refuse_unreleasable_name(path: Path) -> None:
    """A name the release gate would always refuse is refused before anything is staged:
    a ``linux_*`` wheel (never repaired) or a spelling other than the manifest's."""
    try:
        dist = parse_dist_name(path.name)
    except BadDistribution as exc:
        raise UsageError(str(exc)) from None
    if dist.unindexable_platforms:
        msg = (
            f"{path}: the platform tag {dist.unindexable_platforms[0]} is accepted by no "
            "package index (an unrepaired wheel: `numpy-wheels build` repairs it into a "
            "manylinux/musllinux tag); nothing was staged"
        )
        raise UsageError(msg)
    problem = dist.spelling_problem()
    if problem is not None:
        msg = (
            f"{path.name!r}: {problem}; the release gate only accepts the names "
            "`numpy-wheels matrix --wheels VERSION` lists. Nothing was staged"
        )
        raise UsageError(msg)


def record_names(store: Store, *, warn: bool = False) -> list[str]:
    """The file names the store holds records of. Objects under ``.records/`` that are not
    records of a wheel or sdist are ignored (and said so with ``warn``): one stray object
    must never block every later upload of the container."""
    names = []
    for obj in store.list(RECORDS):
        filename = obj.name[len(RECORDS) : -len(".json")]
        if not obj.name.endswith(".json"):
            continue
        if "/" in filename or not is_dist(filename):
            if warn:
                log.warning(f"ignoring {obj.name} in the store: not a record of a wheel or sdist")
            continue
        names.append(filename)
    return names


def read_records(store: Store, known: dict[str, Record] | None = None) -> dict[str, Record]:
    """Every record in the store; ``known`` ones (this process wrote them) are not fetched
    again, the others are fetched in parallel."""
    listed = record_names(store, warn=not known)
    known = known or {}
    missing = [f for f in listed if f not in known]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        fetched = dict(
            zip(
                missing,
                pool.map(lambda f: store.get_bytes(f"{RECORDS}{f}.json"), missing),
                strict=True,
            )
        )
    out: dict[str, Record] = {}
    for filename in listed:
        if filename in known:
            out[filename] = known[filename]
        elif (raw := fetched[filename]) is not None:  # None: removed by a concurrent pass
            where = f"{RECORDS}{filename}.json in the store"
            fields = load_json(raw, where=where, error=StoreError, what="a record")
            try:
                record = Record(**fields)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:  # not an object, or other fields
                msg = f"{RECORDS}{filename}.json in the store is not a record ({exc})"
                raise StoreError(msg) from None
            if record.filename != filename:
                msg = f"{RECORDS}{filename}.json in the store is the record of {record.filename!r}"
                raise StoreError(msg)
            out[filename] = record
    return out


def publish_pages(
    store: Store,
    *,
    project: str,
    expected: Sequence[BuildId],
    sdist: bool = False,
    known: dict[str, Record] | None = None,
    public_url: str | None = None,
    attempts: int = 10,
) -> dict[str, Record]:
    """Rebuild metadata.json, index.html and simple/ until a listing after the write agrees;
    ``public_url`` (the container's public address) is named on index.html."""
    records = dict(known or {})
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
            index_html(
                values, project=project, expected=expected, public_url=public_url, sdist=sdist
            ).encode(),
            content_type="text/html",
        )
        after = set(record_names(store))
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


#: One file of an upload: its path, its record when known before sending, what happens.
Planned: TypeAlias = tuple[Path, Record | None, Action]


def _record_of(
    path: Path, uploaded: str, builds: Mapping[str, Mapping[str, object]] | None = None
) -> Record:
    name, version, _ = parse_dist(path.name)
    digest = sha256_of(path)
    build = (builds or {}).get(path.name)
    if build is not None and build.get("sha256") != digest:
        log.warning(f"{path.name}: the build summary names other bytes; staged without it")
        build = None
    return Record(
        filename=path.name,
        project=name,
        version=str(version),
        sha256=digest,
        size=path.stat().st_size,
        uploaded=uploaded,
        build=build,
    )


#: The summaries ``build`` and ``sdist`` write into the wheelhouse (CI jobs that gather
#: several wheelhouses rename theirs ``build-summary-JOB.json``).
SUMMARIES = ("build-summary*.json", "sdist-summary*.json")
SUMMARY_HINT = (
    "Remove it from the wheelhouse or put back the one `build`/`sdist` wrote; nothing was uploaded."
)


def provenance(folder: Path) -> dict[str, dict[str, object]]:
    """file name -> its build record, from the summaries in ``folder``: the commit asked
    for, the source it resolved to (git SHA, or the sdist and its sha256), the tests, the
    tool. A summary that is not a regular file (a FIFO is never opened: it would wait for a
    writer) or not JSON is a UsageError naming it, before anything is sent; one whose shape
    this tool cannot read is named and skipped (its files then have none)."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted(p for pattern in SUMMARIES for p in folder.glob(pattern)):
        summary: Any = read_json(path, error=UsageError, hint=SUMMARY_HINT)
        try:
            common = {
                "tool": summary.get("tool"),
                "commit": summary["commit"]["commit"],
                "mode": summary["commit"].get("mode"),
                "source": {k: v for k, v in summary["source"].items() if k != "path"}
                if "source" in summary
                else None,
                "summary": path.name,
            }
            for wheel in summary.get("wheels", []):
                if wheel.get("wheel") and wheel.get("sha256"):
                    out[wheel["wheel"]] = common | {
                        "kind": "wheel",
                        "identifier": wheel.get("identifier"),
                        "sha256": wheel["sha256"],
                        "ok": bool(wheel.get("ok")),
                        "test": wheel.get("test"),
                    }
            if "sdist" in summary:
                sdist = summary["sdist"]
                out[sdist["filename"]] = common | {
                    "kind": "sdist",
                    "source": {k: v for k, v in sdist["source"].items() if k != "path"},
                    "sha256": sdist["sha256"],
                    "ok": True,  # the summary is written only after every check passed
                    "test": "; ".join(f"{k}: {v}" for k, v in sdist.get("checks", {}).items()),
                }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning(f"{path}: not a build summary this tool can read ({exc}); skipped")
    return out


def _plan_upload(
    files: Sequence[Path],
    existing: Mapping[str, Record],
    *,
    force: bool,
    uploaded: str,
    builds: Mapping[str, Mapping[str, object]] | None = None,
) -> list[Planned]:
    """What happens to each file; an UploadConflictError before any byte is sent.

    Names already staged are hashed up front: a conflict must stop the run before any byte
    is sent. New names cannot conflict, so they are hashed by the upload workers, in
    parallel with other files' transfers."""
    plan: list[Planned] = []
    for path in files:
        _, version, _ = parse_dist(path.name)
        old = existing.get(path.name)
        if old is None:
            plan.append((path, None, "uploaded"))
            continue
        record = _record_of(path, uploaded, builds)
        if old.sha256 == record.sha256:
            plan.append((path, old, "skipped"))
        elif force or version.is_devrelease:
            plan.append((path, record, "replaced"))
        else:
            msg = (
                f"{path.name} is already staged with sha256 {old.sha256}; this file has "
                f"{record.sha256}. Nothing was uploaded."
            )
            raise UploadConflictError(msg)
    return plan


def _send(
    item: Planned,
    *,
    store: Store,
    uploaded: str,
    written: dict[str, Record],
    builds: Mapping[str, Mapping[str, object]] | None = None,
) -> Staged:
    """One file and its record (the record after the file: no record names a missing file)."""
    path, known, action = item
    start = time.monotonic()
    record = known or _record_of(path, uploaded, builds)
    if action != "skipped":
        store.put_file(path.name, path, content_type=_content_type(path.name))
        store.put_bytes(
            f"{RECORDS}{path.name}.json",
            json.dumps(record.as_json()).encode(),
            content_type="application/json",
        )
        written[path.name] = record
    return Staged(
        filename=path.name,
        size=record.size,
        sha256=record.sha256,
        action=action,
        seconds=time.monotonic() - start,
    )


def _staged_records(store: Store | None, *, dry_run: bool) -> dict[str, Record]:
    """What the container holds; a real run creates it first, a dry run writes nothing
    anywhere (no container created, no CDN enabled) and reads what is there, if anything."""
    if store is None:
        assert dry_run, "only a dry run goes without the store"
        return {}
    if not dry_run:
        store.ensure_container()
    elif not store.exists():
        log.write(f"dry run: container {store.config.container!r} does not exist yet")
        return {}
    return read_records(store)


def upload(
    files: Sequence[Path],
    *,
    store: Store | None,
    project: str,
    expected: Sequence[BuildId],
    sdist: bool = False,
    update_index: bool = True,
    force: bool = False,
    keep_dev: int = 5,
    max_workers: int = 8,
    dry_run: bool = False,
    progress: Callable[[Staged], None] | None = None,
    builds: Mapping[str, Mapping[str, object]] | None = None,
) -> list[Staged]:
    """Upload ``files``; identical bytes are skipped, a release file with other bytes refused.
    ``store`` None: a dry run that cannot read the container (every file would be sent)."""
    _check_before_upload(files)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    plan = _plan_upload(
        files, _staged_records(store, dry_run=dry_run), force=force, uploaded=now, builds=builds
    )
    if dry_run:
        return _would_upload(plan, now)
    assert store is not None  # only a dry run goes without it
    written: dict[str, Record] = {}

    sending: set[str] = set()

    def send(item: Planned) -> Staged:
        sending.add(item[0].name)  # set.add/discard are atomic
        try:
            done = _send(item, store=store, uploaded=now, written=written, builds=builds)
        finally:
            sending.discard(item[0].name)
        if progress is not None:
            progress(done)
        return done

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        try:
            results = list(pool.map(send, plan))
        except BaseException:
            _say_in_flight(sorted(sending))
            raise
    if update_index:
        _refresh_pages(
            store, written, project=project, expected=expected, sdist=sdist, keep_dev=keep_dev
        )
    return results


def _say_in_flight(in_flight: list[str]) -> None:
    """After a failure or Ctrl-C, no file not yet started is sent (``Executor.map`` cancels
    its queued calls when its results stop being read); those in flight are finished, each
    stored whole or not at all, and that wait is said: it lasted as long as the largest
    upload, without a word (issue 16 tryout: 45 s after Ctrl-C)."""
    if in_flight:
        log.write(
            f"stopping: no more files are started; {len(in_flight)} upload(s) in flight "
            f"finish first ({', '.join(in_flight)}); Ctrl-C again to leave them, a rerun "
            "skips what arrived"
        )


def _check_before_upload(files: Sequence[Path]) -> None:
    """Something to upload, each a regular local file, no wheel whose tags overclaim (a
    WheelTagError) and none that ``twine check --strict`` fails (a UsageError, as PyPI would
    refuse its upload at the release): nothing reaches the container before all pass."""
    if not files:
        msg = "no wheels or sdists to upload"
        raise UsageError(msg)
    for path in files:
        check_local_file(path)
    reports = check_files(files)
    for report in reports:
        if report.checked != "not checked":
            log.write(report.summary())
    enforce_tags(reports)
    try:
        twinecheck.check_distinct(files)
    except (twinecheck.TwineCheckFailed, BadDistribution) as exc:
        msg = f"{exc}\nNothing was staged: PyPI would refuse this file at the release."
        raise UsageError(msg, hint=twinecheck.FIX_HINT) from None


def _would_upload(plan: Sequence[Planned], now: str) -> list[Staged]:
    """The dry run's answer: what is already there is skipped, the rest would be sent."""
    return [
        Staged(
            filename=r.filename,
            size=r.size,
            sha256=r.sha256,
            action="skipped" if a == "skipped" else "would upload",
        )
        for r, a in ((r or _record_of(p, now), a) for p, r, a in plan)
    ]


def _refresh_pages(
    store: Store,
    written: dict[str, Record],
    *,
    project: str,
    expected: Sequence[BuildId],
    sdist: bool,
    keep_dev: int,
) -> None:
    """Every record (this upload's and the container's), old dev files retired, then the
    pages rebuilt from them."""
    records = read_records(store, written)
    for filename in _retention(store, records, keep_dev):
        log.write(f"removed old dev file {filename} (keeping the newest {keep_dev})")
    publish_pages(
        store,
        project=project,
        expected=expected,
        sdist=sdist,
        known=records,
        public_url=store.public_address(),
    )
