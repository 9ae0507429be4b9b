"""The container's pages: ``index.html`` (per version, a Python-by-platform grid of the expected
wheels, each cell present with size and sha256, or missing) and PEP 503 ``simple/`` pages so
``pip install --index-url <container>/simple/`` works against a public container. Pure
functions of the staged records."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence

from packaging.utils import canonicalize_name
from packaging.version import Version

from numpy_wheels.files import as_version, megabytes
from numpy_wheels.model.matrix import BuildId, match_manifest, sdist_name


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    """What the store knows about one staged file (``.records/<file>.json``)."""

    filename: str
    project: str
    version: str
    sha256: str
    size: int
    uploaded: str
    #: the file's provenance: its record from the build/sdist summary (``stage.provenance``)
    build: Mapping[str, object] | None = None

    def as_json(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["build"] = dict(self.build) if self.build is not None else None
        return out


def build_line(build: Mapping[str, object] | None) -> str:
    """One line saying which build made a file (for the pages, tables and the report).

    >>> build_line({"commit": "v2.4.6", "source": {"kind": "git", "resolved": "a" * 40},
    ...             "test": "passed (host venv)", "ok": True})
    'git v2.4.6 aaaaaaaaaaaa, tests passed (host venv)'
    >>> build_line(None)
    'no build record'
    """
    if not build:
        return "no build record"
    source = build.get("source")
    source = source if isinstance(source, Mapping) else {}
    kind, resolved = source.get("kind", "?"), str(source.get("resolved", ""))[:12]
    test = build.get("test") or ("ok" if build.get("ok") else "failed")
    words = "tests " if str(test).startswith(("passed", "not run", "skipped")) else ""
    return f"{kind} {build.get('commit', '?')} {resolved}, {words}{test}"


def _version_key(text: str) -> tuple[int, Version | str]:
    version = as_version(text)
    return (0, text) if version is None else (1, version)


_STYLE = """body{font-family:sans-serif;margin:1.5em}
table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #999;padding:.3em .6em;font-size:90%}
td.present{background:#dfd}td.missing{background:#fdd;color:#900;text-align:center}
code{font-size:85%}"""


def _column(build_id: BuildId) -> str:
    """The grid column: the platform, and the BLAS variant when it is not the default one."""
    return build_id.key.partition("-")[2]


def index_html(
    records: Sequence[Record],
    *,
    project: str,
    expected: Sequence[BuildId],
    public_url: str | None = None,
    sdist: bool = False,
) -> str:
    """The maintainer's page: the container's public address (when it has one), one grid per
    version (a column per platform and BLAS variant, so macOS OpenBLAS and Accelerate wheels
    each have a cell; the sdist on its own line when the release has one), then every file
    with its sha256 link."""
    by_name = {r.filename: r for r in records}
    versions = sorted({r.version for r in records}, key=_version_key, reverse=True)
    out = _page_head(project, public_url)
    for version in versions:
        out += _version_section(version, by_name, project=project, expected=expected, sdist=sdist)
    out.append("<h2>All files</h2><ul>")
    out.extend(
        f"<li><a href='{html.escape(r.filename)}#sha256={r.sha256}'>"
        f"{html.escape(r.filename)}</a> {megabytes(r.size)} <code>{r.sha256}</code> "
        f"<span class='build'>built: {html.escape(build_line(r.build))}</span></li>"
        for r in sorted(records, key=lambda r: r.filename)
    )
    out.append("</ul></body></html>")
    return "\n".join(out) + "\n"


def _page_head(project: str, public_url: str | None) -> list[str]:
    out = [
        "<!DOCTYPE html>",
        "<html><head><meta charset='utf-8'>",
        f"<title>{html.escape(project)} staged wheels</title><style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{html.escape(project)}: staged files</h1>",
    ]
    if public_url:
        url = html.escape(public_url)
        index = html.escape(public_url.rstrip("/") + "/simple/")
        out.append(
            f"<p id='public-address'>Public address: <a href='{url}'>{url}</a> &mdash; "
            f"<code>pip install --index-url {index} {html.escape(project)}</code>, "
            f"<code>wheel-uploader -u {url} {html.escape(project)} VERSION</code></p>"
        )
    return out


def _version_section(
    version: str,
    by_name: Mapping[str, Record],
    *,
    project: str,
    expected: Sequence[BuildId],
    sdist: bool,
) -> list[str]:
    """One version: how many expected files are there, the sdist line, the Python x platform
    grid, and the files of the version the grid has no cell for."""
    ids = {b.wheel_name(project, version): b for b in expected}
    source = sdist_name(project, version) if sdist else None
    # a staged wheel with the older-policy tags auditwheel adds is the manifest's (as the
    # release gate takes it: model.matrix.match_manifest)
    matched = match_manifest(ids, (r.filename for r in by_name.values() if r.version == version))
    staged = {want: by_name[name] for name, want in matched.items()}
    wanted = len(ids) + (1 if source else 0)
    present = sum(1 for name in ids if name in staged) + (1 if source in by_name else 0)
    out = [
        f"<h2 id='v{html.escape(version)}'>{html.escape(version)}: {present} of "
        f"{wanted} expected files</h2>"
    ]
    if source is not None:
        record = by_name.get(source)
        state = (
            f"<td class='present'><a href='{html.escape(source)}#sha256={record.sha256}'>"
            f"{html.escape(source)}</a> {megabytes(record.size)} "
            f"<code>{record.sha256[:16]}</code>"
            if record
            else f"<td class='missing'>{html.escape(source)} missing"
        )
        out.append(f"<table><tr><th>sdist</th>{state}</td></tr></table>")
    out += _grid(ids, staged, expected)
    others = sorted(
        r.filename
        for r in by_name.values()
        if r.version == version and r.filename not in matched and r.filename != source
    )
    if others:
        out.append(
            "<p>Other files for this version:</p><ul>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in others)
            + "</ul>"
        )
    return out


def _grid(
    ids: Mapping[str, BuildId], staged: Mapping[str, Record], expected: Sequence[BuildId]
) -> list[str]:
    """A row per Python, a column per platform (and variant): present (size, sha256 link to
    the staged file), missing, or empty where no wheel is expected. ``staged``: manifest
    name -> the record of the file staged for it."""
    pythons = list(dict.fromkeys(b.python.tag for b in expected))
    platforms = list(dict.fromkeys(_column(b) for b in expected))
    cells = {(b.python.tag, _column(b)): name for name, b in ids.items()}
    out = [
        "<table><tr><th>Python</th>"
        + "".join(f"<th>{html.escape(p)}</th>" for p in platforms)
        + "</tr>"
    ]
    for py in pythons:
        row = [f"<tr><th>{html.escape(py)}</th>"]
        for plat in platforms:
            name = cells.get((py, plat))
            record = staged.get(name) if name else None
            if name is None:
                row.append("<td></td>")
            elif record is None:
                row.append(f"<td class='missing' title='{html.escape(name)}'>missing</td>")
            else:
                row.append(
                    f"<td class='present'><a href='{html.escape(record.filename)}#sha256="
                    f"{record.sha256}'>{megabytes(record.size)}</a><br>"
                    f"<code>{record.sha256[:16]}</code></td>"
                )
        out.append("".join(row) + "</tr>")
    out.append("</table>")
    return out


def simple_pages(records: Sequence[Record]) -> Mapping[str, str]:
    """PEP 503 pages keyed by object name: ``simple/index.html`` and ``simple/<project>/``.

    pip asks for ``<index>/<project>/``, so a project page is the object with exactly that
    name (the local store writes it as ``index.html``). The root page is not an object named
    ``simple/``: filesystem-backed servers cannot hold a key that is also a prefix.
    """
    projects: dict[str, list[Record]] = {}
    for record in records:
        projects.setdefault(canonicalize_name(record.project), []).append(record)
    pages = {
        "simple/": "<!DOCTYPE html>\n<html><body>\n"
        + "".join(f"<a href='{name}/'>{name}</a>\n" for name in sorted(projects))
        + "</body></html>\n"
    }
    for name, files in projects.items():
        links = "".join(
            f"<a href='../../{html.escape(r.filename)}#sha256={r.sha256}'>"
            f"{html.escape(r.filename)}</a>\n"
            for r in sorted(files, key=lambda r: r.filename)
        )
        pages[f"simple/{name}/"] = f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"
    return pages


def metadata_json(records: Sequence[Record]) -> dict[str, dict[str, object]]:
    """``metadata.json``: sha256, size and upload time per file (wheelhouse-uploader's shape),
    and the build record (provenance) of each file that has one."""
    return {
        r.filename: {"sha256": r.sha256, "size": r.size, "uploaded": r.uploaded}
        | ({"build": dict(r.build)} if r.build is not None else {})
        for r in sorted(records, key=lambda r: r.filename)
    }
