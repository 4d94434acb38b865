"""Splits BibTeX text into blocks, keeping line numbers, raw text and failures.

Iterative (no recursion), regex-driven: one ``match`` per ordinary field.

Grammar accepted, as BibTeX/biber do, plus some leniency:

* blocks start with ``@type{`` or ``@type(`` anywhere except on a ``%`` comment line;
  everything between blocks is comment text
* ``@comment`` skips a balanced group; ``@preamble`` and ``@string`` are parsed
* inside an entry, ``%`` at a structural position starts a comment to end of line;
  inside a value ``%`` is data
* values: ``{...}`` (balanced), ``"..."`` (balanced braces), numbers, macro names, ``#``
* a value or entry that runs into a line starting a new entry (``@article{key,``) is cut
  there and reported as failed, so one unbalanced brace never swallows the rest of the file

Recoverable oddities (missing comma between fields, missing or odd key, empty values)
become warnings; unreadable entries (unbalanced braces or quotes, an entry that is never
closed, junk where a field should be) become failed blocks with an error, their line and
the exact raw text, and scanning resumes at the next line that starts an entry.
An ``@`` only starts a block at the start of a line or after white space or ``}``/``)``,
so e-mail addresses in free text are left alone.
"""
from __future__ import annotations

import re

__all__ = ["Block", "Macro", "scan"]


class Macro(str):
    """A macro reference inside a field value (``journal = jomch``)."""

    __slots__ = ()


class Block:
    __slots__ = ("kind", "start", "end", "line", "type", "key", "fields", "error", "warnings")

    def __init__(self, kind, start, end, line, type_="", key="", fields=None, error="", warnings=None):
        self.kind = kind          # "entry" | "string" | "preamble" | "comment" | "more"
        self.start = start
        self.end = end
        self.line = line
        self.type = type_
        self.key = key
        self.fields = fields if fields is not None else []   # [(name, value)], value: str | list
        self.error = error
        self.warnings = warnings if warnings is not None else []

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"Block({self.kind}, line={self.line}, {self.type}{{{self.key}}}, error={self.error!r})"


_BEFORE_AT = frozenset(" \t\r\n\f\v})\ufeff")
_AT = re.compile(r"@[ \t\r\n]*([A-Za-z][\w\-:.+]*)[ \t\r\n]*([{(])")
# A line that plainly starts a new block: used to stop runaway values.
_NEXT_BLOCK = re.compile(
    r"[ \t]*@[ \t]*(?:(?i:string|preamble|comment)[ \t]*[{(]"
    r"|[A-Za-z][\w\-]*[ \t]*[{(][ \t]*[^\s,{}()\"=#%@]+[ \t]*,)"
)
_RESYNC = re.compile(r"^[ \t]*@[ \t]*[A-Za-z][\w\-]*[ \t]*[{(]", re.M)
_SKIP = re.compile(r"(?:[ \t\r\n\f\v]+|%[^\n]*)*")
_WS = re.compile(r"[ \t\r\n\f\v]*")
_NAME_CHARS = r"[^\s\"#%'(),={}]"
_FIELD_NAME = re.compile(rf"({_NAME_CHARS}+)[ \t\r\n]*=[ \t\r\n]*")
_BARE = re.compile(rf"{_NAME_CHARS}+")
# One ordinary field: ``name = {value with {one} level of braces},`` / ``"..."`` / number / macro.
_FAST_FIELD = re.compile(
    rf"[ \t\r\n]*({_NAME_CHARS}+)[ \t\r\n]*=[ \t\r\n]*"
    r"(?:\{([^{}@\\]*(?:(?:\\[^{}]|\{[^{}@\\]*(?:\\[^{}][^{}@\\]*)*\})[^{}@\\]*)*)\}"
    r"|\"([^\"{}@\\]*(?:\\[^{}\"][^\"{}@\\]*)*)\""
    r"|(\d+)(?![^\s,})])"
    rf"|([A-Za-z_]{_NAME_CHARS}*))"
    r"[ \t\r\n]*(?:,|(?=[})]))"
)
_KEY_BRACE = re.compile(r"[^,\s{}\"=#%]*")
_KEY_PAREN = re.compile(r"[^,\s(){}\"=#%]*")
_KEY_LOOSE = re.compile(r"[^,\n={}]*,")
_BRACE_TOK = re.compile(r"(?=[\\{}\n])(?:\\\\|\\[{}]|[{}]|\n(?=[ \t]*@))")
_QUOTE_TOK = re.compile(r"(?=[\\{}\"\n])(?:\\\\|\\[{}\"]|[{}\"]|\n(?=[ \t]*@))")
_GROUP_TOK = re.compile(r"(?=[\\{}()\n])(?:\\\\|\\[{}()]|[{}()]|\n(?=[ \t]*@))")


