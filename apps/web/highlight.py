"""Rendering the search backend's highlight fragments safely.

The backend returns HTML-escaped text with matches wrapped in ``<mark>…</mark>``. We do not trust
that blindly: the text between the tags is unescaped and escaped again (so it can hold nothing but
text) and only balanced ``<mark>`` tags are kept.
"""

import html
import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

_TAG = re.compile(r"(</?mark>)")


def safe_fragment(fragment):
    out, open_ = [], False
    for part in _TAG.split(fragment or ""):
        if part == "<mark>":
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == "</mark>":
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(escape(html.unescape(part)))
    if open_:
        out.append("</mark>")
    return mark_safe("".join(out))
