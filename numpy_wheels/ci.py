"""Every fact about the CI services we run on: which one runs us, and what its variables mean.

A leaf module: it imports nothing of ours, so the logger and every layer above may use it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class CIProvider(enum.StrEnum):
    TRAVIS = "travis"
    APPVEYOR = "appveyor"
    GITHUB = "github"
    AZURE = "azure"
    OTHER = "other"
    NONE = "none"


def detect_ci(env: Mapping[str, str]) -> CIProvider:
    """Which CI service runs us, from its documented environment variables.

    >>> detect_ci({"TRAVIS": "true", "CI": "true"})
    <CIProvider.TRAVIS: 'travis'>
    >>> detect_ci({})
    <CIProvider.NONE: 'none'>
    """
    if env.get("TRAVIS") == "true":
        return CIProvider.TRAVIS
    if env.get("APPVEYOR", "").lower() == "true":
        return CIProvider.APPVEYOR
    if env.get("GITHUB_ACTIONS") == "true":
        return CIProvider.GITHUB
    if env.get("TF_BUILD", "").lower() == "true":
        return CIProvider.AZURE
    if env.get("CI"):
        return CIProvider.OTHER
    return CIProvider.NONE
