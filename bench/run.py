"""``python bench/run.py``: the same as ``python -m bench``, from a file path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
