# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The documentation holds together: README.md is a landing page into docs/, and what it names exists.

Every link and picture in README.md, BENCHMARKS.md and docs/*.md that points into the repository
must reach a file, and a `#anchor` must be a heading of the page it points at (GitHub's heading
ids). Every docs/*.md page is linked from README.md, which stays a landing page of at most 200
lines. The commands the pages give must name something that exists: `make` targets in the
Makefile, `python -m` modules in the tree, `ros2 run`/`ros2 launch` executables and launch files
of this package. The checkers are tried on a broken page first, so a pass means something.
"""

from pathlib import Path
import re
from typing import Dict, Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / 'README.md', ROOT / 'BENCHMARKS.md', *sorted((ROOT / 'docs').glob('*.md'))]
README_MAX_LINES = 200

FENCE = re.compile(r'^(```|~~~).*?^\1', re.S | re.M)
CODE_SPAN = re.compile(r'`[^`\n]*`')
LINK = re.compile(r'!?\[(?:[^\]]|\n)*?\]\(([^)\s]+)\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$', re.M)


def _prose(text: str) -> str:
    """Return the text without code blocks and code spans, where links are not links."""
    return CODE_SPAN.sub('', FENCE.sub('', text))


def slug(heading: str) -> str:
    """Return GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading).replace('`', '').lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(page: Path) -> set:
    """Return the ids of every heading of a Markdown page (repeats get -1, -2, ...)."""
    seen: Dict[str, int] = {}
    ids = set()
    for match in HEADING.finditer(FENCE.sub('', page.read_text(encoding='utf-8'))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f'{base}-{count}')
    return ids


def links(page: Path) -> Iterator[str]:
    """Yield every link target of a page's prose."""
    for match in LINK.finditer(_prose(page.read_text(encoding='utf-8'))):
        yield match.group(1)


def dead_links(page: Path) -> List[Tuple[str, str]]:
    """Return (link, why) for each link of a page into the repository that leads nowhere."""
    dead = []
    for target in links(page):
        if re.match(r'^[a-z]+:', target):  # https:, mailto: ... (outside the repository)
            continue
        path, _, anchor = target.partition('#')
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            dead.append((target, f'{where} does not exist'))
        elif anchor and where.suffix == '.md' and anchor not in anchors(where):
            dead.append((target, f'{where.name} has no heading with the id #{anchor}'))
    return dead


def _commands(page: Path) -> Iterator[str]:
    """Yield the command lines of a page: code blocks' lines and code spans."""
    text = page.read_text(encoding='utf-8')
    for block in FENCE.finditer(text):
        yield from block.group(0).splitlines()
    for span in CODE_SPAN.finditer(FENCE.sub('', text)):
        yield span.group(0).strip('`')


def missing_commands(page: Path) -> List[str]:
    """Return each make target, module, executable or launch file a page names but lacks."""
    makefile = (ROOT / 'Makefile').read_text(encoding='utf-8')
    targets = set(re.findall(r'^([a-z][\w-]*):', makefile, re.M))
    setup = (ROOT / 'setup.py').read_text(encoding='utf-8')
    executables = set(re.findall(r"'([\w-]+) = \{PACKAGE\}", setup))
    missing = []
    for line in _commands(page):
        for target in re.findall(r'(?:^|&&\s*|\s)make ([a-z][\w-]*)', line):
            if target not in targets:
                missing.append(f'make {target}')
        for module in re.findall(r'python -m ([\w.]+)', line):
            base = ROOT.joinpath(*module.split('.'))
            if not (base.with_suffix('.py').is_file() or (base / '__main__.py').is_file()):
                missing.append(f'python -m {module}')
        for name in re.findall(r'ros2 run waste_classifier_ros ([\w-]+)', line):
            if name not in executables:
                missing.append(f'ros2 run waste_classifier_ros {name}')
        for name in re.findall(r'ros2 launch waste_classifier_ros ([\w.]+\.py)', line):
            if not (ROOT / 'launch' / name).is_file():
                missing.append(f'ros2 launch waste_classifier_ros {name}')
    return missing


def test_the_checkers_find_broken_links_and_commands(tmp_path, monkeypatch):
    page = tmp_path / 'page.md'
    (tmp_path / 'other.md').write_text('# Other page\n\n## A `code` heading, with commas\n')
    page.write_text(
        '# Page\n\n[ok](other.md#a-code-heading-with-commas) [self](#page) '
        '[gone](missing.md) [bad anchor](other.md#nothing) ![pic](images/none.png)\n'
        '[web](https://example.org/x.md) `[not a link](nowhere.md)`\n\n'
        '```bash\nmake no-such-target && python -m training.no_such_module\n'
        'ros2 run waste_classifier_ros no_such_node\nmake test\n```\n')
    assert [link for link, _ in dead_links(page)] == [
        'missing.md', 'other.md#nothing', 'images/none.png']
    assert missing_commands(page) == [
        'make no-such-target', 'python -m training.no_such_module',
        'ros2 run waste_classifier_ros no_such_node']


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_every_link_of_the_documentation_leads_somewhere(page):
    assert dead_links(page) == [], f'{page.relative_to(ROOT)} has dead links'


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_every_command_the_documentation_gives_names_something_that_exists(page):
    assert missing_commands(page) == [], f'{page.relative_to(ROOT)} names what does not exist'


def test_the_readme_is_a_landing_page_into_every_docs_page():
    readme = ROOT / 'README.md'
    lines = len(readme.read_text(encoding='utf-8').splitlines())
    assert lines <= README_MAX_LINES, f'README.md has {lines} lines (at most {README_MAX_LINES})'
    linked = {(readme.parent / link.partition('#')[0]).resolve() for link in links(readme)}
    unlinked = [page.name for page in PAGES[2:] if page.resolve() not in linked]
    assert unlinked == [], f'docs pages README.md does not link to: {unlinked}'
