"""Release: from the staging container to the package index — complete, verified, signed.

``release()`` is the one function behind ``wheel-uploader`` and ``numpy-wheels release``:
list → select → gate → download (hash-checked) → METADATA coherence → ``twine check --strict``
→ sign → what the index already holds → upload (wheels, then the sdist) → download back from
the index and compare → JSON report. Nothing reaches the index before every check passed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import itertools
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from packaging.utils import canonicalize_name

from numpy_wheels.build import twinecheck, validate
from numpy_wheels.build.tagcheck import TagReport, check_files, enforce
from numpy_wheels.cmd import call
from numpy_wheels.config.release import Target
from numpy_wheels.errors import (
    AuthError,
    CredentialsMissingError,
    IndexUploadError,
    ReleaseGateError,
    SigningError,
    StoreError,
    UsageError,
)
from numpy_wheels.files import (
    count_dists,
    megabytes,
    sha256_of,
    verified_file,
    write_json_atomic,
)
from numpy_wheels.log import log
from numpy_wheels.net import Cancelled, Canceller, Limits
from numpy_wheels.release import gate, provenance
from numpy_wheels.release.listing import Remote, download_url, fetch, from_url
from numpy_wheels.staging.store import Store

#: An index that refused the upload's credentials (twine's 401/403): the index's, not the store's.
INDEX_CREDENTIALS_HINT = (
    "Check TWINE_USERNAME/TWINE_PASSWORD or the ~/.pypirc section -r names (PyPI: __token__ "
    "and an API token allowed to upload this project)."
)

Action: TypeAlias = Literal["uploaded", "skipped", "would upload", "downloaded only", "failed"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    project: str
    version: str
    wheel_dir: Path
    wheel_type: gate.WheelType = "all"
    expected: tuple[str, ...] = ()
    target: Target | None = None  # None with no_twine
    clobber: bool = False
    no_twine: bool = False
    sign: bool = False
    sign_with: str = "gpg"
    identity: str | None = None
    verbose: bool = False
    dry_run: bool = False
    allow_incomplete: bool = False
    allow_unhashed: bool = False
    allow_unverified_provenance: bool = False
    tag: str | None = None  # the release's tag (default vVERSION)
    repo_url: str | None = None  # where the tag is resolved (git ls-remote)
    max_workers: int = 4
    timeout: float = 300.0  # deadline of each request (retries included) and of each twine run

    @property
    def limits(self) -> Limits:
        return Limits(deadline=self.timeout, read_timeout=min(60.0, self.timeout))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Released:
    filename: str
    size: int
    sha256: str
    action: Action
    signed: bool = False
    verified: bool = False
    note: str | None = None  # what happened beyond the action (an error read back as a success)
    build: Mapping[str, object] | None = None  # the staged build record (provenance)


@dataclasses.dataclass(kw_only=True)
class Progress:
    """What a release has done so far, kept up to date as it goes: the report written on
    every exit path (success, refusal, upload failure, Ctrl-C) reads it."""

    files: list[Released] = dataclasses.field(default_factory=list)


def _local_copy(remote: Remote, dest_dir: Path, *, clobber: bool, allow_unhashed: bool) -> bool:
    """Whether a file already in ``dest_dir`` is the staged one (reused, not downloaded).

    Everything that would refuse a file is checked here, for every file before any download
    starts: a name that leaves the directory, something other than a file in the way, other
    bytes without ``--clobber``, no published hash without ``--allow-unhashed``."""
    if Path(remote.filename).name != remote.filename or remote.filename in (".", ".."):
        msg = f"the listing names a file {remote.filename!r} that would leave {dest_dir}; refused"
        raise ReleaseGateError(msg)
    dest = dest_dir / remote.filename
    published = remote.sha256.lower() if remote.sha256 else None
    if dest.is_symlink() or (dest.exists() and not dest.is_file()):
        msg = f"{dest} is in the way (not a regular file); move it away. Nothing was uploaded."
        raise ReleaseGateError(msg)
    if dest.exists():
        if published and sha256_of(dest) == published:
            return True
        if not clobber:
            msg = (
                f"{dest} exists with other bytes than the staged file (or the listing has no "
                "hash to compare); pass -c/--clobber to replace it. Nothing was uploaded."
            )
            raise ReleaseGateError(msg)
    if published is None and not allow_unhashed:
        msg = f"{remote.filename}: the listing publishes no sha256; nothing was downloaded"
        raise ReleaseGateError(
            msg,
            hint="Release from the container's own listing (index.html, metadata.json or its "
            "simple/ pages publish each sha256), or pass --allow-unhashed to accept files no "
            "hash vouches for (each is still checked as a wheel/sdist). Nothing was uploaded.",
        )
    return False


def _fetch_one(
    remote: Remote,
    dest_dir: Path,
    *,
    store: Store | None,
    reuse: bool,
    limits: Limits,
    canceller: Canceller,
) -> tuple[Path, str]:
    """Download ``remote`` to ``dest_dir`` through ``.part`` (hash-checked), unless ``reuse``
    (``_local_copy`` found the staged bytes there). Returns the path and what happened."""
    dest = dest_dir / remote.filename
    if reuse:
        _valid(dest, remote.filename, canceller)
        return dest, "reused (sha256 matches)"
    published = remote.sha256.lower() if remote.sha256 else None
    if canceller.cancelled:
        raise Cancelled

    def write(part: Path) -> str:
        scan = None
        if remote.url is None:
            assert store is not None
            store.download(remote.filename, part)
            got = sha256_of(part)
        else:
            # Bounded by the size the listing published (if any): a server cannot fill the disk.
            bound = remote.size if remote.size is not None else MAX_DIST_BYTES
            # A wheel's members are read as they arrive, not read back from the file after.
            scan = validate.MemberScan(canceller) if remote.filename.endswith(".whl") else None
            got = download_url(
                remote.url,
                part,
                limits=dataclasses.replace(limits, max_bytes=bound),
                canceller=canceller,
                tap=scan.restart if scan is not None else None,
            ).sha256  # hashed while it arrived: no second read of the file
        if published is None or got == published:
            # Checked before the rename: a file that is not what its name says never lands
            # in the wheel directory (verified_file removes the .part).
            _valid(part, remote.filename, canceller, scan)
        return got

    verified_file(
        dest,
        write,
        sha256=published,
        error=ReleaseGateError,
        mismatch="{name}: downloaded sha256 {got} != published {expected}; "
        "the file was deleted. Nothing was uploaded.",
    )
    return dest, "downloaded"


def _valid(
    path: Path,
    filename: str,
    canceller: Canceller | None = None,
    scanned: validate.MemberScan | None = None,
) -> None:
    """A ReleaseGateError, whatever the flags, for a file that is not the wheel/sdist its
    name says (validate.py); Cancelled once ``canceller`` is."""
    try:
        validate.check_file(path, filename, canceller=canceller, scanned=scanned)
    except validate.InvalidDistribution as exc:
        msg = f"{exc}. Nothing was uploaded."
        raise ReleaseGateError(msg, hint=INVALID_HINT) from None


INVALID_HINT = (
    "No flag releases a file that is not what its name says: look at the staged file (a "
    "download script saving an error page?), delete it from the container and re-stage the "
    "real build."
)


#: No wheel or sdist is larger (PyPI's default file limit is 100 MiB).
MAX_DIST_BYTES = 2 << 30


class TwineCheck:
    """``twine check --strict`` once per distinct METADATA, in a thread beside the downloads.

    What twine checks (the long description renders, its content type is declared, the
    metadata parses) is a function of the METADATA bytes alone, and every wheel of a release
    normally carries the same ones: checking one file per distinct METADATA is the same check
    as checking them all, without 25 times the rendering. The caller passes the METADATA it
    read (a file without a readable one is refused before it gets here).

    twine's check runs in this process (``twine_check``); its imports start with the thread,
    while the first file is still downloading. The thread is a daemon, not a pool's: the
    interpreter joins a pool's threads at exit, so Ctrl-C or SIGTERM waited for the check in
    progress (46 s for a valid 1 MiB reStructuredText description; tryout 30)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[None], Path] | None]
        self.jobs = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.checked: dict[str, concurrent.futures.Future[None]] = {}
        threading.Thread(target=self._run, name="twine-check", daemon=True).start()

    def __enter__(self) -> TwineCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        for future in self.checked.values():
            future.cancel()
        self.jobs.put(None)  # the thread ends after its check in progress, if any: not awaited

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # a failing import fails the first check instead
            twinecheck.import_check()
        while (job := self.jobs.get()) is not None:
            future, path = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                _release_twine_check(path)
            except BaseException as exc:  # handed to the thread that waits for it
                future.set_exception(exc)
            else:
                future.set_result(None)

    def submit(self, path: Path, metadata: bytes) -> None:
        """Check ``path`` unless a file with the same ``metadata`` (its METADATA bytes) was."""
        key = hashlib.sha256(metadata).hexdigest()
        with self.lock:
            if key not in self.checked:
                future: concurrent.futures.Future[None] = concurrent.futures.Future()
                self.checked[key] = future
                self.jobs.put((future, path))

    def wait(self) -> None:
        for future in list(self.checked.values()):
            future.result()


