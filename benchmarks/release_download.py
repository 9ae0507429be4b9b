"""``wheel-uploader -n`` against terryfy's way, side by side in one run (issue 18):

a. this tool: list the container page, gate the set, download every file in parallel
   (hashed as it arrives, checked against the published sha256; each wheel's members read
   and hashed as they arrive too, validate.MemberScan), each wheel's structure,
   RECORD hashes and CRC-32s, its binaries against its tags (these wheels hold none),
   METADATA coherence and ``twine check --strict``, nothing uploaded. Every check of a
   release but provenance: hand-made wheels carry no build records, so it is waived;
b. terryfy's ``wheel-uploader``: sequential ``urllib.request.urlretrieve`` of each file, then
   the sha256 of each.

The wheels of the first 25 build identifiers of the catalogue (26 wheels: one identifier
makes two), 20 MiB each (a stored member of zero bytes: hashing and CRC cost the same for any
bytes), from a local HTTP listing (``python -m http.server`` in its own process, an
index.html of links with ``#sha256=`` fragments); both legs fetch the same files. After one
untimed round, the legs alternate, each deleting its output as soon as it is timed (its dirty
pages would otherwise be written back during the other leg); medians of ``--rounds`` are
printed with the ratio a/b. Goal: a/b <= 0.6. Run from the repository root, on an otherwise
idle machine (2 cores shared with anything else move the ratio by 0.1 or more).

The files go under ``TMPDIR``. On a disk, the kernel's writeback of the 1 GiB a round writes
lands in whichever leg runs then: on this project's 2-core VM the ratio drifted from 0.52 to
0.78 between runs minutes apart. ``TMPDIR=/dev/shm`` (tmpfs) takes the disk out of both legs:
runs there agree within 0.04 (0.64-0.68 at the time of writing).

The last lines give each leg's CPU time (this process's threads and the server's) and the
cores it kept busy: on a 2-core machine leg a keeps both busy (its two sha256 passes, the
writes and the server's sends are work, not waiting), so there it can only go faster by doing
less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from numpy_wheels.__main__ import wheel_uploader_main  # noqa: E402
from numpy_wheels.model.matrix import load_catalogue, manifest, select  # noqa: E402
from tests.servers import free_port, stop, wait_http  # noqa: E402
from tests.wheelfiles import make_wheel  # noqa: E402

MIB = 1 << 20


def setup(tmp: Path, count: int, size: int) -> tuple[Path, Path, list[str]]:
    """A wheels repository building ``count`` identifiers, and their wheels in ``served``."""
    ids = [b.identifier for b in select(load_catalogue(), build=["*"], skip=["pp*"])][:count]
    names = manifest(
        select(load_catalogue(), build=ids, skip=[]), project="fooext", version="0.1.0"
    )
    repo = tmp / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        f'[tool.numpy-wheels]\nproject = "fooext"\nbuild = {json.dumps(ids)}\nsdist = false\n'
    )
    served = tmp / "served"
    links = []
    for name in names:
        tag = name.removeprefix("fooext-0.1.0-").removesuffix(".whl")
        wheel = make_wheel(served, tag=tag, size=size)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links.append(f'<a href="{name}#sha256={digest}">{name}</a>')
    (served / "index.html").write_text("<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    return repo, served, list(names)


def tool(repo: Path, url: str, dest: Path) -> float:
    # hand-made wheels carry no build records (issue 14): the provenance check is waived
    argv = ["--root", str(repo), "-u", url, "-w", str(dest), "-n", "--allow-unverified-provenance"]
    argv += ["fooext", "0.1.0"]
    start = time.perf_counter()
    code = wheel_uploader_main(argv, env={"PATH": "/usr/bin:/bin", "HOME": str(dest)})
    elapsed = time.perf_counter() - start
    assert code == 0, code
    return elapsed


def terryfy(url: str, names: list[str], dest: Path) -> float:
    """The multibuild-era way: one file after the other, then a hash of each."""
    start = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        urllib.request.urlretrieve(url + name, dest / name)  # noqa: S310
    for name in names:
        hashlib.sha256((dest / name).read_bytes()).hexdigest()
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """This process's CPU time (all threads, user + system) plus the server's, from
    /proc/PID/stat (Linux; 0 for the server elsewhere)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        server = 0.0
    return own.ru_utime + own.ru_stime + server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=25, help="build identifiers (default 25)")
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo, served, names = setup(tmp, args.files, args.mib * MIB)
        port = free_port()
        log = (tmp / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=served,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_http(url + "index.html", server)

            def leg_a(dest: Path) -> float:
                return tool(repo, url + "index.html", dest)

            def leg_b(dest: Path) -> float:
                return terryfy(url, names, dest)

            # One untimed round first: imports, the server's and the page cache's first touch.
            ours: list[float] = []
            theirs: list[float] = []
            cpu: dict[str, list[float]] = {"a": [], "b": []}
            for n in range(args.rounds + 1):
                # alternate which leg goes first (load drift); each leg's 500 MiB is deleted as
                # soon as it is timed, so its writeback never lands in the other leg's time
                legs = [("a", leg_a, ours), ("b", leg_b, theirs)]
                for label, leg, times in legs if n % 2 == 0 else legs[::-1]:
                    dest = tmp / f"out{n}"
                    before = cpu_seconds(server.pid)
                    elapsed = leg(dest)
                    used = cpu_seconds(server.pid) - before
                    shutil.rmtree(dest)
                    if n:
                        times.append(elapsed)
                        cpu[label].append(used)
        finally:
            stop(server)
            log.close()
    total = len(names) * args.mib
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"{len(names)} wheels x {args.mib} MiB ({total} MiB), {args.rounds} rounds, medians:")
    print(f"  a. wheel-uploader -n (list, gate, parallel download + sha256, checks): {a:6.2f} s")
    print(f"  b. sequential urlretrieve, then sha256 of each (terryfy):              {b:6.2f} s")
    print(f"  a/b = {a / b:.2f}  (goal <= 0.6)")
    print("  rounds a: " + " ".join(f"{x:.2f}" for x in ours))
    print("  rounds b: " + " ".join(f"{x:.2f}" for x in theirs))
    # CPU-seconds of client and server together over the wall time: how many cores a leg kept
    # busy. A leg near the machine's core count can only go faster by doing less work.
    cores = os.cpu_count() or 1
    for label, times in (("a", ours), ("b", theirs)):
        used = statistics.median(cpu[label])
        busy = used / statistics.median(times)
        print(f"  CPU {label} (client + server): {used:5.2f} s, {busy:.2f} of {cores} cores busy")


if __name__ == "__main__":
    main()
