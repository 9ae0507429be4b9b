"""Build, repair, test, stage and release the binary wheels of a compiled Python package."""

__version__ = "0.1.0"
