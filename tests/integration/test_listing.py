"""Listings in every form, served for real on 127.0.0.1 by a plain HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numpy_wheels.__main__ import wheel_uploader_main
from numpy_wheels.errors import ReleaseGateError, StoreError
from numpy_wheels.files import sha256_of
from numpy_wheels.release.listing import from_url
from tests.wheelfiles import make_wheel


def test_plain_page_of_links_with_pagination(http_root: tuple[Path, str]) -> None:
    """The Rackspace-era listing: bare links (no hashes), a second page behind rel="next",
    hashes taken from the metadata.json next to it; other links ignored."""
    root, url = http_root
    a = make_wheel(root, tag="cp311-cp311-win_amd64")
    b = make_wheel(root, tag="py3-none-any")
    (root / "index.html").write_text(
        f'<a href="{a.name}">a</a> <a href="../">up</a> <a href="notes.txt">notes</a>'
        '<a rel="next" href="page2.html">more</a>'
    )
    (root / "page2.html").write_text(f'<ul><li><a href="{b.name}">b</a></li></ul>')
    (root / "metadata.json").write_text(
        json.dumps({p.name: {"sha256": sha256_of(p), "size": p.stat().st_size} for p in (a, b)})
    )
    got = from_url(url + "index.html", "fooext")
    assert [(r.filename, r.sha256, r.url) for r in got] == [
        (p.name, sha256_of(p), url + p.name) for p in sorted((a, b))
    ]


def test_pep691_json_simple_page(http_root: tuple[Path, str]) -> None:
    root, url = http_root
    a = make_wheel(root / "files", tag="py3-none-any")
    page = root / "simple" / "fooext"
    page.mkdir(parents=True)
    (page / "index.json").write_text(
        json.dumps(
            {
                "meta": {"api-version": "1.1"},
                "name": "fooext",
                "files": [
                    {
                        "filename": a.name,
                        "url": f"../../files/{a.name}",
                        "hashes": {"sha256": sha256_of(a)},
                    }
                ],
            }
        )
    )
    got = from_url(url + "simple/fooext/index.json", "fooext")
    assert [(r.filename, r.url, r.sha256) for r in got] == [
        (a.name, f"{url}files/{a.name}", sha256_of(a))
    ]


def test_wrong_published_hash_leaves_nothing(
    http_root: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, url = http_root
    # the wheel the manifest expects (a pure one would be refused before any download)
    a = make_wheel(root, tag="cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64")
    (root / "index.html").write_text(f'<a href="{a.name}#sha256={"0" * 64}">a</a>')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[tool.numpy-wheels]\nproject = "fooext"\nbuild = ["cp311-manylinux_x86_64"]\n'
    )
    dl = tmp_path / "dl"
    code = wheel_uploader_main(
        [
            "--root",
            str(repo),
            "-u",
            url,
            "-w",
            str(dl),
            "-n",
            "--allow-incomplete",
            "--allow-unverified-provenance",
            "fooext",
            "0.1.0",
        ],
        env={"PATH": "/bin"},
    )
    err = capsys.readouterr().err
    assert code == ReleaseGateError.return_code
    assert "published 0000" in err
    # neither the file nor its .part: only the report of the refusal
    assert [p.name for p in dl.iterdir()] == ["release-fooext-0.1.0.json"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("broken.json", "{not json"),
        ("odd.json", '{"fooext-0.1.0-py3-none-any.whl": 3}'),
        ("list.json", "[1, 2]"),
    ],
)
def test_unreadable_listing_is_a_store_error(
    http_root: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    body: str,
) -> None:
    root, url = http_root
    (root / name).write_text(body)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[tool.numpy-wheels]\nproject = "fooext"\n')
    code = wheel_uploader_main(
        [
            "--root",
            str(repo),
            "-u",
            url + name,
            "-w",
            str(tmp_path / "dl"),
            "-n",
            "fooext",
            "0.1.0",
        ],
        env={"PATH": "/bin"},
    )
    err = capsys.readouterr().err
    assert code == StoreError.return_code
    assert "is not a listing this tool can read" in err
    assert "Traceback" not in err
