"""``python -m ml4t.lint.reference [PATH]``: write the rule reference (default ``docs/lint-rules.md``)."""

from __future__ import annotations

import sys
from pathlib import Path

from ml4t.lint._docs import reference

if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/lint-rules.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(reference(), encoding="utf-8")
    print(f"wrote {target}")
