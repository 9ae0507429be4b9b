"""Check the LICENSE.txt of the *installed* numpy: numpy's text plus the bundled-library text.

multibuild-era numpy-wheels ran this after installing the wheel; it is called by run_tests in
config.sh from an empty directory, so ``import numpy`` finds the installed wheel.
"""

from __future__ import annotations

import importlib.metadata
import sys


def main() -> int:
    sys.path = [p for p in sys.path if p not in ("", ".")]
    dist = importlib.metadata.distribution("numpy")
    files = [
        f
        for f in dist.files or ()
        if f.name.upper().startswith("LICENSE") and ".dist-info" in str(f)
    ]
    text = "\n".join(f.read_text() or "" for f in files)
    needed = (
        "Copyright (c)",
        "NumPy Developers",
        "This binary distribution of NumPy also bundles the following software",
    )
    missing = [n for n in needed if n not in text]
    if missing:
        print(f"licence check failed: {files} lack {missing}")
        return 1
    print(f"licence check: {', '.join(str(f) for f in files)} carry the bundled-library text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