class _Fail(Exception):
    """Fatal problem inside a block: message and where to resume (None = find it)."""

    def __init__(self, message, resume=None, pos=None):
        super().__init__(message)
        self.message = message
        self.resume = resume
        self.pos = pos  # where it went wrong (streaming: too close to the buffer end -> read more)


class _Incomplete(Exception):
    """The block runs past the end of the buffer (streaming: read more)."""


def _line_at(text, pos, base_pos, base_line):
    return base_line + text.count("\n", base_pos, pos)


def _scan_braced(text, pos, final, where):
    """pos just after '{'. Returns the position just after the matching '}'."""
    depth = 1
    search = _BRACE_TOK.search
    while True:
        m = search(text, pos)
        if m is None:
            if not final:
                raise _Incomplete()
            raise _Fail(f"unbalanced braces: '{{' {where} is never closed")
        pos = m.end()
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth == 0:
                return pos
        elif t == "\n":
            if _NEXT_BLOCK.match(text, pos):
                raise _Fail(f"unbalanced braces: '{{' {where} is not closed before the next entry",
                            resume=pos)
        # escaped braces and backslashes: nothing to do


def _scan_quoted(text, pos, final, where):
    """pos just after '"'. Returns the position just after the closing '"'."""
    depth = 0
    search = _QUOTE_TOK.search
    while True:
        m = search(text, pos)
        if m is None:
            if not final:
                raise _Incomplete()
            raise _Fail(f'unterminated quoted value: \'"\' {where} is never closed')
        pos = m.end()
        t = m.group(0)
        if t == '"':
            if depth == 0:
                return pos
        elif t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth < 0:
                raise _Fail(f"unbalanced braces: '}}' without '{{' in the quoted value {where}", pos=pos)
        elif t == "\n":
            if _NEXT_BLOCK.match(text, pos):
                raise _Fail(f'unterminated quoted value: \'"\' {where} is not closed before the next entry',
                            resume=pos)


def _scan_group(text, pos, close, final):
    """Skip a balanced group (for @comment). pos just after the opener."""
    depth = 0
    search = _GROUP_TOK.search
    while True:
        m = search(text, pos)
        if m is None:
            if not final:
                raise _Incomplete()
            raise _Fail("unbalanced braces in @comment")
        pos = m.end()
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            if depth == 0 and close == "}":
                return pos
            depth -= 1
        elif t == ")":
            if depth <= 0 and close == ")":
                return pos
        elif t == "\n":
            if _NEXT_BLOCK.match(text, pos):
                raise _Fail("unbalanced braces in @comment", resume=pos)


class _Ctx:
    __slots__ = ("text", "final", "line_base_pos", "line_base", "n")

    def where(self, pos):
        return f"at line {_line_at(self.text, pos, self.line_base_pos, self.line_base)}"


def _read_value(ctx, pos, close, warnings, fname):
    """Read ``part # part # ...``. Returns (value, pos); value is str or list of str/Macro."""
    text = ctx.text
    parts = []
    n = ctx.n
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= n:
            if not ctx.final:
                raise _Incomplete()
            raise _Fail(f"entry ends inside field '{fname}' {ctx.where(pos)}", pos=pos)
        c = text[pos]
        if c == "{":
            end = _scan_braced(text, pos + 1, ctx.final, ctx.where(pos))
            parts.append(text[pos + 1:end - 1])
            pos = end
        elif c == '"':
            end = _scan_quoted(text, pos + 1, ctx.final, ctx.where(pos))
            parts.append(text[pos + 1:end - 1])
            pos = end
        else:
            m = _BARE.match(text, pos)
            if m is None:
                if not parts and (c == "," or c == close):
                    warnings.append(f"field '{fname}' has no value {ctx.where(pos)}")
                    return "", pos
                raise _Fail(f"unexpected {c!r} in the value of field '{fname}' {ctx.where(pos)}", pos=pos)
            tok = m.group(0)
            parts.append(tok if tok[0].isdigit() else Macro(tok))
            pos = m.end()
        pos = _WS.match(text, pos).end()
        if pos < n and text[pos] == "#":
            pos += 1
            continue
        break
    if len(parts) == 1 and type(parts[0]) is str:
        return parts[0], pos
    return parts, pos


