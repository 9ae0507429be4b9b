"""Rackspace Cloud Files configuration and pieces that need no server (the store itself is
tested against the Rackspace test cloud in tests/integration/test_cloudfiles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_wheels.config.staging import (
    RACKSPACE_IDENTITY,
    RACKSPACE_REGION,
    StoreArgs,
    resolve_store_config,
)
from numpy_wheels.errors import CredentialsMissingError
from numpy_wheels.staging.cloudfiles import APIKeyAuth
from numpy_wheels.staging.pages import Record, index_html

ENV = {"WHEELHOUSE_UPLOADER_USERNAME": "numpy", "WHEELHOUSE_UPLOADER_SECRET": "api-key-123"}


def resolve(
    root: Path, env: dict[str, str], *, region: str | None = None, auth_url: str | None = None
) -> tuple[str | None, str | None]:
    args = StoreArgs(container="wheels", provider="cloudfiles", region=region, auth_url=auth_url)
    config = resolve_store_config(root, env, args, mode="release")
    return config.auth_url, config.region


def test_rackspace_defaults(tmp_path: Path) -> None:
    assert resolve(tmp_path, ENV) == (RACKSPACE_IDENTITY, "ORD")
    assert RACKSPACE_IDENTITY == "https://identity.api.rackspacecloud.com/v2.0/"
    assert RACKSPACE_REGION == "ORD"
    # ST_AUTH / OS_AUTH_URL name v1.0 or Keystone endpoints: not Rackspace's API-key identity
    env = {**ENV, "ST_AUTH": "https://identity.api.rackspacecloud.com/v1.0", "OS_AUTH_URL": "x"}
    assert resolve(tmp_path, env) == (RACKSPACE_IDENTITY, "ORD")


def test_overrides_command_line_then_setup_cfg(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[staging]\nprovider-name = cloudfiles\nregion = IAD\nauth-url = https://id.example/v2.0/\n"
    )
    assert resolve(tmp_path, ENV) == ("https://id.example/v2.0/", "IAD")
    assert resolve(tmp_path, ENV, region="dfw", auth_url="https://other/v2.0/") == (
        "https://other/v2.0/",
        "dfw",  # upper-cased by the store, as libcloud did
    )


def test_secret_is_the_api_key_never_a_password(tmp_path: Path) -> None:
    with pytest.raises(CredentialsMissingError, match="WHEELHOUSE_UPLOADER_SECRET"):
        resolve(tmp_path, {"WHEELHOUSE_UPLOADER_USERNAME": "numpy", "OS_PASSWORD": "pw"})
    config = resolve_store_config(
        tmp_path,
        {"ST_USER": "numpy", "ST_KEY": "api-key-456"},
        StoreArgs(container="wheels", provider="cloudfiles"),
        mode="release",
    )
    assert (config.username, config.secret) == ("numpy", "api-key-456")


def test_api_key_credentials_body() -> None:
    auth = APIKeyAuth(RACKSPACE_IDENTITY, username="numpy", api_key="k3y")
    assert auth.get_auth_data() == {
        "RAX-KSKEY:apiKeyCredentials": {"username": "numpy", "apiKey": "k3y"}
    }


def test_index_names_the_public_address() -> None:
    record = Record(
        filename="fooext-0.1.0-py3-none-any.whl",
        project="fooext",
        version="0.1.0",
        sha256="0" * 64,
        size=10,
        uploaded="2026-01-01T00:00:00+00:00",
    )
    cdn = "https://abc.ssl.cf1.rackcdn.com/"
    page = index_html([record], project="fooext", expected=[], public_url=cdn)
    assert f"Public address: <a href='{cdn}'>{cdn}</a>" in page
    assert f"pip install --index-url {cdn}simple/ fooext" in page
    assert f"wheel-uploader -u {cdn} fooext VERSION" in page
    assert "Public address" not in index_html([record], project="fooext", expected=[])
