"""The ``ml4t`` command.

    ml4t lint PATH... [--select CODES] [--ignore CODES] [--format text|json] [--explain CODE]

Exit status: 0 no findings, 1 findings, 2 bad usage, 3 some files could not be read or parsed (each is a line
``path:1:1: E902 cannot read: <reason>`` or ``path:line:col: E999 cannot parse: <reason>``; the other files are
still linted and their findings printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence

from ml4t.errors import Ml4tError

__all__ = ["EXIT_STATUS", "main"]

EXIT_STATUS = """exit status:
  0  no findings
  1  findings
  2  bad usage (an unknown code, a path that does not exist)
  3  some files could not be read (E902: not a regular file, over 10 MB, not decodable, a corrupt notebook)
     or parsed (E999); the other files are still linted"""


def _codes(value: str) -> list[str]:
    return [part for part in value.split(",") if part.strip()]


def _lint(args: argparse.Namespace) -> int:
    from ml4t import lint

    if args.explain:
        print(lint.explain(args.explain), end="")
        return 0
    if not args.paths:
        print("ml4t lint: give at least one PATH (or --explain CODE)", file=sys.stderr)
        return 2
    findings = lint.check_paths(args.paths, select=args.select, ignore=args.ignore)
    unreadable = findings.unreadable
    problems = [f for f in findings if f.code not in lint.UNREADABLE]
    if args.format == "json":
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            print(finding)
        if problems:
            counts = Counter(f.code for f in problems)
            summary = ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
            print(f"Found {len(problems)} problem(s): {summary}.")
            print("Silence one with '# ml4t: ignore[CODE]' on its line; 'ml4t lint --explain CODE' says why.")
        if unreadable:
            print(f"{len(unreadable)} file(s) could not be linted (E902 cannot read, E999 cannot parse).")
        if not findings:
            print("All checks passed.")
    return 3 if unreadable else 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ml4t", description="ml4t: backtesting for machine-learning research")
    commands = parser.add_subparsers(dest="command", required=True)
    lint_cmd = commands.add_parser(
        "lint",
        help="lint strategy source files and notebooks (never runs them)",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint_cmd.add_argument("paths", nargs="*", help="files or directories (*.py, *.ipynb)")
    lint_cmd.add_argument("--select", type=_codes, default=None, help="codes or families to report (e.g. PIT,REP001)")
    lint_cmd.add_argument("--ignore", type=_codes, default=None, help="codes or families to leave out")
    lint_cmd.add_argument("--format", choices=("text", "json"), default="text")
    lint_cmd.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    args = parser.parse_args(argv)
    try:
        return _lint(args)
    except Ml4tError as error:
        print(f"ml4t {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
