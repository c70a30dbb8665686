"""How every command of the package (``sim``, ``vectors``, ``rtl``, ``golden``, ``bench``)
reports failure.

- A bad argument or bad input file: one line ``error: <what>`` on stderr, exit status 2
  (:class:`UsageError`, the argument parser's own errors, and :class:`refmodel.outdir.Refused`).
- An internal failure (any other exception): one line
  ``internal error: <ExceptionType>: <message> (rerun with --debug for the traceback)``,
  exit status 1; with ``--debug`` the traceback is printed first.
- SIGTERM raises ``SystemExit(143)`` and Ctrl-C ``KeyboardInterrupt`` (reported as
  ``interrupted``, exit status 130), so half-written outputs are cleaned up on the way out.

Never a bare traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import traceback
from pathlib import Path
from typing import Callable, Iterator, NoReturn

from refmodel import memory
from refmodel.outdir import Refused

EXIT_USAGE = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument or input file: reported as ``error: <message>``, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line (no usage dump), with the
    shared ``--debug`` flag."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="print the traceback of an internal error")

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def nonempty_path(text: str) -> Path:
    """An argparse ``type`` for paths: the empty string is an error, not "no path"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path")
    return Path(text)


@contextlib.contextmanager
def bad_input() -> Iterator[None]:
    """Inside the block a ``ValueError`` describes a bad argument or input file (the library's
    convention): turn it into a :class:`UsageError`."""
    try:
        yield
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _first_line(exc: BaseException) -> str:
    """The first line of the message; a message listing several problems (one per line, as
    the plan reader writes them) says how many more there are."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return "(no message)"
    return lines[0] + (f" (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else "")


def _terminate(signum: int, frame) -> NoReturn:
    raise SystemExit(128 + signum)


def run(body: Callable[[], int], debug: bool = False) -> int:
    """Run a command's body under the package's failure convention; returns the exit status.
    The C allocator keeps freed memory for reuse first (:mod:`refmodel.memory`)."""
    memory.keep_freed_memory()
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: keep the handler there is
        previous = None
    try:
        return body()
    except (UsageError, Refused) as exc:
        print(f"error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {_first_line(exc)} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
