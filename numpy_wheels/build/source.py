"""The project's source at BUILD_COMMIT: a git checkout (multibuild's clean_code) or the sdist.

Also the licence step (multibuild's patch_code.sh): the per-OS text that describes the bundled
libraries is appended to the project's LICENSE.txt before the build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from numpy_wheels.build.determinism import git_epoch, sdist_epoch
from numpy_wheels.cmd import call
from numpy_wheels.errors import LicenceError, SourceError
from numpy_wheels.files import download, extract_tar, fetch, sha256_of
from numpy_wheels.log import log
from numpy_wheels.model.matrix import OSName

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourceInfo:
    kind: Literal["git", "sdist"]
    path: Path  # the source tree the build uses
    commit: str  # the commit-ish asked for
    resolved: str  # git: the full SHA; sdist: the sdist's sha256
    origin: str  # remote URL or sdist URL
    archive: Path | None = None  # sdist: the downloaded file, verified against the index
    epoch: int = 0  # SOURCE_DATE_EPOCH: the commit's date, or the sdist's PKG-INFO mtime
    epoch_from: str = ""  # where ``epoch`` came from (recorded)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "commit": self.commit,
            "resolved": self.resolved,
            "origin": self.origin,
            "source_date_epoch": self.epoch,
            "source_date_epoch_from": self.epoch_from,
        }


def _git(*args: str, cwd: Path, env: Mapping[str, str], capture: bool = False) -> str:
    return call("git", *args, cwd=cwd, env=env, capture=capture, error=SourceError)


#: What the tool itself writes in the project: the cibuildwheel backend's staging directory
#: (the licence appended to LICENSE.txt is taken out again after the builds:
#: ``licences_appended``).
_OWN_FILES = (":(exclude).numpy_wheels",)


def _refuse_local_changes(repo_dir: Path, env: Mapping[str, str]) -> None:
    """Stop before ``checkout --force`` and ``clean -fxd`` would delete a user's work in an
    existing REPO_DIR checkout: changed tracked files and untracked (not ignored) ones. CI
    checkouts are clean; a local one may hold edits (issue 12 tryout: an uncommitted edit
    and a NOTES.txt were destroyed without a word).

    Raises:
        SourceError: naming up to five of the files and how to keep them."""
    status = _git(
        "status", "--porcelain", "--untracked-files=normal", "--", ".", *_OWN_FILES,
        cwd=repo_dir, env=env, capture=True,
    )  # fmt: skip
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if not changed:
        return
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    msg = (
        f"REPO_DIR {repo_dir.name} has local changes the build's checkout of BUILD_COMMIT and "
        f"its clean (git clean -fxd, as multibuild's clean_code) would delete: {shown}"
    )
    hint = (
        f"Commit or stash them first (git -C {repo_dir} stash --include-untracked), or "
        "build from another clone."
    )
    raise SourceError(msg, hint=hint)


def _absorb_submodule_gitfile(repo: Path, env: Mapping[str, str]) -> None:
    """A submodule's ``.git`` is a file pointing into the superproject; make it a real repo.

    multibuild re-cloned here because versioneer (and meson's version script) need a real
    repository; ``git submodule absorbgitdirs`` in reverse is not available, so we copy the
    module's git directory in place and drop the ``core.worktree`` it carries.
    """
    gitfile = repo / ".git"
    if not gitfile.is_file():
        return
    match = re.match(r"gitdir:\s*(.+)", gitfile.read_text().strip())
    if match is None:
        msg = f"{gitfile} is a file but not a 'gitdir:' pointer"
        raise SourceError(msg)
    gitdir = (repo / match.group(1)).resolve()
    log.write(f"{repo} is a submodule; making its .git a real repository (from {gitdir})")
    gitfile.unlink()
    shutil.copytree(gitdir, gitfile)
    # The copied config still points its worktree at the old relative place; --file edits it
    # without git having to open the (for now broken) repository.
    _git(
        "config",
        "--file",
        str(gitfile / "config"),
        "--unset",
        "core.worktree",
        cwd=repo.parent,
        env=env,
    )


def checkout(
    *, repo_dir: Path, repo_url: str | None, commit: str, env: Mapping[str, str]
) -> SourceInfo:
    """Clone or fetch, check out ``commit`` (tag, branch or hash), clean, update submodules."""
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0"}
    if (repo_dir / ".git").exists():
        _refuse_local_changes(repo_dir, git_env)
    else:
        if repo_url is None:
            msg = f"{repo_dir} is not a git checkout and no REPO_URL says where to clone it from"
            raise SourceError(msg)
        if repo_dir.exists() and any(repo_dir.iterdir()):
            msg = f"{repo_dir} exists, is not empty and is not a git repository"
            raise SourceError(msg)
        _git("clone", "--no-checkout", repo_url, str(repo_dir), cwd=repo_dir.parent, env=git_env)
    _absorb_submodule_gitfile(repo_dir, git_env)
    remotes = _git("remote", cwd=repo_dir, env=git_env, capture=True).split()
    if "origin" in remotes:
        remote = _git(
            "remote", "get-url", "origin", cwd=repo_dir, env=git_env, capture=True
        ).strip()
        _git("fetch", "--tags", "--force", "origin", cwd=repo_dir, env=git_env)
    else:
        # A local repository with no remote: its own refs are the source of truth.
        remote = str(repo_dir)
        log.write(f"{repo_dir} has no 'origin' remote; using its local tags and branches")
    sha = _resolve(repo_dir, commit, git_env)
    if sha is None:
        msg = (
            f"BUILD_COMMIT {commit!r} is not a tag, branch or commit of {remote}; "
            "check the spelling, or that it was pushed"
        )
        raise SourceError(msg)
    _git("checkout", "--force", "--detach", sha, cwd=repo_dir, env=git_env)
    _git("clean", "-fxd", cwd=repo_dir, env=git_env)
    _git("reset", "--hard", cwd=repo_dir, env=git_env)
    _git("submodule", "update", "--init", "--recursive", cwd=repo_dir, env=git_env)
    log.write(f"{repo_dir.name} at {commit} = {sha} (from {remote})")
    epoch = git_epoch(
        _git("log", "-1", "--format=%ct", sha, cwd=repo_dir, env=git_env, capture=True)
    )
    return SourceInfo(
        kind="git",
        path=repo_dir,
        commit=commit,
        resolved=sha,
        origin=remote,
        epoch=epoch,
        epoch_from=f"the committer date of {sha[:12]}",
    )


def _resolve(repo: Path, commit: str, env: Mapping[str, str]) -> str | None:
    # A branch name means the remote's branch (a stale local branch must not win).
    for candidate in (f"refs/remotes/origin/{commit}", f"refs/tags/{commit}", commit):
        try:
            out = call(
                "git",
                "rev-parse",
                "--verify",
                "--quiet",
                f"{candidate}^{{commit}}",
                cwd=repo,
                env=env,
                capture=True,
                error=SourceError,
                echo=False,
            )
        except SourceError:
            continue
        return out.strip()
    return None


def sdist_version(commit: str) -> str:
    """A release tag names a version: ``v2.4.6`` → ``2.4.6``.

    >>> sdist_version("v2.4.6")
    '2.4.6'
    >>> sdist_version("main")
    Traceback (most recent call last):
    ...
    numpy_wheels.errors.SourceError: BUILD_COMMIT 'main' is not a release tag; only a release \
has an sdist on the package index (use --source git)
    """
    match = re.fullmatch(r"v?(\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?)", commit)
    if match is None:
        msg = (
            f"BUILD_COMMIT {commit!r} is not a release tag; only a release has an sdist on "
            "the package index (use --source git)"
        )
        raise SourceError(msg)
    return match.group(1)


def fetch_sdist(
    *, project: str, commit: str, dest: Path, cache: Path, index_url: str = DEFAULT_INDEX_URL
) -> SourceInfo:
    """Download the release sdist through the index's JSON API (PEP 691), verify its sha256,
    and unpack it into ``dest`` (replacing what was there)."""
    version = sdist_version(commit)
    name = canonicalize_name(project)
    url = index_url.rstrip("/") + f"/{name}/"
    body = fetch(url, accept=_SIMPLE_JSON, error=SourceError)
    try:
        files = json.loads(body)["files"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        msg = f"the index page {url} is not a PEP 691 JSON page: {exc}"
        raise SourceError(msg) from None
    wanted = {f"{n}-{version}.tar.gz" for n in (project, name, name.replace("-", "_"))}
    entry = next((f for f in files if f["filename"] in wanted), None)
    if entry is None or "sha256" not in entry.get("hashes", {}):
        msg = f"{project} {version} has no sdist with a sha256 on {url}"
        raise SourceError(msg)
    sha256 = entry["hashes"]["sha256"]
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / entry["filename"]
    if not archive.is_file() or sha256_of(archive) != sha256:
        file_url = urllib.parse.urljoin(url, entry["url"])
        log.write(f"downloading {file_url}")
        download(file_url, archive, sha256=sha256, error=SourceError, expected_from="the index's")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    extract_tar(archive, dest, error=SourceError)
    (top,) = list(dest.iterdir())
    log.write(f"{entry['filename']} sha256 {sha256} unpacked in {top}")
    return SourceInfo(
        kind="sdist",
        path=top,
        commit=commit,
        resolved=sha256,
        origin=urllib.parse.urljoin(url, entry["url"]),
        archive=archive,
        epoch=sdist_epoch(archive),
        epoch_from=f"the mtime of PKG-INFO in {entry['filename']}",
    )


# -- licence ----------------------------------------------------------------------------------

LICENCE_MARKER = "also bundles the following software"


#: The suffix of the wheels repository's ``LICENSE_<suffix>.txt`` per OS (multibuild's names).
LICENCE_SUFFIX: Mapping[OSName, str] = {"linux": "linux", "macos": "osx", "windows": "win32"}


def licence_file(root: Path, os_name: OSName) -> Path:
    """The licence text of the libraries the wheels bundle on ``os_name``.

    >>> licence_file(Path("w"), "macos").as_posix()
    'w/LICENSE_osx.txt'
    """
    return root / f"LICENSE_{LICENCE_SUFFIX[os_name]}.txt"


def append_licence(*, source: Path, root: Path, os_name: OSName) -> Path:
    """Append ``LICENSE_<os>.txt`` of the wheels repository to the project's LICENSE.txt."""
    extra = licence_file(root, os_name)
    target = source / "LICENSE.txt"
    if not target.is_file():
        msg = f"{target} is missing: cannot append the bundled-library licence {extra.name}"
        raise LicenceError(msg)
    if not extra.is_file():
        msg = f"{extra} is missing: the wheels bundle libraries whose licence must ship"
        raise LicenceError(msg)
    text = extra.read_text(encoding="utf-8")
    if LICENCE_MARKER not in text:
        msg = f"{extra} does not say which software it bundles ({LICENCE_MARKER!r})"
        raise LicenceError(msg)
    current = target.read_text(encoding="utf-8")
    if text.strip() not in current:  # idempotent for several identifiers on one tree
        target.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        log.write(f"appended {extra.name} to {target}")
    return extra


@contextlib.contextmanager
def licences_appended(*, source: Path, root: Path, os_names: Iterable[OSName]) -> Iterator[None]:
    """The wheels repository's ``LICENSE_<os>.txt`` appended to the project's LICENSE.txt for
    the builds (``append_licence``), and LICENSE.txt put back byte for byte afterwards, also
    on failure: a checkout holds nothing of this tool's after a build, so a user's own change
    to LICENSE.txt is one that the next build refuses to delete (issue 12 tryout)."""
    target = source / "LICENSE.txt"
    before = target.read_bytes() if target.is_file() else None
    try:
        for os_name in sorted(set(os_names)):
            if licence_file(root, os_name).is_file():
                append_licence(source=source, root=root, os_name=os_name)
            else:
                log.write(
                    f"no {licence_file(root, os_name).name}: the wheels may bundle no "
                    "libraries (checked after the repair)"
                )
        yield
    finally:
        if before is not None and target.read_bytes() != before:
            target.write_bytes(before)
