# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Files that are whole or absent: durable writes, atomic replacement, and the image suffixes.

ROS-free and torch-free (standard library only), for the node, the flywheel and training alike.
``atomic_write`` writes a temporary file in the target's folder, flushes it to disk, renames it
over the target and flushes the folder, so after a crash or SIGKILL the target is either the old
file or the new one, never half of either; ``write_durably`` is the first half, for callers that
place the file themselves (a hard link that must not replace anything).
"""

import os
from pathlib import Path
import shutil
from typing import BinaryIO, Callable, Union

# What a folder of photos may hold (compared with the lower-cased suffix).
IMAGE_SUFFIXES = frozenset({'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'})

# Bytes, a file to copy, or a function that writes into the open binary file.
Content = Union[bytes, Path, Callable[[BinaryIO], object]]


def is_image(path: Path) -> bool:
    """Return whether ``path`` has one of the image suffixes (any case)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a new, renamed or removed name) to disk."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, content: Content, exclusive: bool = True) -> None:
    """Write ``content`` to ``path`` and flush it to disk; ``exclusive``: never over a file."""
    with open(path, 'xb' if exclusive else 'wb') as out:
        if isinstance(content, bytes):
            out.write(content)
        elif isinstance(content, Path):
            with open(content, 'rb') as source:
                shutil.copyfileobj(source, out, 1 << 20)
        else:
            content(out)
        out.flush()
        os.fsync(out.fileno())


def temporary_name(path: Path) -> Path:
    """Return a hidden name beside ``path``, of this process, for writing it before the rename."""
    return path.with_name(f'.{path.name}.{os.getpid()}.tmp')


def atomic_write(path: Path, content: Content) -> None:
    """Replace ``path`` with ``content`` all at once (temporary name, fsync, rename, fsync).

    A failure or a kill leaves the old file as it was; a failure also removes the temporary.
    """
    path = Path(path)
    temporary = temporary_name(path)
    try:
        write_durably(temporary, content, exclusive=False)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
