"""The ``ml4t`` command.

    ml4t --version
    ml4t lint PATH... [--select CODES] [--ignore CODES] [--format text|json] [--explain CODE]
    ml4t report RESULT_DIR|RUN_DIR [-o OUT.html]
    ml4t schema
    ml4t init [PATH] [--force]

``ml4t --version`` prints ml4t's version and those of Polars, plotly and Python, on one line.

``ml4t lint`` exit status: 0 no findings, 1 findings, 2 bad usage, 3 some files could not be read or parsed
(each is a line ``path:1:1: E902 cannot read: <reason>`` or ``path:line:col: E999 cannot parse: <reason>``; the
other files are still linted and their findings printed).

    ml4t run FILE [--set KEY=VALUE]... [--runs DIR] [--force] [--no-cache | --cache-dir DIR]
    ml4t sweep FILE [--set KEY=VALUE]... [--runs DIR] [--force] [--no-cache | --cache-dir DIR]
    ml4t check FILE [--set KEY=VALUE]...

``ml4t run`` runs the study a config FILE (``.toml``, ``.yaml``) declares into ``DIR/<run_id>/`` (default
``runs``; see :mod:`ml4t.config._run_folder`) and prints the folder and the chosen run's metrics, or "found an
identical run: <folder>" when an identical study ran before (``--force`` runs it again). FILE may also be a run
folder (or its ``manifest.json``): the run is reproduced and every output compared. ``ml4t sweep`` runs only
the config's ``[sweep]`` and its chosen combination. ``ml4t check`` validates everything a run would touch
(the config, the data and signals files, the columns the rules name, the universe's symbols, the ``ref``)
without running. ``--set section.key=value`` overrides a key (after ``ML4T__SECTION__KEY`` environment
variables). Exit status: 0 success (a reproduction: identical), 1 the run failed or a reproduction differs,
2 bad usage or a bad config (every problem printed with its file, line and key path).

``ml4t run`` and ``ml4t sweep`` use the cache (:mod:`ml4t.cache`; library calls keep it off until
``ml4t.cache.configure()``): the sweep's indicator leaves and an event strategy's indicators are read from
``$ML4T_CACHE_DIR`` (else the user's cache directory), or ``--cache-dir DIR``, and stored there; ``--no-cache``
computes everything and touches no cache file. The run prints one line of what it did (``cache: 12 hits, 0
misses``, with the reasons of the misses) and the manifest records it; the outputs and the run id never depend
on it. Why not a ``[cache]`` table in the config: the config is the study (hashed into the run id, shared
between machines), while where a machine keeps its cache, and whether a run may use it, is the machine's and
the command's, like ``--runs``. A reproduction (``ml4t run RUN_DIR``) never reads the cache.

``ml4t report`` writes the one-file HTML report (:meth:`ml4t.Result.report`) of a result saved with
:meth:`ml4t.Result.save`, to ``RESULT_DIR/report.html`` unless ``-o`` says where, and prints its path; given a
study's run folder, it renders the report of the run's ``result/`` again, to ``RUN_DIR/report.html``. Exit
status: 0 written, 1 the report failed (a damaged result, an error while writing), 2 bad usage (a
``RESULT_DIR`` that does not exist or is not a saved result, an ``-o`` whose folder does not exist).

    ml4t cache ls [--level LEVEL]
    ml4t cache info
    ml4t cache clear [--level LEVEL] [--yes]

``ml4t cache`` looks at the cache of :mod:`ml4t.cache` (the directory ``$ML4T_CACHE_DIR``, else the user's cache
directory): ``ls`` lists the entries, most recently used first (level, key, size, last use in UTC, and what the
entry is: its describe's ``what``, else its describe as JSON); ``info`` prints the directory, the number of entries
and bytes per level and the size limit; ``clear`` removes the entries (of one level), asking first unless
``--yes``; when stdin is not a terminal it does not ask and requires ``--yes``. Exit status 0, 2 for bad usage.

    ml4t paper CONFIG [--set KEY=VALUE]... [--out DIR] [--live]
    ml4t init --paper [PATH] [--force]

``ml4t paper`` runs the event ``Strategy`` of a paper config (``.toml``, ``.yaml``; see
:mod:`ml4t.live._paper` and ``docs/paper.md``) as a live ``ml4t.live.Session``: on the replay of its
``[data]`` over a websocket on 127.0.0.1 (or a ``ws://`` feed), on the simulated broker, in shadow mode or
through Alpaca, journaled. It writes the journal and ``Result.save`` into ``--out`` (default
``paper/<session_id>``, else ``paper/<UTC time>``) and prints a summary (orders by status, fills, final equity,
the journal's path, whether it restarted). Run it again with the same journal to restart a stopped session; a
finished journal is refused. Real money (``[session.alpaca] paper = false``) needs ``live = true`` in the config
and ``--live`` here, both. Exit status: 0 the session ran to its end, 1 it failed while running (the journal
keeps what happened: run again to restart), 2 bad usage or a bad config (a finished journal, real money without
both opt-ins, every config problem with its file, line and key path), 130 stopped with Ctrl-C (the journal keeps
the session, as for 1). ``ml4t init --paper`` writes a commented example paper config (default ``paper.toml``)
that runs on synthetic data.

``ml4t schema`` prints the JSON Schema of a study config (:func:`ml4t.config.json_schema`) for editors.
``ml4t init`` writes a commented example study to ``PATH`` (default ``study.toml``) and prints its path: every
section and key with what it means, on synthetic data so it runs anywhere. Exit status 2 when ``PATH`` exists
(unless ``--force``) or its folder does not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml4t._version import installed
from ml4t.errors import ConfigError, Ml4tError

__all__ = ["EXIT_STATUS", "main"]

EXIT_STATUS = """exit status:
  0  no findings
  1  findings
  2  bad usage (an unknown code, a path that does not exist)
  3  some files could not be read (E902: not a regular file, over 10 MB, not decodable, a corrupt notebook)
     or parsed (E999); the other files are still linted"""

REPORT_EXIT_STATUS = """exit status:
  0  the report was written (its path is printed)
  1  the report failed (a damaged result, an error while writing)
  2  bad usage (RESULT_DIR does not exist or is not a saved result, the folder of -o does not exist)"""


class _UsageError(Exception):
    """A command's bad usage (exit status 2), with the message to print."""


