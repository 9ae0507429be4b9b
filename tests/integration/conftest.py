from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.container import docker_engine, engine_binaries_present
from tests.images import SUITES, import_image
from tests.servers import SwiftAIO, moto_server, rclone_server, swift_server
from tests.wheels_repo import make_wheels_repo

CI_MARKERS = (
    "CI",
    "TRAVIS",
    "APPVEYOR",
    "GITHUB_ACTIONS",
    "TF_BUILD",
    "TRAVIS_EVENT_TYPE",
    "GITHUB_EVENT_NAME",
    "BUILD_REASON",
    "APPVEYOR_SCHEDULED_BUILD",
)


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One OpenBLAS/sdist cache for the session: the pinned wheel is downloaded once."""
    return tmp_path_factory.mktemp("numpy-wheels-cache")


@pytest.fixture
def build_env(build_cache: Path) -> dict[str, str]:
    """The machine's environment without CI markers (tests choose the mode themselves)."""
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    env["NUMPY_WHEELS_CACHE"] = str(build_cache)
    return env


@pytest.fixture
def fooext_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(**kwargs: Any) -> Path:
        return make_wheels_repo(tmp_path / "wheels", **kwargs)

    return make


@pytest.fixture(scope="session")
def docker_env() -> Iterator[dict[str, str]]:
    """A Docker engine of this session on a private socket (DOCKER_HOST, DOCKER_CONFIG);
    tests using it carry the ``docker`` marker and share one xdist group."""
    if not engine_binaries_present():
        pytest.fail(
            "the container tests need root with docker.io and debootstrap installed: "
            "run `bash ci/setup-test-env.sh` first"
        )
    with docker_engine() as env:
        yield env


@pytest.fixture(scope="session")
def test_images(docker_env: dict[str, str]) -> dict[str, str]:
    """bullseye and trixie (tests/images.py) in the session's engine; their root file systems
    are made once per machine and cached, so this costs seconds after the first run."""
    return {name: import_image(SUITES[name], docker_env) for name in ("bullseye", "trixie")}


# Real staging servers on 127.0.0.1, one of each per test session (xdist worker).
# The store secret is the canary: no captured output may ever contain it.
CANARY = "canary-S3CRET-do-not-print"


@pytest.fixture(scope="session")
def swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftAIO]:
    with swift_server(tmp_path_factory.mktemp("swift"), key=CANARY) as server:
        yield server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def rclone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rclone_server(tmp_path_factory.mktemp("rclone"), "AKTEST", "SKTEST") as endpoint:
        yield endpoint


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain HTTP server on 127.0.0.1 over a directory (the local store's public face)."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
