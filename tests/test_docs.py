"""The repository explains itself: no file cites a document outside it, and every link or
citation into docs/ lands on a file, a heading or a rule that exists."""
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile("|".join([
    r"design" + r"\.md",                 # the design notes the project started from
    r"\.\./" + "shared", "/work/" + "shared",
    r"\bissues?\s*#?\s*[0-9]+",          # the word issue(s), an optional #, a number
]), re.IGNORECASE)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
SECTION_CITE = re.compile(r"docs/architecture\.md,\s*\"([^\"]+)\"")
RULE_CITE = re.compile(r"docs/architecture\.md,\s*rules?\s+([0-9]+)")
ANCHOR_CITE = re.compile(r"docs/architecture\.md#([A-Za-z0-9_-]+)")


def repository_files() -> list[Path]:
    """Tracked files, and new ones not ignored (a citation must not wait for its commit)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = {ROOT / name for name in listed.decode().split("\0") if name}
    return sorted(p for p in paths if p.is_file() and p != Path(__file__).resolve())


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def outside_fences(text: str):
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def headings(path: Path) -> list[str]:
    return [line.lstrip("#").strip() for _, line in outside_fences(path.read_text())
            if re.match(r"^#{1,6}\s", line)]


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def numbered_rules() -> set[int]:
    text = ARCHITECTURE.read_text()
    section = text.split("## Rules that hold everywhere", 1)[1].split("\n## ", 1)[0]
    return {int(n) for n in re.findall(r"^([0-9]+)\. ", section, re.MULTILINE)}


def markdown_files() -> list[Path]:
    return [p for p in repository_files() if p.suffix == ".md"]


def test_the_architecture_document_exists():
    assert ARCHITECTURE.is_file()
    assert numbered_rules() == set(range(1, 11))


def test_no_file_cites_a_document_outside_the_repository():
    found = []
    for path in repository_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "point these into docs/architecture.md, or give the reason in words:\n" \
        + "\n".join(found)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    broken = []
    for number, line in outside_fences(path.read_text()):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto: ...
            name, _, anchor = target.partition("#")
            linked = (path.parent / name).resolve() if name else path
            if not linked.exists():
                broken.append(f"{number}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{number}: {target} (no such heading)")
    assert not broken, f"{path.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_citations_of_the_architecture_document_name_what_it_has():
    sections = set(headings(ARCHITECTURE))
    known_anchors, rules = anchors(ARCHITECTURE), numbered_rules()
    wrong = []
    for path in repository_files():
        text = text_of(path)
        if text is None:
            continue
        flat = re.sub(r"\s*\n\s*(?:#\s*)?", " ", text)  # citations wrap across comment lines
        where = path.relative_to(ROOT)
        wrong += [f"{where}: section {s!r}" for s in SECTION_CITE.findall(flat)
                  if s not in sections]
        wrong += [f"{where}: rule {n}" for n in RULE_CITE.findall(flat) if int(n) not in rules]
        wrong += [f"{where}: #{a}" for a in ANCHOR_CITE.findall(flat) if a not in known_anchors]
    assert not wrong, "docs/architecture.md has no such section, rule or anchor:\n" \
        + "\n".join(wrong)