def version() -> str:
    """What ``ml4t --version`` prints: ml4t's version, then Polars', plotly's and Python's."""
    import ml4t

    others = ", ".join(f"{name} {_installed(name)}" for name in ("polars", "plotly"))
    return f"ml4t {ml4t.__version__} ({others}, Python {platform.python_version()})"


def _installed(package: str) -> str:
    return installed(package) or "not installed"


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


def _report(args: argparse.Namespace) -> int:
    from ml4t.config._run_folder import is_run_folder
    from ml4t.report import is_result_folder, report_result
    from ml4t.result import Result

    folder = Path(args.result_dir)
    if not folder.exists():
        raise _UsageError(f"RESULT_DIR {folder} does not exist")
    default = folder / "report.html"
    if is_run_folder(folder):  # a study's run folder: its result, reported beside it
        folder = folder / "result"
    if not is_result_folder(folder):
        raise _UsageError(f"{folder} is not a saved ml4t result (no ml4t manifest.json; save one with Result.save)")
    out = Path(args.output) if args.output is not None else default
    if not out.parent.is_dir():
        raise _UsageError(f"the folder of -o {out} does not exist")
    try:
        written = report_result(Result.load(folder), out)
    except Ml4tError as error:
        print(f"ml4t report: {folder}: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        traceback.print_exc()
        print(f"ml4t report: {folder}: the report failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(written)
    return 0


def _schema(args: argparse.Namespace) -> int:
    from ml4t.config import json_schema

    print(json.dumps(json_schema(), indent=2, allow_nan=False))
    return 0


def _init(args: argparse.Namespace) -> int:
    if args.paper:
        from ml4t.live._paper import EXAMPLE as text
    else:
        from ml4t.config._init import example

        text = example()
    path = Path(args.path if args.path is not None else "paper.toml" if args.paper else "study.toml")
    if path.exists() and not args.force:
        raise _UsageError(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise _UsageError(f"the folder of {path} does not exist")
    path.write_text(text, encoding="utf-8")
    print(path)
    return 0


PAPER_EXIT_STATUS = """exit status:
  0  the session ran to its end (the summary is printed)
  1  the session failed while running (the journal keeps what happened: run again to restart it)
  2  bad usage or a bad config (every problem with its file, line and key path), a finished journal,
     real money without both opt-ins (live = true in [session.alpaca] and --live)
  130  stopped with Ctrl-C (the journal keeps the session: run again with the same --out to restart it)"""


def _paper(args: argparse.Namespace) -> int:
    from ml4t.live._paper import default_out, load_paper, run_paper

    loaded = load_paper(args.file, overrides=args.set)
    out = Path(args.out) if args.out is not None else default_out(loaded)
    try:
        outcome = run_paper(loaded, out, live=args.live)
    except ConfigError as error:
        raise loaded.located(error) from None
    except KeyboardInterrupt:
        print(
            f"ml4t paper: stopped; its journal keeps the session: run it again with --out {out} to restart it",
            file=sys.stderr,
        )
        return 130
    except Exception as error:
        return _failed(args.command, error)
    print(outcome.summary())
    return 0


STUDY_EXIT_STATUS = """exit status:
  0  success (a reproduced run: every output identical)
  1  the run failed (an error while running), or a reproduced run differs
  2  bad usage or a bad config (every problem is printed with its file, line and key path)"""


def _failed(command: str, error: BaseException) -> int:
    """Exit 1 for an error while running: the message; a traceback only for an error that is not ml4t's."""
    if not isinstance(error, Ml4tError):
        traceback.print_exc()
    print(f"ml4t {command}: the run failed: {type(error).__name__}: {error}", file=sys.stderr)
    return 1


def _study(args: argparse.Namespace) -> Any:
    from ml4t.config import Study

    return Study.from_file(args.file, overrides=args.set)


def _run_cache(args: argparse.Namespace) -> Any:
    """The Store of a run's ``--cache-dir`` (its size limit from the settings), else the default one
    (``$ML4T_CACHE_DIR`` or the user's cache directory); False with ``--no-cache``."""
    from ml4t.cache import Store, settings

    if args.no_cache:
        return False
    if args.cache_dir is None:
        return _cache_store()
    root = Path(args.cache_dir).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise _UsageError(f"--cache-dir {root} is not a directory")
    return Store(root, max_bytes=settings().max_bytes)


def _run(args: argparse.Namespace) -> int:
    from ml4t.config import reproduce
    from ml4t.config._run_folder import is_run_folder, run_study

    file = Path(args.file)
    folder = file.parent if file.name == "manifest.json" else file
    if is_run_folder(folder):
        if args.set:
            raise _UsageError("--set does not apply to a run folder: it reruns the stored config")
        if args.no_cache or args.cache_dir is not None:
            raise _UsageError(
                "--no-cache and --cache-dir do not apply to a run folder: a reproduction never reads the cache"
            )
        try:
            reproduction = reproduce(folder)
        except ConfigError:
            raise
        except Exception as error:
            return _failed(args.command, error)
        print(f"{folder}: {reproduction}")
        return 0 if reproduction.identical else 1
    study = _study(args)
    command = " ".join(["ml4t", *(args.argv or [])])
    cache = _run_cache(args)
    try:
        outcome = run_study(
            study,
            Path(args.runs),
            sweep_only=args.command == "sweep",
            force=args.force,
            command=command,
            cache=cache,
        )
    except ConfigError:
        raise
    except Exception as error:
        return _failed(args.command, error)
    print(outcome.summary())
    return 0


def _check(args: argparse.Namespace) -> int:
    print(_study(args).check())
    return 0


CACHE_EXIT_STATUS = """exit status:
  0  done (also when a clear was declined at its question)
  2  bad usage (an unknown level, clear without --yes when stdin is not a terminal)"""


def _size(n: int) -> str:
    """Bytes in SI units, as the limit is written (``832 B``, ``1.2 MB``)."""
    value, unit = float(n), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"


def _cache_store() -> Any:
    from ml4t.cache import store

    found = store()
    if found.root.exists() and not found.root.is_dir():
        raise _UsageError(f"the cache directory {found.root} is not a directory")
    return found


def _what(describe: dict[str, Any] | None) -> str:
    if describe is None:
        return "(damaged: unreadable; the next read removes it)"
    what = describe.get("what")
    text = what if isinstance(what, str) else json.dumps(describe, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:79] + "…"


def _cache_ls(args: argparse.Namespace) -> int:
    store = _cache_store()
    entries = store.entries(args.level)
    if not entries:
        print(f"no entries{f' of level {args.level}' if args.level else ''} in {store.root}")
        return 0
    rows = [("level", "key", "size", "last used (UTC)", "what")]
    for e in entries:
        rows.append((e.level, e.key, _size(e.size), e.last_used.strftime("%Y-%m-%d %H:%M:%S"), _what(e.describe)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[4]]).rstrip())
    return 0


def _cache_info(args: argparse.Namespace) -> int:
    store = _cache_store()
    usage = store.usage()
    print(f"directory   {store.root}{'' if store.root.is_dir() else ' (not created yet)'}")
    print(f"limit       {_size(store.max_bytes)} ({store.max_bytes} bytes)")
    for level, (count, size) in usage.items():
        print(f"{level:<11} {count} {'entry' if count == 1 else 'entries'}, {_size(size)}")
    count, size = sum(c for c, _ in usage.values()), sum(s for _, s in usage.values())
    print(f"{'total':<11} {count} {'entry' if count == 1 else 'entries'}, {_size(size)}")
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    store = _cache_store()
    usage = store.usage()
    count = sum(c for level, (c, _) in usage.items() if args.level in (None, level))
    size = sum(s for level, (_, s) in usage.items() if args.level in (None, level))
    which = f"{count} {'entry' if count == 1 else 'entries'} ({_size(size)})" + (
        f" of level {args.level}" if args.level else ""
    )
    if count == 0:
        print(f"nothing to clear{f' of level {args.level}' if args.level else ''} in {store.root}")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise _UsageError(f"stdin is not a terminal: pass --yes to remove {which} from {store.root}")
        answer = input(f"remove {which} from {store.root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 0
    removed, freed = store.clear(args.level)
    print(f"removed {removed} {'entry' if removed == 1 else 'entries'} ({_size(freed)}) from {store.root}")
    return 0


def _cache_commands(commands: Any) -> None:
    from ml4t.cache import LEVELS

    cache_cmd = commands.add_parser(
        "cache",
        help="list, summarize or clear the cache (ml4t.cache)",
        description="List, summarize or clear the cache of ml4t.cache ($ML4T_CACHE_DIR, else the user's cache).",
        epilog=CACHE_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = cache_cmd.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    raw = {"epilog": CACHE_EXIT_STATUS, "formatter_class": argparse.RawDescriptionHelpFormatter}
    ls_cmd = sub.add_parser("ls", help="list the entries, most recently used first", **raw)
    sub.add_parser("info", help="the directory, entries and bytes per level, the limit", **raw)
    clear_cmd = sub.add_parser("clear", help="remove the entries (asks first unless --yes)", **raw)
    for command in (ls_cmd, clear_cmd):
        command.add_argument("--level", choices=LEVELS, default=None, help="only this level")
    clear_cmd.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")


def _cache(args: argparse.Namespace) -> int:
    handlers = {"ls": _cache_ls, "info": _cache_info, "clear": _cache_clear}
    return handlers[args.cache_command](args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ml4t", description="ml4t: backtesting for machine-learning research")
    parser.add_argument("--version", action="version", version=version(), help="print the versions and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    report_cmd = commands.add_parser(
        "report",
        help="write the one-file HTML report of a result saved with Result.save",
        description="Write the one-file HTML report of a result saved with Result.save(RESULT_DIR).",
        epilog=REPORT_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report_cmd.add_argument("result_dir", metavar="RESULT_DIR", help="a folder written by Result.save")
    report_cmd.add_argument(
        "-o", "--output", metavar="OUT.html", default=None, help="where to write it (default RESULT_DIR/report.html)"
    )
    commands.add_parser("schema", help="print the JSON Schema of a study config (for editors)")
    init_cmd = commands.add_parser("init", help="write a commented example study config")
    init_cmd.add_argument(
        "path", metavar="PATH", nargs="?", default=None, help="default study.toml (paper.toml with --paper)"
    )
    init_cmd.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    init_cmd.add_argument("--paper", action="store_true", help="a paper session's config (ml4t paper) instead")
    paper_cmd = commands.add_parser(
        "paper",
        help="run an event Strategy from a config as a live session (replay, shadow or Alpaca paper), journaled",
        description="Run the event Strategy of a paper config as a live session: on the replay of its data (or a\n"
        "websocket feed), on the simulated broker, in shadow mode or through Alpaca; journaled, the result saved.\n"
        "Run it again with the same journal (--out) to restart a stopped session.",
        epilog=PAPER_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    paper_cmd.add_argument("file", metavar="CONFIG", help="a .toml / .yaml paper config (ml4t init --paper)")
    paper_cmd.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (section.key=value)"
    )
    paper_cmd.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="the journal and result go here (default paper/<session_id>, else paper/<UTC time>)",
    )
    paper_cmd.add_argument(
        "--live", action="store_true", help="trade real money: also needs live = true in [session.alpaca]"
    )
    for name, text in (
        ("run", "run a study config (or reproduce a run folder) into a run folder"),
        ("sweep", "run a study config's [sweep] and its chosen combination into a run folder"),
        ("check", "validate a study config, its data and its strategy without running"),
    ):
        study_cmd = commands.add_parser(
            name,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=STUDY_EXIT_STATUS,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        what = "a .toml / .yaml config" + (
            ", or a run folder / its manifest.json to reproduce" if name == "run" else ""
        )
        study_cmd.add_argument("file", metavar="FILE", help=what)
        study_cmd.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (section.key=value)"
        )
        if name != "check":
            study_cmd.add_argument("--runs", default="runs", metavar="DIR", help="where run folders go (default runs)")
            study_cmd.add_argument("--force", action="store_true", help="run again even if an identical run exists")
            where = study_cmd.add_mutually_exclusive_group()
            where.add_argument(
                "--no-cache", action="store_true", help="compute everything; read and write no cache file"
            )
            where.add_argument(
                "--cache-dir",
                metavar="DIR",
                default=None,
                help="the cache's directory (default $ML4T_CACHE_DIR, else the user's cache directory)",
            )
    _cache_commands(commands)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {
        "report": _report,
        "lint": _lint,
        "schema": _schema,
        "init": _init,
        "run": _run,
        "sweep": _run,
        "check": _check,
        "cache": _cache,
        "paper": _paper,
    }
    try:
        return handlers[args.command](args)
    except _UsageError as error:
        print(f"ml4t {args.command}: {error}", file=sys.stderr)
        return 2
    except Ml4tError as error:
        print(f"ml4t {args.command}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `ml4t cache ls | head`: the reader has gone, which is not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so Python's exit flush does not fail on the closed pipe too
        return 0


if __name__ == "__main__":
    sys.exit(main())
