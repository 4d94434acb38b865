"""Highlighted fragments in Python (database backend): matched words wrapped in <mark>, text escaped."""

from __future__ import annotations

import html
import re

from . import analysis

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def query_form_set(words):
    out = set()
    for w in words:
        out.update(analysis.query_forms(w))
    return out


def _matches(word, forms, prefixes):
    lw = word.lower()
    if any(f in forms for f in analysis.query_forms(lw)):
        return True
    folded = analysis.fold(lw)
    return any(folded.startswith(p) for p in prefixes)


def fragments(text, forms, prefixes=(), size=160, count=2, whole=False):
    """Up to ``count`` fragments of about ``size`` characters around matches, or [] when nothing matches."""
    if not text:
        return []
    spans = [m.span() for m in _TOKEN.finditer(text) if _matches(m.group(), forms, prefixes)]
    if not spans:
        return []
    if whole:
        return [_mark(text, spans, 0, len(text))]
    out, used_until = [], -1
    for start, _ in spans:
        if start < used_until:
            continue
        begin = max(0, start - size // 3)
        if begin:
            space = text.rfind(" ", 0, begin + 1)
            begin = space + 1 if space >= 0 and begin - space < 20 else begin
        end = min(len(text), begin + size)
        if end < len(text):
            space = text.find(" ", end)
            end = space if 0 <= space - end < 20 else end
        out.append(("…" if begin else "") + _mark(text, spans, begin, end) + ("…" if end < len(text) else ""))
        used_until = end
        if len(out) >= count:
            break
    return out


def _mark(text, spans, begin, end):
    parts, pos = [], begin
    for s, e in spans:
        if s < begin or e > end:
            continue
        parts.append(html.escape(text[pos:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    parts.append(html.escape(text[pos:end]))
    return "".join(parts)
