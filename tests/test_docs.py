"""The documentation is self-contained: every decision the code and docs cite as ``Dn`` is
defined in docs/semantics.md, and every relative Markdown link resolves to a file of the
repository (and to a heading or an explicit anchor of it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEMANTICS = ROOT / "docs" / "semantics.md"
DECISION = re.compile(r"\bD(\d+)\b")
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _citing_files() -> list[Path]:
    return [*sorted((ROOT / "refmodel").rglob("*.py")), *_markdown_files()]


def _outside_fences(text: str) -> list[tuple[int, str]]:
    """The numbered Markdown lines outside fenced code blocks."""
    out, fence = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            out.append((number, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation other than
    ``-`` and ``_`` dropped, spaces as hyphens."""
    text = LINK.sub(lambda m: m.group(1), heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file: its headings' slugs (duplicates numbered as GitHub
    does) and its explicit ``<a id=...>``."""
    text = path.read_text()
    found, seen = set(EXPLICIT_ANCHOR.findall(text)), {}
    for _, line in _outside_fences(text):
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def test_slug_matches_github():
    assert slug(" D6 — dyadic requantisation") == "d6--dyadic-requantisation"
    assert slug(" Algorithm (per row `x_0 .. x_{C-1}`)") == "algorithm-per-row-x_0--x_c-1"
    assert slug(" Widths ([D14](../semantics.md#d14))") == "widths-d14"


def test_semantics_defines_every_decision_once_with_an_explicit_anchor():
    text = SEMANTICS.read_text()
    ids = EXPLICIT_ANCHOR.findall(text)
    decisions = [i for i in ids if re.fullmatch(r"d\d+", i)]
    assert sorted(decisions, key=lambda i: int(i[1:])) == [f"d{n}" for n in range(17)]
    assert len(ids) == len(set(ids))
    for n in range(17):  # each anchor sits right above its section heading
        assert re.search(rf'<a id="d{n}"></a>\n## D{n} — \S', text), f"D{n}: anchor without its heading"


@pytest.mark.parametrize("path", _citing_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_decision_is_defined(path):
    defined = anchors(SEMANTICS)
    missing = sorted({f"D{n}" for n in DECISION.findall(path.read_text()) if f"d{n}" not in defined})
    assert not missing, f"{path.relative_to(ROOT)} cites {', '.join(missing)}, not defined in docs/semantics.md"


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    broken = []
    for number, line in _outside_fences(path.read_text()):
        for _, target in LINK.findall(re.sub(r"`[^`]*`", "", line)):  # not inside code spans
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            if not dest.exists():
                broken.append(f"line {number}: {target} (no such file)")
            elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
                broken.append(f"line {number}: {target} (no such anchor)")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_no_pointer_to_a_spec_outside_the_repository():
    for path in _citing_files():
        text = path.read_text()
        for stale in ("decisions.md", "the project spec"):
            assert stale not in text, f"{path.relative_to(ROOT)} points to {stale!r}; the semantics are docs/semantics.md"
