"""Check that the installed numpy uses the OpenBLAS this build pinned (numpy's show_config).

The expected version comes from SCIPY_OPENBLAS_VERSION, set by numpy_wheels from its pin.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    import numpy

    expected = os.environ.get("SCIPY_OPENBLAS_VERSION")
    blas = numpy.show_config("dicts")["Build Dependencies"]["blas"]
    print(f"numpy {numpy.__version__} BLAS: {blas.get('name')} {blas.get('version')}")
    if not expected:
        print("SCIPY_OPENBLAS_VERSION is not set: this build uses no OpenBLAS")
        return 0
    if blas.get("name") != "scipy-openblas" or blas.get("version") != expected:
        print(f"expected scipy-openblas {expected}, found {blas.get('name')} {blas.get('version')}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
