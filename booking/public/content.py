"""The information pages: Markdown files the clinic edits, rendered to HTML."""

from dataclasses import dataclass
from pathlib import Path

import markdown
from markupsafe import Markup

PAGES = ("home", "sciatica", "treatment", "practitioner", "when-not-to-book", "contact")


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    description: str
    body: Markup


_cache: dict[Path, tuple[float, Page]] = {}


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    meta: dict[str, str] = {}
    if text.startswith("---"):
        header, _, text = text[3:].partition("\n---")
        for line in header.strip().splitlines():
            key, _, value = line.partition(":")
            if key.strip():
                meta[key.strip()] = value.strip()
    return meta, text.lstrip("\n")


def load_page(content_dir: str, slug: str) -> Page | None:
    """Read and render a page, re-reading it only when the file has changed."""
    if slug not in PAGES:
        return None
    path = Path(content_dir) / f"{slug}.md"
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _cache.get(path)
    if cached and cached[0] == modified:
        return cached[1]
    meta, source = _split_front_matter(path.read_text(encoding="utf-8"))
    # The files are the clinic's own, but raw HTML is still escaped: Markdown only.
    html = markdown.markdown(source, extensions=["sane_lists", "smarty"], output_format="html")
    html = html.replace("<h1>", '<h1 id="page-title">', 1)
    page = Page(
        slug=slug,
        title=meta.get("title", slug.replace("-", " ").title()),
        description=meta.get("description", ""),
        body=Markup(html),  # noqa: S704 - produced by Markdown from the clinic's own files
    )
    _cache[path] = (modified, page)
    return page
