"""Writing files and folders so that a failure never leaves half of one: the one atomic writer."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path, binary: bool = False, *, mode: int | None = None, fsync: bool = False,
                 encoding: str = "utf-8", newline: str | None = None) -> Iterator[IO[Any]]:
    """Write `path` through a new temporary file in the same folder, renamed over it when the block ends.

    A failure (or Ctrl-C) leaves the old file as it was and no temporary file behind. The file gets `mode`
    when given (0600 for secrets and state), else the old file's mode, else the usual one (0666 & ~umask).
    `fsync` forces the content to disk before the rename (state that must survive a power cut).
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # O_EXCL, 0600
    tmp = Path(tmp_name)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline=newline)) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, content: str | bytes, *, mode: int | None = None, fsync: bool = False) -> Path:
    """`atomic_write` for content already in memory."""
    with atomic_write(path, binary=isinstance(content, bytes), mode=mode, fsync=fsync) as handle:
        handle.write(content)
    return Path(path)


@contextlib.contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """Fill a new temporary folder beside `folder`; when the block ends it takes `folder`'s place.

    A failure leaves the previous folder in place and removes the half-written one.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield tmp
        swap_folder(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def swap_folder(new: Path, folder: Path) -> None:
    """Put the folder `new` in `folder`'s place (both on one file system): the old one is moved aside first and
    removed only after the swap, so at every moment `folder` is either the old or the new one."""
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
        os.replace(folder, old / folder.name)
        os.replace(new, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, folder)
