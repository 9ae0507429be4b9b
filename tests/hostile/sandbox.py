"""The world one hostile case runs in: a wheels repository, a wheelhouse, a store, a download
directory, a home, an ``outside`` directory, and the case's routes on the bad server — all
under the test's tmp directory, so every file the command touches can be accounted for."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import uuid
from pathlib import Path

from numpy_wheels.files import sha256_of
from numpy_wheels.model.matrix import load_catalogue, manifest, select
from tests.hostile.badserver import BadServer, Route
from tests.wheelfiles import make_sdist, make_wheel

CANARY = "canary-" + uuid.uuid4().hex[:6] + "-S3CRET"
BUILD = (
    "cp311-manylinux_x86_64",
    "cp311-win_amd64",
    "cp312-manylinux_x86_64",
    "cp313-macosx_arm64",
)
EXPECTED = manifest(
    select(load_catalogue(), build=BUILD, skip=[]), project="fooext", version="0.1.0"
)

TRAVIS = """\
language: python
env:
  global:
    - BUILD_COMMIT=v2.4.6
    - DAILY_COMMIT=main
jobs:
  include:
    - os: linux
      env:
        - MB_PYTHON_VERSION=3.12
        - PLAT=x86_64
"""
APPVEYOR = """\
environment:
  global:
    BUILD_COMMIT: v2.4.6
    DAILY_COMMIT: main
  matrix:
    - PYTHON_VERSION: "3.12"
"""
GITHUB = """\
on: push
env:
  BUILD_COMMIT: v2.4.6
  DAILY_COMMIT: main
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.12"]
    env:
      MB_PYTHON_VERSION: ${{ matrix.python }}
"""
PYPROJECT = f'[tool.numpy-wheels]\nproject = "fooext"\nbuild = {json.dumps(list(BUILD))}\n'


@dataclasses.dataclass
class Sandbox:
    tmp: Path
    server: BadServer
    prefix: str = dataclasses.field(default_factory=lambda: "/" + uuid.uuid4().hex[:10])

    @property
    def repo(self) -> Path:
        return self.tmp / "repo"

    @property
    def store(self) -> Path:
        return self.tmp / "store"

    @property
    def dl(self) -> Path:
        return self.tmp / "dl"

    @property
    def home(self) -> Path:
        return self.tmp / "home"

    @property
    def outside(self) -> Path:
        return self.tmp / "outside"

    def create(self) -> None:
        for d in (self.repo, self.home, self.outside, self.store, self.tmp / "cwd"):
            d.mkdir(parents=True, exist_ok=True)
        self.write("repo/.travis.yml", TRAVIS)
        self.write("repo/appveyor.yml", APPVEYOR)
        self.write("repo/.github/workflows/wheels.yml", GITHUB)
        self.write("repo/pyproject.toml", PYPROJECT)
        # A private file beside the repository: no command may publish or change it.
        private = self.write("outside/private.txt", CANARY + "\n")
        private.chmod(0o600)

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode())
        else:
            path.write_bytes(content)
        return path

    def only_ci(self, name: str, text: str | bytes) -> None:
        """Replace the CI files by one (the others removed)."""
        for rel in (".travis.yml", "appveyor.yml", ".github/workflows/wheels.yml"):
            (self.repo / rel).unlink(missing_ok=True)
        self.write(f"repo/{name}", text)

    # -- wheelhouses and listings ----------------------------------------------------------
    def wheels(self, house: str = "house", *, sdist: bool = False) -> list[Path]:
        """The four expected wheels of fooext 0.1.0 (small, valid) in ``tmp/house``."""
        files = [
            make_wheel(
                self.tmp / house,
                tag=name.removeprefix("fooext-0.1.0-").removesuffix(".whl"),
                size=2000,
            )
            for name in EXPECTED
        ]
        return files + ([make_sdist(self.tmp / house)] if sdist else [])

    def url(self, path: str, route: Route) -> str:
        return self.server.add(self.prefix + path, route)

    def listing(
        self,
        *,
        files: list[Path] | None = None,
        download: str = "ok",
        page: str = "ok",
        extra_links: int = 0,
        hashes: str = "ok",
        href: str | None = None,
        status: int = 200,
        reason: str = "X",
        href_query: str = "",
    ) -> str:
        """A page of links to ``files`` (default: the expected wheels) served by the bad
        server; ``download``/``page``: behaviours of the file routes / of the page itself;
        ``hashes``: ok, upper (upper-case sha256), wrong, none; ``reason``: the status line's
        reason phrase of the file routes; ``href_query``: a query added to each link;
        ``href``: a link template
        (``{name}``: the file name) instead of the served file."""
        files = self.wheels(sdist=True) if files is None else files
        links = []
        for path in files:
            body = path.read_bytes()
            route = Route(behaviour=download, body=body, status=status, reason=reason)  # type: ignore[arg-type]
            url = self.url(f"/dl/{path.name}", route)
            digest = {
                "ok": sha256_of(path),
                "upper": sha256_of(path).upper(),
                "wrong": hashlib.sha256(b"other").hexdigest(),
                "none": "",
            }[hashes]
            fragment = f"#sha256={digest}" if digest else ""
            target = (href.replace("{name}", path.name) if href else url) + href_query
            links.append(f'<a href="{target}{fragment}">{path.name}</a>')
        for i in range(extra_links):
            name = f"other{i}-0.1.0-py3-none-any.whl"
            links.append(f'<a href="{self.prefix}/x/{name}#sha256={"0" * 64}">{name}</a>')
        body = ("<html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()
        return self.url("/listing/", Route(behaviour=page, body=body))  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Entry:
    kind: str  # file, dir, link, special (a FIFO)
    digest: str
    mode: int


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under ``root`` with its content digest and mode (symlinks not followed)."""
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = Entry("link", str(path.readlink()), 0)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = Entry("dir", "", st.st_mode & 0o7777)
            elif not stat.S_ISREG(st.st_mode):  # a FIFO: opening it would wait for a writer
                out[rel] = Entry("special", "", st.st_mode)
            else:
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
                out[rel] = Entry("file", digest.hexdigest(), st.st_mode & 0o7777)
    return out


def changes(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


PARTIAL_MARKS = (".part", ".part-", ".tmp")


def partial_files(paths: list[str]) -> list[str]:
    return [p for p in paths if any(m in Path(p).name for m in PARTIAL_MARKS)]
