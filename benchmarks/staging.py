"""Stage 60 files of 15 MiB to a local OpenStack Swift, side by side in one run:

a. this tool (``stage.upload``: sha256 of every file, records, metadata.json, index.html,
   simple/ pages) through python-swiftclient;
b. python-swiftclient's ``SwiftService.upload`` with its default threads (files only);
c. wheelhouse-uploader 0.10.3 through its Python API (libcloud 2.2.1, in its own venv), on
   ``--whu-files`` of the files (default 4) because its hashing is pathological on Python 3
   (a third of the set ran for over 30 minutes here) — compared per MiB;
d. a plain disk copy.

Prints the times and the ratios; goal a/b <= 1.1. Run from the repository root with the test
extra installed (it starts Swift all-in-one from ``tests/servers.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import SwiftAIO, swift_server  # noqa: E402

MIB = 1 << 20
WHU_SCRIPT = """
import sys, time
from libcloud.storage.drivers.cloudfiles import OpenStackSwiftStorageDriver
from wheelhouse_uploader.upload import Uploader
proxy, folder, container = sys.argv[1:4]
class LocalSwiftUploader(Uploader):
    def make_driver(self):
        return OpenStackSwiftStorageDriver(self.username, self.secret, secure=False,
            ex_force_auth_url=f"http://127.0.0.1:{proxy}/auth/v1.0", ex_force_auth_version="1.0",
            ex_force_base_url=f"http://127.0.0.1:{proxy}/v1/AUTH_test")
start = time.perf_counter()
LocalSwiftUploader("test:tester", "testing", "OPENSTACK_SWIFT", None).upload(
    folder, container, retry_on_error=0)
print(time.perf_counter() - start)
"""


def make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for n in range(count):
        path = folder / f"fooext-0.1.{n}-cp311-cp311-manylinux_2_28_x86_64.whl"
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


def ours(swift: SwiftAIO, files: list[Path], container: str) -> float:
    from numpy_wheels.config.staging import StoreConfig
    from numpy_wheels.staging import open_store
    from numpy_wheels.staging.stage import upload

    config = StoreConfig(
        provider="swift",
        container=container,
        auth_url=swift.auth_url,
        username="test:tester",
        secret=swift.key,
    )
    start = time.perf_counter()
    upload(files, store=open_store(config), project="fooext", expected=[])
    return time.perf_counter() - start


def swiftservice(swift: SwiftAIO, files: list[Path], container: str) -> float:
    from swiftclient.service import SwiftService, SwiftUploadObject

    options = {"auth": swift.auth_url, "user": "test:tester", "key": swift.key}
    start = time.perf_counter()
    with SwiftService(options=options) as service:
        objects = [SwiftUploadObject(str(p), object_name=p.name) for p in files]
        for result in service.upload(container, objects):
            if not result["success"]:
                raise RuntimeError(result.get("error"))
    return time.perf_counter() - start


def wheelhouse_uploader(swift: SwiftAIO, files: list[Path], container: str, work: Path) -> float:
    venv = work / "whu-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/pip"), "install", "-q", "wheelhouse-uploader==0.10.3"], check=True
    )
    folder = work / "whu-files"
    folder.mkdir()
    for p in files:
        os.link(p, folder / p.name)
    out = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            WHU_SCRIPT,
            str(swift.ports["proxy"]),
            str(folder),
            container,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def disk_copy(files: list[Path], dest: Path) -> float:
    dest.mkdir()
    start = time.perf_counter()
    for p in files:
        shutil.copyfile(p, dest / p.name)
    os.sync()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--mib", type=int, default=15)
    parser.add_argument(
        "--whu-files", type=int, default=4, help="files for wheelhouse-uploader (0 skips it)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = make_files(work / "files", args.count, args.mib * MIB)
        total = args.count * args.mib
        with swift_server(work / "swift") as swift:
            # Warm up auth and the container servers so neither side pays for the first PUT.
            swiftservice(swift, files[:1], "warmup")
            t_b = swiftservice(swift, files, "b")
            t_a = ours(swift, files, "a")
            t_c = None
            part = files[: args.whu_files]
            if part:
                t_c = wheelhouse_uploader(swift, part, "c", work)
        t_d = disk_copy(files, work / "copy")
    print(f"{args.count} files x {args.mib} MiB = {total} MiB")
    print(f"(a) numpy_wheels upload       {t_a:7.2f} s  {total / t_a:7.0f} MiB/s")
    print(f"(b) SwiftService.upload       {t_b:7.2f} s  {total / t_b:7.0f} MiB/s")
    if t_c is not None:
        part_mib = len(part) * args.mib
        print(
            f"(c) wheelhouse-uploader 0.10.3 {t_c:6.2f} s  {part_mib / t_c:7.2f} MiB/s "
            f"({part_mib} MiB)"
        )
    print(f"(d) disk copy                 {t_d:7.2f} s  {total / t_d:7.0f} MiB/s")
    print(f"a/b = {t_a / t_b:.2f} (goal <= 1.1); a/d = {t_a / t_d:.1f}")
    if t_c is not None:
        per_mib_c = t_c / (len(part) * args.mib)
        print(f"c/a per MiB = {per_mib_c / (t_a / total):.1f}")


if __name__ == "__main__":
    main()
