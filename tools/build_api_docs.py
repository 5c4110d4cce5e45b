"""Build the API reference from the docstrings with pdoc: ``python tools/build_api_docs.py [OUT_DIR]``.

Writes HTML for every public module of netdsl (default ``docs/api/``, not
committed); open ``OUT_DIR/index.html``. Needs ``pip install -e ".[docs]"``.
"""
from __future__ import annotations

import sys
from pathlib import Path


def build(out_dir) -> Path:
    """Render the ``netdsl`` package's API reference into ``out_dir``; returns the index page's path."""
    import os
    os.environ.setdefault("PDOC_ALLOW_EXEC", "1")  # importing netdsl's dependencies runs `uname -p` (platform)
    import pdoc
    out = Path(out_dir)
    pdoc.pdoc("netdsl", output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "api"
    print(f"wrote {build(target)}")
