# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
What keeps the page's requests inside their bounds, without a web framework.

`capture_id` accepts only what capture writes, a relative `<class>/<name>.jpg` of plain name
characters, so `..`, absolute paths, backslashes, hidden entries (`.discarded`) and whatever an
encoded variant decodes to are refused before any file is touched; `inside` then checks the
real file: no symlink on the way and within the root after resolving. `is_loopback` and
`token_matches` decide who may label. `json_object` reads a request body with its size and
nesting checked before the parser sees it.
"""

import hmac
import ipaddress
import json
from pathlib import Path
import re

MAX_ID_LENGTH = 255
MAX_JSON_BYTES = 256 * 1024  # a review move is under 1 KB
MAX_JSON_DEPTH = 16  # Python's parser recurses per level: 100,000 levels raise RecursionError
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r'[\[\]{}]')
# One path segment: letters, digits, '_', '-', '.', not starting with '.'.
_SEGMENT = re.compile(r'[\w-][\w.-]*')
LOCAL_NAMES = ('localhost',)


class PageError(ValueError):
    """A request the page refuses; `status` is the HTTP status, the message the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def capture_id(value: object) -> str:
    """Return `value` if it is a well-formed capture id; raise PageError (400) saying why not."""
    if not isinstance(value, str) or not value:
        raise PageError(400, 'a capture id is required, a string like '
                             '"plastic/<stamp>_<seq>.jpg"')
    if len(value) > MAX_ID_LENGTH:
        raise PageError(400, f'capture id longer than {MAX_ID_LENGTH} characters')
    if value.startswith(('/', '\\')) or re.match(r'[A-Za-z]:', value):
        raise PageError(400, 'absolute paths are refused as capture ids')
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


def token_matches(expected: str, given: object) -> bool:
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode('utf-8', 'surrogateescape'))


def json_object(raw: bytes) -> dict:
    """Parse a request body that must be a JSON object; PageError (4xx) saying why not.

    Size and nesting depth are checked on the text before json.loads sees it, so no body can
    make the parser recurse past Python's limit.
    """
    if len(raw) > MAX_JSON_BYTES:
        raise PageError(413, f'request body over {MAX_JSON_BYTES} bytes refused')
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise PageError(400, 'the request body is not UTF-8 text') from None
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket in '[{' else -1
        if depth > MAX_JSON_DEPTH:
            raise PageError(400, f'the request body nests deeper than {MAX_JSON_DEPTH} levels')
    try:
        body = json.loads(text)
    except ValueError:
        raise PageError(400, 'the request body is not valid JSON') from None
    if not isinstance(body, dict):
        raise PageError(400, 'the request body must be a JSON object')
    return body
