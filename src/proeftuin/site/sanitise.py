"""Making text safe for the site: manifest strings inert (`text`, `attr`), a pilot's own Markdown without
raw HTML (`safe_markdown`), and the generated HTML without script URLs or event handlers (`sanitize_html`).

Every string from a manifest is escaped for both HTML and Markdown (`text`), so a title like
`[x](javascript:alert(1))` is shown as written instead of becoming a link or a script.
"""

from __future__ import annotations

import html
import re
from typing import Any

# Characters that start Markdown (or attr_list) syntax; written as numeric entities they render as themselves.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]()#+\-!|{}~:.>]")


def text(value: Any) -> str:
    """A manifest string made inert for Markdown and HTML: one line, no tags, no links, no markup."""
    escaped = html.escape(" ".join(str(value).split()), quote=True)
    return _MARKDOWN_SPECIAL.sub(lambda m: f"&#{ord(m.group())};", escaped)


def attr(value: Any) -> str:
    """A string for inside an HTML attribute or raw HTML block (Markdown does not touch those)."""
    return html.escape(" ".join(str(value).split()), quote=True)


def safe_markdown(markdown: str) -> str:
    """A pilot's own Markdown (LESSONS.md) without raw HTML or attribute injection; links stay links."""
    return markdown.replace("<", "&lt;").replace("{", "&#123;")


_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_UNSAFE_URL = re.compile(r"""(?P<attr>\s(?:href|src|action|formaction|xlink:href)\s*=\s*)(?P<q>["']?)\s*"""
                         r"""(?:javascript|vbscript|data):[^"'\s>]*(?P=q)""", re.IGNORECASE)
_EVENT_ATTR = re.compile(r"""\s+on[a-z]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


def _clean_tag(match: re.Match[str]) -> str:
    tag = _UNSAFE_URL.sub(lambda m: f'{m.group("attr")}"#"', match.group())
    return _EVENT_ATTR.sub("", tag)


def sanitize_html(content: str) -> str:
    """Last line of defence for generated pages: no script URLs, no event handlers (inside tags only)."""
    return _TAG.sub(_clean_tag, content)
