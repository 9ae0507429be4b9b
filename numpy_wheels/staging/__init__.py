"""Staging: the store adapters (store.py; Rackspace Cloud Files in cloudfiles.py), the upload
(stage.py) and the container's pages (pages.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numpy_wheels.config.staging import StoreConfig
    from numpy_wheels.staging.store import Store


def open_store(config: StoreConfig) -> Store:
    """The adapter of ``config.provider`` (its client library is imported here, on use)."""
    from numpy_wheels.staging.store import LocalStore, S3Store, SwiftStore

    match config.provider:
        case "local":
            return LocalStore(config)
        case "swift":
            return SwiftStore(config)
        case "cloudfiles":
            from numpy_wheels.staging.cloudfiles import CloudFilesStore

            return CloudFilesStore(config)
        case "s3":
            return S3Store(config)
