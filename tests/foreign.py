"""Real macOS and Windows wheels for the repair tests, "un-repaired" on Linux.

The fixtures are made, not committed: numpy's wheels are downloaded from the package index,
their vendored libraries moved out and the references restored to what the build produced
before the repair (shared/reference/infra-experiment.md §5):

- Windows: ``numpy.libs/*.dll`` get their unmangled names back in a library directory, the
  import tables of every PE file name the unmangled DLLs again (patched in place with pefile),
  the DELVEWHEEL marker and the ``__init__.py`` loader patch are removed;
- macOS: ``numpy/.dylibs/*.dylib`` move to a library directory and every Mach-O reference
  ``@loader_path/…/.dylibs/X`` becomes that directory's absolute path (as a build leaves it).

delocate needs Apple's otool/install_name_tool/lipo/codesign: Debian's LLVM tools stand in
for the first three; codesign is a no-op stand-in (x86_64 Mach-O needs no signature, and
llvm-install-name-tool keeps ad-hoc signatures valid itself).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

MANGLED = re.compile(r"^(?P<stem>.+)-[0-9a-f]{32}\.dll$")
LLVM = {"otool": "llvm-otool", "install_name_tool": "llvm-install-name-tool", "lipo": "llvm-lipo"}


def download(
    directory: Path, platform: str, python_version: str = "3.12", project: str = "numpy"
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--isolated",
            "--only-binary",
            ":all:",
            "--no-deps",
            "--platform",
            platform,
            "--python-version",
            python_version,
            "-d",
            str(directory),
            project,
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = directory.glob(f"{project}-*-{platform}.whl")
    return wheel


def _llvm(tool: str) -> str:
    for suffix in ("", "-16", "-15", "-14"):
        if found := shutil.which(f"{LLVM[tool]}{suffix}"):
            return found
    msg = f"{LLVM[tool]} not found (apt-get install llvm)"
    raise FileNotFoundError(msg)


def apple_tool_shims(directory: Path) -> Path:
    """otool/install_name_tool/lipo backed by LLVM, and a no-op codesign, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    scripts = {
        # llvm-otool does not know Apple's -m (no archive member names); drop it
        "otool": 'args=(); for a in "$@"; do [ "$a" = "-m" ] || args+=("$a"); done\n'
        f'exec {_llvm("otool")} "${{args[@]}}"\n',
        "install_name_tool": f'exec {_llvm("install_name_tool")} "$@"\n',
        # llvm-lipo, with Apple's wording for "not an object file": delocate-merge matches it
        "lipo": "err=$(mktemp); trap 'rm -f \"$err\"' EXIT\n"
        f'{_llvm("lipo")} "$@" 2>"$err"; rc=$?\n'
        'if [ $rc -ne 0 ] && grep -q "not recognized as a valid object file" "$err"; then\n'
        '  file=$(sed -n "s/.*: \'\\(.*\\)\': The file was not recognized.*/\\1/p" "$err")\n'
        '  echo "fatal error: lipo: can\'t figure out the architecture type of: $file" >&2\n'
        'else cat "$err" >&2; fi\nexit $rc\n',
        "codesign": "exit 0\n",
    }
    for name, body in scripts.items():
        path = directory / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(0o755)
    return directory


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _rewrite(wheel: Path, out: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` as a wheel at ``out`` with a correct RECORD."""
    record_name = next(n for n in files if n.endswith(".dist-info/RECORD"))
    files = {n: d for n, d in files.items() if n != record_name}
    record = "".join(f"{n},{_digest(d)},{len(d)}\n" for n, d in files.items())
    record += f"{record_name},,\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
        zf.writestr(record_name, record)
    del wheel
    return out


def _read(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}


def unrepair_windows(wheel: Path, out_dir: Path, lib_dir: Path) -> Path:
    import pefile

    files = _read(wheel)
    lib_dir.mkdir(parents=True, exist_ok=True)
    renames: dict[str, str] = {}
    for name in [n for n in files if ".libs/" in n]:
        base = name.rsplit("/", 1)[1]
        match = MANGLED.match(base)
        original = f"{match['stem']}.dll" if match else base
        renames[base] = original
        (lib_dir / original).write_bytes(files.pop(name))
    for name in [n for n in files if n.endswith((".pyd", ".dll"))]:
        pe = pefile.PE(data=files[name], fast_load=True)
        pe.parse_data_directories(
            directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]]
        )
        data = bytearray(files[name])
        for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
            dll = entry.dll.decode()
            if dll in renames:  # same place, shorter name, NUL-padded: the table stays valid
                offset = pe.get_offset_from_rva(entry.struct.Name)
                new = renames[dll].encode()
                data[offset : offset + len(dll)] = new + b"\0" * (len(dll) - len(new))
        files[name] = bytes(data)
    for name in [n for n in files if n.endswith(".dist-info/DELVEWHEEL")]:
        del files[name]
    init = next(n for n in files if n.endswith("/__init__.py") and n.count("/") == 1)
    files[init] = re.sub(
        rb"# start delvewheel patch.*?# end delvewheel patch\r?\n", b"", files[init], flags=re.S
    )
    return _rewrite(wheel, out_dir / wheel.name, files)


def unrepair_macos(wheel: Path, out_dir: Path, lib_dir: Path, work: Path) -> Path:
    """Move ``.dylibs`` out and point every reference at ``lib_dir`` (absolute)."""
    install_name_tool = _llvm("install_name_tool")
    otool = _llvm("otool")
    files = _read(wheel)
    lib_dir.mkdir(parents=True, exist_ok=True)
    moved = {}
    for name in [n for n in files if "/.dylibs/" in n]:
        base = name.rsplit("/", 1)[1]
        target = lib_dir / base
        target.write_bytes(files.pop(name))
        subprocess.run([install_name_tool, "-id", str(target), str(target)], check=True)
        moved[base] = target
    work.mkdir(parents=True, exist_ok=True)
    for name in [n for n in files if n.endswith(".so")]:
        path = work / name.replace("/", "__")
        path.write_bytes(files[name])
        refs = subprocess.run(
            [otool, "-L", str(path)], check=True, capture_output=True, text=True
        ).stdout.splitlines()[1:]
        changes = []
        for ref in (r.strip().split(" (")[0] for r in refs):
            base = ref.rsplit("/", 1)[-1]
            if ".dylibs/" in ref and base in moved:
                changes += ["-change", ref, str(moved[base])]
        if changes:
            subprocess.run([install_name_tool, *changes, str(path)], check=True)
            files[name] = path.read_bytes()
    return _rewrite(wheel, out_dir / wheel.name, files)
