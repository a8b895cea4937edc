# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
What keeps the page's requests inside their bounds, without a web framework.

`capture_id` accepts only what capture writes, a relative `<class>/<name>.jpg` of plain name
characters, so `..`, absolute paths, backslashes, hidden entries (`.discarded`) and whatever an
encoded variant decodes to are refused before any file is touched; `inside` then checks the
real file: no symlink on the way and within the root after resolving. `is_loopback` and
`token_matches` decide who may label.
"""

import hmac
import ipaddress
from pathlib import Path
import re

MAX_ID_LENGTH = 255
# One path segment: letters, digits, '_', '-', '.', not starting with '.'.
_SEGMENT = re.compile(r'[\w-][\w.-]*')
LOCAL_NAMES = ('localhost',)


class PageError(ValueError):
    """A request the page refuses; `status` is the HTTP status, the message the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def capture_id(value) -> str:
    """Return `value` if it is a well-formed capture id; raise PageError (400) saying why not."""
    if not isinstance(value, str) or not value:
        raise PageError(400, 'a capture id is required, a string like '
                             '"plastic/<stamp>_<seq>.jpg"')
    if len(value) > MAX_ID_LENGTH:
        raise PageError(400, f'capture id longer than {MAX_ID_LENGTH} characters')
    if value.startswith(('/', '\\')) or re.match(r'[A-Za-z]:', value):
        raise PageError(400, f'absolute paths are refused: {value[:80]!r}')
    segments = value.split('/')
    if any(segment in ('.', '..') for segment in segments):
        raise PageError(400, f'".." and "." are refused in a capture id: {value[:80]!r}')
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise PageError(400, 'a capture id has only letters, digits, "_", "-" and "." in names '
                             f'that do not start with "." and no empty parts: {value[:80]!r}')
    if len(segments) != 2 or not value.endswith('.jpg'):
        raise PageError(400, f'a capture id is "<class>/<name>.jpg", got {value[:80]!r}')
    return value


def inside(root: Path, path: Path) -> Path:
    """Return `path` if it lies under `root` with no symlink below the root; raise PageError."""
    root = Path(root).resolve()
    path = Path(path)
    try:
        relative = path.relative_to(root) if path.is_absolute() else path
    except ValueError:
        raise PageError(403, f'{path} is outside {root}') from None
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise PageError(403, f'{current.relative_to(root)} is a symbolic link; refused')
    if not current.resolve().is_relative_to(root):
        raise PageError(403, f'{relative} is outside {root}')
    return current


def is_loopback(host: str) -> bool:
    """Tell whether `host` listens on this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def token_matches(expected: str, given) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
