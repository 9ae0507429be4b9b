"""Check a build summary against the documented provenance schema."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema


def schema() -> dict[str, Any]:
    text = resources.files("numpy_wheels").joinpath("resources/provenance.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def check_summary(summary: object) -> None:
    """Raise jsonschema.ValidationError when ``summary`` does not follow the schema."""
    jsonschema.Draft202012Validator(schema()).validate(summary)
