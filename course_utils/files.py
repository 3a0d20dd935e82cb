"""Atomic writes with normal permissions, so an interruption never leaves half a file (notebook 09's saved model)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_folder", "atomic_write_text", "display_path"]


def _staging_path(target: Path) -> Path:
    """A hidden name beside ``target`` for the copy being written."""
    return target.with_name(f".{target.name}-{secrets.token_hex(4)}")


def _umask() -> int:
    umask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(umask)
    return umask


def _normal_permissions(folder: Path) -> None:
    """What a new folder and new files get under the umask, for everything in ``folder``: some
    libraries write private files (safetensors' ``save_file`` makes them 0600)."""
    umask = _umask()
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it, renamed over it at the end.

    Readers see the old file or the new one, never half of one. The file gets the permissions
    a new file normally gets (``0o666`` less the umask: ``0644`` under umask ``022``).
    """
    target = Path(path)
    staging = _staging_path(target)
    try:
        with open(staging, "xb") as stream:  # "x": a new file, made with the umask's permissions
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """:func:`_atomic_write_bytes` for text (no newline translation: ``text`` is written as it is)."""
    return _atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Fill a new folder, then put it in place of ``path`` in one rename::

        with atomic_folder("model-spam") as folder:
            model.save_pretrained(folder)

    The block writes into an empty hidden folder beside ``path``; only when it ends without an
    error does that folder become ``path``. An existing ``path`` is first renamed to
    ``NAME.previous`` and removed last, so at every moment one whole copy exists (at ``path``,
    or at ``NAME.previous`` after a crash between the two renames). The folder and everything
    in it get the usual permissions, whatever wrote them (``0755`` for folders and ``0644`` for
    files under umask ``022``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_path(target)
    staging.mkdir()
    previous = target.with_name(f"{target.name}.previous")
    try:
        yield staging
        _normal_permissions(staging)
        if previous.exists():
            _remove(previous)
        if target.exists():
            target.rename(previous)
        staging.rename(target)
        if previous.exists():
            _remove(previous)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def display_path(path: str | Path) -> str:
    """The path as a person would type it: relative to the working folder when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