def _release_twine_check(path: Path) -> None:
    """``twinecheck.twine_check``, its failure the release gate's."""
    try:
        twinecheck.twine_check(path)
    except twinecheck.TwineCheckFailed as exc:
        msg = f"{exc}\nNothing was uploaded."
        raise ReleaseGateError(msg, hint=twinecheck.FIX_HINT) from None


def download_all(
    remotes: Sequence[Remote],
    opts: ReleaseOptions,
    store: Store | None,
    *,
    on_done: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Download every file in parallel; ``on_done`` is called with each file as it is ready.

    Ctrl-C or SIGTERM (raised in this, the main thread) cancels the transfers in flight at
    once; each worker removes its ``.part`` before the interrupt goes on, so nothing partial
    is left."""
    try:
        opts.wheel_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"-w {opts.wheel_dir}: cannot create the directory ({exc.strerror})"
        raise UsageError(msg) from None
    reuse = {
        r.filename: _local_copy(
            r, opts.wheel_dir, clobber=opts.clobber, allow_unhashed=opts.allow_unhashed
        )
        for r in remotes
    }
    total = len(remotes)
    counter = itertools.count(1)  # next() is atomic: workers number their lines safely
    canceller = Canceller()

    def one(remote: Remote) -> Path:
        path, what = _fetch_one(
            remote,
            opts.wheel_dir,
            store=store,
            reuse=reuse[remote.filename],
            limits=opts.limits,
            canceller=canceller,
        )
        size = megabytes(path.stat().st_size)
        log.write(f"[{next(counter)}/{total}] {remote.filename} {size} {what}")
        if on_done is not None:
            on_done(path)
        return path

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.max_workers))
    try:
        futures = [pool.submit(one, remote) for remote in remotes]
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in futures:
            if future.done() and (failure := future.exception()) is not None:
                raise failure
        paths = [future.result() for future in futures]
    except BaseException:
        # The first failure (or Ctrl-C/SIGTERM) stops the others: no more bytes are fetched.
        canceller.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return paths


def on_index(target: Target, project: str, limits: Limits | None = None) -> dict[str, Remote]:
    """What the index already holds for ``project`` (an absent project holds nothing)."""
    url = target.simple_url.rstrip("/") + f"/{canonicalize_name(project)}/"
    try:
        get = functools.partial(fetch, limits=limits)
        return {r.filename: r for r in from_url(url, project, get=get)}
    except StoreError as exc:
        if "HTTP 404" in str(exc):
            return {}
        hint = (  # the index, not a store: not the store's advice
            f"The index's simple pages ({target.simple_url}) could not be read: check "
            "--repository-url/--index-url and the network; rerun to resume (files the index "
            "holds with the staged sha256 are skipped)."
        )
        raise StoreError(str(exc), hint=hint) from None
    except AuthError as exc:  # the index, not a store: its own advice
        hint = (
            f"The index's simple pages ({target.simple_url}) must be readable without "
            "credentials; pass --index-url to read another (PyPI's is public)."
        )
        raise AuthError(str(exc), hint=hint) from None


def _downloaded_sha256(remote: Remote, limits: Limits | None = None) -> str:
    """The sha256 of the bytes the index serves for ``remote`` (fetched to a temp file)."""
    assert remote.url is not None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(remote.filename).name
        bound = dataclasses.replace(limits or Limits(), max_bytes=MAX_DIST_BYTES)
        return download_url(remote.url, path, limits=bound).sha256


def _index_sha256(remote: Remote, limits: Limits) -> str:
    return (remote.sha256 or _downloaded_sha256(remote, limits)).lower()


def sign(paths: Sequence[Path], opts: ReleaseOptions, env: Mapping[str, str]) -> None:
    """Detached, armoured signatures next to the files (uploaded with them by twine), all made
    before the first upload: a signing failure (SigningError) leaves the index untouched."""
    for path in paths:
        asc = path.with_name(path.name + ".asc")
        asc.unlink(missing_ok=True)
        identity = ["--local-user", opts.identity] if opts.identity else []
        try:
            call(
                opts.sign_with,
                "--batch",
                "--yes",
                *identity,
                "--detach-sign",
                "--armor",
                path,
                env=env,
                error=SigningError,
            )
        except SigningError as exc:
            asc.unlink(missing_ok=True)
            reasons = [line for line in exc.output.splitlines() if line.startswith("gpg:")]
            why = "; ".join(reasons[-2:]) or str(exc)
            msg = f"{opts.sign_with} could not sign {path.name}: {why}. Nothing was uploaded."
            raise SigningError(msg) from None


def twine_upload(
    paths: Sequence[Path], opts: ReleaseOptions, target: Target, env: Mapping[str, str]
) -> None:
    where = (
        ["--repository", target.repository, "--config-file", target.config_file]
        if target.repository
        else ["--repository-url", target.repository_url]
    )
    # The resolved target is named explicitly, and twine's own target variables are not
    # passed: twine cannot upload anywhere else than where the pre-check and read-back look.
    env = target.upload_env(env)
    # Signatures only when this run made them: a stale .asc must never ride along.
    signatures = [path.with_name(path.name + ".asc") for path in paths] if opts.sign else []
    files = [*paths, *signatures]
    try:
        call(
            sys.executable,
            "-m",
            "twine",
            "--no-color",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            *where,
            *(["--verbose"] if opts.verbose else []),
            *files,
            env=env,
            error=IndexUploadError,
            timeout=opts.timeout,
        )
    except IndexUploadError as exc:
        if "403 Forbidden" in exc.output or "401 Unauthorized" in exc.output:
            msg = f"the index {target.repository_url} refused the credentials"
            raise AuthError(msg, hint=INDEX_CREDENTIALS_HINT) from None
        if "Credential not found" in exc.output:
            msg = (
                "no credentials for the index: set TWINE_USERNAME/TWINE_PASSWORD "
                "(__token__ + an API token for PyPI) or a ~/.pypirc section; nothing was uploaded"
            )
            raise CredentialsMissingError(msg) from None
        raise


def verify_published(
    results: Sequence[Released],
    target: Target,
    project: str,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> list[Released]:
    """Download every file back from the index's simple page and compare its sha256; every
    file is checked (and reported) before a failure is raised."""
    index = on_index(target, project, limits)
    out: list[Released] = []
    problems = []
    for item in results:
        remote = index.get(item.filename)
        if remote is None or remote.url is None:
            problems.append(f"{item.filename} is not on {target.simple_url} after the upload")
            out.append(item)
            continue
        digest = _downloaded_sha256(remote, limits)
        if digest != item.sha256.lower():
            problems.append(
                f"{item.filename}: the index serves sha256 {digest}, staged {item.sha256}"
            )
            out.append(item)
            continue
        out.append(dataclasses.replace(item, verified=True))
    if progress is not None:
        progress.files = out
    if problems:
        raise IndexUploadError("\n  ".join(["read back from the index:", *problems]))
    return out


def _gated(
    remotes: Sequence[Remote], opts: ReleaseOptions, progress: Callable[[str], None]
) -> list[Remote]:
    """The files of the release, checked against the manifest (a ReleaseGateError unless
    complete or allowed), wheels first: an sdist alone would make pip build from source."""
    names = gate.select(
        (r.filename for r in remotes),
        project=opts.project,
        version=opts.version,
        wheel_type=opts.wheel_type,
    )
    if not names:
        raise ReleaseGateError(_nothing_to_release(remotes, opts))
    report = gate.check(
        names, expected=opts.expected, version=opts.version, wheel_type=opts.wheel_type
    )
    progress(
        f"{opts.project} {opts.version} ({opts.wheel_type}): {count_dists(names)} found, "
        f"{count_dists(report.expected)} expected"
    )
    for line in report.problems():
        progress(f"  {line}")
    gate.enforce(report, allow_incomplete=opts.allow_incomplete)
    by_name = {r.filename: r for r in remotes}
    chosen = [by_name[n] for n in names]
    chosen.sort(key=lambda r: (not r.filename.endswith(".whl"), r.filename))
    return chosen


def _nothing_to_release(remotes: Sequence[Remote], opts: ReleaseOptions) -> str:
    """Why no file of the listing is one of this release: what the listing does hold."""
    wanted = f"{opts.project} {opts.version} ({opts.wheel_type})"
    if not remotes:
        return (
            f"the listing names no wheel or sdist files, so none of {wanted}: a link counts by "
            "the last segment of its path (NAME-VERSION-TAGS.whl, NAME-VERSION.tar.gz)"
        )
    names = sorted(r.filename for r in remotes)
    sample = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"none of the {len(names)} files in the listing is of {wanted}: {sample}"


def _skip_held(results: Sequence[Released], target: Target, opts: ReleaseOptions) -> list[Released]:
    """Files the index already holds with the same bytes are skipped (a rerun converges);
    other bytes under a staged name are an IndexUploadError."""
    held = on_index(target, opts.project, opts.limits)
    conflicts = [
        f"{r.filename}: on the index with sha256 {sha} (staged {r.sha256})"
        for r in results
        if r.filename in held and (sha := _index_sha256(held[r.filename], opts.limits)) != r.sha256
    ]
    if conflicts:
        msg = "the index holds other bytes under these names:\n  " + "\n  ".join(conflicts)
        raise IndexUploadError(msg)
    return [dataclasses.replace(r, action="skipped") if r.filename in held else r for r in results]


def release(
    remotes: Sequence[Remote],
    opts: ReleaseOptions,
    env: Mapping[str, str],
    *,
    store: Store | None = None,
    progress: Progress | None = None,
    say: Callable[[str], None] = log.write,
) -> list[Released]:
    """The staged set, gated, downloaded, checked, then uploaded (wheels before the sdist) and
    read back; ``opts.no_twine``/``dry_run`` stop before the upload. ``progress`` holds what
    was done so far, whichever way this ends."""
    progress = progress if progress is not None else Progress()
    chosen = _gated(remotes, opts, say)
    _check_provenance(chosen, opts, env, say)
    by_name = {r.filename: r for r in remotes}
    tag_reports: list[TagReport] = []

    def ready(path: Path) -> None:
        # Each file is checked as it arrives, in its download worker (its structure and
        # RECORD before the rename, its binaries against its tags here) and handed to twine
        # check: the checks overlap the other downloads instead of following them all.
        tag_reports.extend(check_files([path]))  # list.extend is atomic
        metadata[path.name] = gate.metadata_of(path)  # read once: coherence and twine's key
        checks.submit(path, metadata[path.name])

    metadata: dict[str, bytes] = {}
    with TwineCheck() as checks:
        paths = download_all(chosen, opts, store, on_done=ready)
        gate.check_coherence(metadata, project=opts.project, version=opts.version)
        # every overclaiming wheel named together, before anything reaches the index
        enforce(sorted(tag_reports, key=lambda r: r.wheel), error=ReleaseGateError)
        checks.wait()
    digests = {p.name: (by_name[p.name].sha256 or sha256_of(p)).lower() for p in paths}
    results = [
        Released(
            filename=p.name,
            size=p.stat().st_size,
            sha256=digests[p.name],
            action="downloaded only" if opts.no_twine else "would upload",
            build=by_name[p.name].build,
        )
        for p in paths
    ]
    progress.files = results
    if opts.no_twine or opts.target is None:
        return results
    target = opts.target
    results = _skip_held(results, target, opts)
    progress.files = results
    todo = [p for p, r in zip(paths, results, strict=True) if r.action != "skipped"]
    if opts.dry_run:
        return results
    if opts.sign:
        if target.is_pypi:
            log.warning("PyPI no longer accepts signatures; the .asc files will be ignored there")
        sign(todo, opts, env)
    results = upload_each(results, {p.name: p for p in todo}, opts, target, env, progress)
    return verify_published(results, target, opts.project, opts.limits, progress)


def _check_provenance(
    chosen: Sequence[Remote],
    opts: ReleaseOptions,
    env: Mapping[str, str],
    say: Callable[[str], None],
) -> None:
    """Every file's build record against the release's tag, before any download."""
    tag = opts.tag or f"v{opts.version}"
    tag_sha = None
    if provenance.needs_tag(chosen):
        if opts.repo_url is None:
            log.warning(
                f"no repository URL to resolve {tag} in (REPO_URL, [tool.numpy-wheels] "
                "repo-url): no git build can be checked against it"
            )
        else:
            tag_sha = provenance.resolve_tag(opts.repo_url, tag, env)
            say(f"{tag} is {tag_sha} in {opts.repo_url}")
    expected = provenance.Expected(
        project=opts.project, version=opts.version, tag=tag, tag_sha=tag_sha
    )
    problems = provenance.check(chosen, expected, allow_unverified=opts.allow_unverified_provenance)
    for line in problems:
        log.warning(f"unverified provenance (--allow-unverified-provenance): {line}")
    if not problems:
        say(f"provenance: every file was built from {tag} and tested")


def upload_each(
    results: Sequence[Released],
    paths: Mapping[str, Path],
    opts: ReleaseOptions,
    target: Target,
    env: Mapping[str, str],
    progress: Progress,
) -> list[Released]:
    """One twine run per file (with its signature), in order (wheels before the sdist).

    After an upload error the index is read back: a file it holds with the staged sha256 was
    uploaded (an index that stored the file, then answered 500, then "400 File already exists"
    to twine's retry), and is reported so; the others go on either way, and the failures are
    raised together at the end. A rerun therefore converges: what arrived is skipped."""
    out = list(results)
    failures = []
    total = len(paths)
    done = 0
    for i, item in enumerate(out):
        if item.filename not in paths:
            continue
        done += 1
        log.write(f"[{done}/{total}] uploading {item.filename} to {target.repository_url}")
        try:
            twine_upload([paths[item.filename]], opts, target, env)
            out[i] = dataclasses.replace(item, action="uploaded", signed=opts.sign)
        except IndexUploadError as exc:
            out[i] = _read_back(item, exc, opts, target)
            if out[i].action == "failed":
                failures.append(f"{item.filename}: {out[i].note}")
        progress.files = out
    if failures:
        msg = f"{len(failures)} of {total} file(s) were not uploaded:\n  " + "\n  ".join(failures)
        raise IndexUploadError(
            msg,
            hint="The files named above are not on the index; the others are (see the report). "
            "A rerun uploads only what is missing. A name the index holds with other bytes "
            "needs a new version.",
        )
    return out


def _read_back(
    item: Released, exc: IndexUploadError, opts: ReleaseOptions, target: Target
) -> Released:
    """After twine failed on ``item``: uploaded if the index holds the staged bytes."""
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    detail = _twine_reason(exc.output) or why
    try:
        held = on_index(target, opts.project, opts.limits).get(item.filename)
        digest = _index_sha256(held, opts.limits) if held is not None else None
    except StoreError as read_error:
        return dataclasses.replace(
            item, action="failed", note=f"{detail}; reading the index back failed too: {read_error}"
        )
    if digest == item.sha256:
        log.warning(
            f"{item.filename}: twine failed ({detail}), but the index holds the staged bytes "
            "(sha256 read back): counted as uploaded"
        )
        return dataclasses.replace(
            item,
            action="uploaded",
            signed=opts.sign,
            note=f"twine failed ({detail}); the index holds the staged sha256",
        )
    if digest is not None:
        return dataclasses.replace(
            item, action="failed", note=f"{detail}; the index holds other bytes (sha256 {digest})"
        )
    return dataclasses.replace(item, action="failed", note=f"{detail}; not on the index")


def _twine_reason(output: str) -> str | None:
    """The HTTP error twine reported (its last ``HTTPError:`` line), if any."""
    lines = [
        line.strip().removeprefix("ERROR").strip()
        for line in output.splitlines()
        if "HTTPError" in line or "Error during" in line
    ]
    return lines[-1][:300] if lines else None


def check_report_path(path: Path) -> None:
    """Refuse, before anything is released, a report path that cannot be written."""
    if path.is_dir() or (path.exists() and not os.access(path, os.W_OK)):
        msg = f"--report {path}: not a writable file"
        raise UsageError(msg)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # created later with the wheel directory
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        msg = f"--report {path}: cannot create a file in {parent}"
        raise UsageError(msg)


def write_report(path: Path, payload: Mapping[str, object]) -> None:
    """The JSON release report, written whole or not at all (OSError if it cannot be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, payload, indent=1)
