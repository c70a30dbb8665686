"""Output directories: whether a path may be written, and writing it atomically.

Every command that writes a directory (``sim --out``, ``golden write``, each vector set)
goes through :func:`staged`:

- **The guard** (:func:`check_target`), before any work starts and again at the commit: the
  target may be absent, an empty directory, or a complete earlier refmodel export (by default
  :func:`is_export`: its ``manifest.json`` or ``meta.json`` names a refmodel format and the
  directory holds nothing that file does not list). Anything else (a directory holding other
  files, a regular file, a symlink) is refused with one line naming the path and the reason;
  ``force=True`` (the commands' ``--force``) is the only way to replace it.
- **Atomic replacement**: the new content is built in a hidden sibling
  ``.<name>.partial.<random>`` and swapped with the target in one ``renameat2(RENAME_EXCHANGE)``
  system call (a plain ``rename`` when the target is absent), so at every instant the path
  holds either the old complete content or the new one. The old content, now in the sibling,
  is then deleted. SIGINT and SIGTERM are blocked from the swap to the end of that deletion;
  a failure or signal before the swap deletes the sibling (the CLIs turn SIGTERM into
  ``SystemExit``, so the cleanup runs). Only SIGKILL or a power cut can leave the sibling.
- **Concurrent writers** of one target: each builds its own sibling; the swap, the deletion
  and the guard's second look run under an exclusive ``flock`` on the parent directory (no
  lock file is left behind). Writers therefore commit one after the other, none fails because
  of another, and the last one to commit wins.

Where the file system cannot exchange (``renameat2`` missing or refused), the swap falls back
to two renames, with a moment in which the target is absent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Callable, Iterator

#: The files that make a directory a refmodel export, with the key that lists the other files.
EXPORT_INDEXES = {"manifest.json": ("refmodel-manifest/", "files"), "meta.json": ("refmodel-vectors/", "sha256")}

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Refused(ValueError):
    """The target exists and is not something refmodel may replace without ``--force``."""


def _listed(directory: Path) -> set[str] | None:
    """The relative paths a refmodel export at ``directory`` declares (its index included), or
    ``None`` when no index file names a refmodel format."""
    for index, (prefix, key) in EXPORT_INDEXES.items():
        path = directory / index
        if path.is_symlink() or not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if isinstance(doc, dict) and str(doc.get("format", "")).startswith(prefix) and isinstance(doc.get(key), dict):
            return set(doc[key]) | {index}
    return None


def is_export(directory: Path) -> bool:
    """Whether ``directory`` is a complete refmodel export: an index file of a refmodel format
    lists every file in it (sub-directories only as parents of listed files; no symlinks)."""
    directory = Path(directory)
    listed = _listed(directory)
    if listed is None:
        return False
    parents = {p.as_posix() for rel in listed for p in Path(rel).parents if p != Path(".")}
    for path in directory.rglob("*"):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            return False
        if path.is_dir() and rel not in parents:
            return False
        if not path.is_dir() and rel not in listed:
            return False
    return True


def is_export_tree(directory: Path) -> bool:
    """Whether ``directory`` is an export or a non-empty tree of directories whose leaves are
    all exports (the layout of ``golden/``)."""
    directory = Path(directory)
    if directory.is_symlink() or not directory.is_dir():
        return False
    if is_export(directory):
        return True
    children = list(directory.iterdir())
    return bool(children) and all(not c.is_symlink() and c.is_dir() and is_export_tree(c) for c in children)


def refusal(target: Path, accept: Callable[[Path], bool] = is_export) -> str | None:
    """Why ``target`` may not be replaced without ``--force`` (``None``: it may)."""
    if target.is_symlink():
        return "is a symlink"
    if not target.exists():
        return None
    if not target.is_dir():
        return "exists and is not a directory"
    if not any(target.iterdir()) or accept(target):
        return None
    return "exists and is not a complete refmodel export (it holds files refmodel did not write)"


def check_target(target: Path, *, force: bool = False, accept: Callable[[Path], bool] = is_export) -> None:
    """Raise :class:`Refused`, naming ``target`` and the reason, unless it may be written."""
    target = Path(target)
    if str(target) in ("", "."):
        raise Refused(f"{target}: not a valid output directory")
    reason = refusal(target, accept)
    if reason is not None and not force:
        raise Refused(f"{target}: {reason}; use --force to replace it")
    if target.parent.exists() and not target.parent.is_dir():
        raise Refused(f"{target}: its parent {target.parent} is not a directory")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``directory`` itself (no lock file)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one system call; ``False`` where the system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _remove(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _commit(staging: Path, target: Path, force: bool, accept: Callable[[Path], bool]) -> None:
    """Put ``staging`` at ``target`` atomically (under the parent's lock), then delete what
    was there."""
    with _locked(target.parent):
        check_target(target, force=force, accept=accept)  # a writer may have come between
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            if not os.path.lexists(target):
                os.rename(staging, target)
            elif _exchange(staging, target):
                _remove(staging)  # now the old content
            else:
                retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
                os.rmdir(retired)
                os.rename(target, retired)
                os.rename(staging, target)
                _remove(retired)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def staged(target: Path, *, force: bool = False, accept: Callable[[Path], bool] = is_export) -> Iterator[Path]:
    """A fresh directory in which to build ``target``'s new content; when the block ends
    normally it replaces ``target`` atomically, when it fails it is deleted.

    The guard (:func:`check_target`) runs on entry, before the caller's work, and again at
    the commit."""
    target = Path(target)
    check_target(target, force=force, accept=accept)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial.", dir=target.parent))
    try:
        os.chmod(staging, 0o755)
        yield staging
        _commit(staging, target, force, accept)
    finally:
        if os.path.lexists(staging):
            _remove(staging)