_SWALLOWED = re.compile(r"[,}\"]\s*\n\s*[A-Za-z][\w\-]*\s*=")


def _suspect(fields):
    """Name the field whose value seems to have swallowed the following fields."""
    for name, value in fields:
        if type(value) is str and _SWALLOWED.search(value):
            return f"; the value of field '{name}' seems to run on into the next fields: its '{{' or '\"' is not closed"
    return ""


def _read_fields(ctx, pos, close, fields, warnings):
    """Field list up to the closing delimiter. Returns the position after it."""
    text = ctx.text
    n = ctx.n
    fast = _FAST_FIELD.match
    skip = _SKIP.match
    while True:
        m = fast(text, pos)
        if m is not None:
            g = m.lastindex
            if g == 5:
                fields.append((m.group(1), [Macro(m.group(5))]))
            else:
                fields.append((m.group(1), m.group(g)))
            pos = m.end()
            continue
        pos = skip(text, pos).end()
        if pos >= n:
            if not ctx.final:
                raise _Incomplete()
            raise _Fail(f"unbalanced braces: the entry is not closed (missing '{close}' at end of file)"
                        + _suspect(fields), resume=n)
        c = text[pos]
        if c == close:
            return pos + 1
        if c == ",":
            pos += 1
            continue
        if c == "@":
            ls = text.rfind("\n", 0, pos) + 1
            if not text[ls:pos].strip() and _NEXT_BLOCK.match(text, ls):
                raise _Fail(f"unbalanced braces: the entry is not closed (missing '{close}' before "
                            f"the entry {ctx.where(pos)})" + _suspect(fields), resume=ls)
        m = fast(text, pos)
        if m is not None:
            g = m.lastindex
            if g == 5:
                fields.append((m.group(1), [Macro(m.group(5))]))
            else:
                fields.append((m.group(1), m.group(g)))
            pos = m.end()
            continue
        m = _FIELD_NAME.match(text, pos)
        if m is None:
            bad = text[pos:pos + 30].split("\n")[0]
            raise _Fail(f"expected a field name {ctx.where(pos)}, found {bad!r}", pos=pos)
        name = m.group(1)
        value, pos = _read_value(ctx, m.end(), close, warnings, name)
        fields.append((name, value))
        pos = _SKIP.match(text, pos).end()
        if pos >= n:
            continue
        c = text[pos]
        if c == ",":
            pos += 1
        elif c == close or c == "@":
            continue  # the loop head closes the entry or reports it as not closed
        elif _FIELD_NAME.match(text, pos):
            warnings.append(f"missing comma after field '{name}' {ctx.where(pos)}")
        else:
            raise _Fail(f"unexpected {c!r} after field '{name}' {ctx.where(pos)}", pos=pos)


def scan(text, pos=0, line=1, final=True):
    """Yield :class:`Block` objects for ``text[pos:]``; ``line`` is the line number at ``pos``.

    With ``final=False`` (streaming) the scan ends with ``Block("more", start, ...)``: the
    caller appends data to ``text[start:]`` and scans again from there with ``line=block.line``.
    """
    ctx = _Ctx()
    ctx.text = text
    ctx.final = final
    ctx.n = n = len(text)
    line_pos = pos  # text position whose line number is `line`
    last_end = pos
    find = text.find

    def more(start):
        return Block("more", start, n, line + text.count("\n", line_pos, start))

    while True:
        at = find("@", pos)
        if at < 0:
            break
        if at > 0 and text[at - 1] not in _BEFORE_AT:  # "mail me at someone@example.org(...)"
            pos = at + 1
            continue
        m = _AT.match(text, at)
        ls = text.rfind("\n", 0, at) + 1
        if m is None:
            if not final and n - at < 256:
                tail = max(ls, last_end)
                if last_end < tail and text[last_end:tail].strip():
                    yield Block("comment", last_end, tail, line + text.count("\n", line_pos, last_end))
                yield more(tail)
                return
            pos = at + 1
            continue
        prefix = text[max(ls, last_end):at]
        if "%" in prefix:  # commented-out line: '% @book{...'
            nl = find("\n", at)
            if nl < 0 and not final:
                yield more(max(ls, last_end))
                return
            pos = n if nl < 0 else nl + 1
            continue
        if last_end < at and text[last_end:at].strip():
            yield Block("comment", last_end, at, line + text.count("\n", line_pos, last_end))
        line += text.count("\n", line_pos, at)
        line_pos = at
        ctx.line_base_pos = at
        ctx.line_base = line
        kind_l = m.group(1).lower()
        opener = m.group(2)
        close = "}" if opener == "{" else ")"
        body = m.end()
        try:
            if kind_l == "comment":
                end = _scan_group(text, body, close, final)
                block = Block("comment", at, end, line, m.group(1))
            elif kind_l == "preamble":
                warnings = []
                value, p = _read_value(ctx, body, close, warnings, "@preamble")
                p = _SKIP.match(text, p).end()
                if p < n and text[p] == close:
                    p += 1
                elif p >= n and not final:
                    raise _Incomplete()
                else:
                    warnings.append(f"@preamble not closed {ctx.where(p)}")
                block = Block("preamble", at, p, line, m.group(1), fields=[("preamble", value)],
                              warnings=warnings)
                end = p
            elif kind_l == "string":
                fields, warnings = [], []
                end = _read_fields(ctx, body, close, fields, warnings)
                block = Block("string", at, end, line, m.group(1), fields=fields, warnings=warnings)
            else:
                fields, warnings = [], []
                key, p = _read_key(ctx, body, close, warnings)
                if p is None:  # "@misc{key}": no fields
                    key, end = key
                else:
                    end = _read_fields(ctx, p, close, fields, warnings)
                block = Block("entry", at, end, line, m.group(1), key, fields, "", warnings)
        except _Incomplete:
            yield more(at)
            return
        except _Fail as exc:
            if not final and exc.pos is not None and n - exc.pos < 512:
                yield more(at)  # the verdict may change with more text
                return
            resume = exc.resume
            if resume is None:
                r = _RESYNC.search(text, body)
                if r is None and not final:
                    yield more(at)
                    return
                resume = r.start() if r is not None else n
            if resume >= n and not final:
                yield more(at)
                return
            end = resume
            raw_end = end
            while raw_end > at and text[raw_end - 1] in " \t\r\n":
                raw_end -= 1
            kind = "entry" if kind_l not in ("string", "preamble", "comment") else kind_l
            key = ""
            if kind == "entry":
                km = (_KEY_BRACE if close == "}" else _KEY_PAREN).match(text, _SKIP.match(text, body).end())
                if text.startswith(",", _WS.match(text, km.end()).end()):
                    key = km.group(0)
            block = Block(kind, at, raw_end, line, m.group(1), key, [], exc.message, [])
        yield block
        pos = last_end = end
    if not final:
        # keep an unfinished last line: it may be a '%' comment that continues in the next chunk
        tail = max(last_end, text.rfind("\n", 0, n) + 1)
        if last_end < tail and text[last_end:tail].strip():
            yield Block("comment", last_end, tail, line + text.count("\n", line_pos, last_end))
        yield more(tail)
        return
    if last_end < n and text[last_end:].strip():
        yield Block("comment", last_end, n, line + text.count("\n", line_pos, last_end))


def _read_key(ctx, pos, close, warnings):
    """Returns (key, pos after the comma) or ((key, end), None) if the entry closes right away."""
    text = ctx.text
    n = ctx.n
    pos = _SKIP.match(text, pos).end()
    km = (_KEY_BRACE if close == "}" else _KEY_PAREN).match(text, pos)
    key = km.group(0)
    p = _WS.match(text, km.end()).end()
    if p >= n:
        if not ctx.final:
            raise _Incomplete()
        raise _Fail(f"entry ends after its key {ctx.where(pos)}", pos=pos)
    c = text[p]
    if c == ",":
        if not key:
            warnings.append("missing citation key")
        return key, p + 1
    if c == close:
        return (key, p + 1), None
    if c == "=":
        warnings.append("missing citation key")
        return "", pos
    m = _KEY_LOOSE.match(text, pos)
    if m and m.group(0).strip(", \t"):
        key = " ".join(m.group(0)[:-1].split())
        warnings.append(f"citation key {key!r} contains spaces or odd characters")
        return key, m.end()
    raise _Fail(f"could not read the citation key {ctx.where(pos)}", pos=pos)
