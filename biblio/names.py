"""BibTeX name lists -> :class:`Person` objects, following BibTeX's own rules.

* split on ``and`` at brace depth 0 (any case); ``and others`` sets et al.
* ``First von Last``, ``von Last, First``, ``von Last, Jr, First``
* ``{Corporate Name}`` in double braces is kept whole and marked corporate
* biblatex's extended format ``family=Adler, given=Alfred``
* LaTeX is decoded per name part *after* splitting, so braces protect correctly
* nothing raises: odd names produce warnings
"""
from __future__ import annotations

import re

from apps.common.identifiers import normalize_orcid
from apps.common.text import squash

from .latex import decode_latex
from .model import Person

__all__ = ["split_names", "parse_name", "parse_names", "person_json", "person_from_json", "printed_name",
           "name_parts", "split_printed_name"]

_AND_FAST = re.compile(r"\s+and\s+", re.I)
_COMMA_TOKENS = re.compile(r"(?=[\\{},])(?:\\[{}\\]|[{}]|,)")
_EXTENDED = re.compile(r"^\s*(family|given|prefix|suffix|useprefix|id|orcid|[a-z]+-i)\s*=", re.I)
_SPECIAL_CHAR = re.compile(r"^\\(?:[oOlLij]|aa|AA|ae|AE|oe|OE|ss|SS)$|^\\['\"`^~=.uvHrkcdbt]\s*\{?\s*\\?[A-Za-z]\}?$")
_LETTER_CMDS = {"o", "O", "aa", "AA", "ae", "AE", "oe", "OE", "l", "L", "ss", "SS", "i", "j",
                "dh", "DH", "th", "TH", "dj", "DJ", "ng", "NG"}


def split_names(value: str) -> list[str]:
    """Split a name list on `` and `` at brace depth 0. Parts are stripped, empty ones kept."""
    if "\n" in value or "  " in value or "\t" in value or "\r" in value:
        value = " ".join(value.split())
    value = " " + value + " "
    if "{" not in value and "}" not in value:
        if " and " not in value.lower():
            return [value.strip()]
        return [p.strip() for p in _AND_FAST.split(value)]
    if " and " not in value.lower():
        return [value.strip()]
    parts: list[str] = []
    start = 0
    depth = 0
    seen = 0
    for m in _AND_FAST.finditer(value):
        seg = value[seen:m.start()]
        seen = m.start()
        if "{" in seg or "}" in seg:
            depth += seg.count("{") - seg.count("\\{") - seg.count("}") + seg.count("\\}")
        if depth <= 0:
            parts.append(value[start:m.start()].strip())
            start = m.end()
    parts.append(value[start:].strip())
    return parts


def _split_commas(name: str) -> list[str]:
    if "{" not in name and "}" not in name:
        return [p.strip() for p in name.split(",")]
    parts: list[str] = []
    depth = 0
    start = 0
    for m in _COMMA_TOKENS.finditer(name):
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            if depth > 0:
                depth -= 1
        elif t == "," and depth == 0:
            parts.append(name[start:m.start()].strip())
            start = m.end()
    parts.append(name[start:].strip())
    return parts


def _split_words(part: str) -> list[str]:
    """Whitespace/tie separated words at brace depth 0."""
    if "{" not in part and "}" not in part:
        return part.replace("~", " ").split()
    words: list[str] = []
    buf: list[str] = []
    depth = 0
    escaped = False
    for c in part:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            depth += 1
        elif c == "}":
            if depth > 0:
                depth -= 1
        elif depth == 0 and (c == " " or c == "~" or c == "\t"):
            if buf:
                words.append("".join(buf))
                buf = []
            continue
        buf.append(c)
    if buf:
        words.append("".join(buf))
    return words


def _is_lower(word: str) -> bool | None:
    """BibTeX's case of a name word: True (von), False (upper), None (caseless)."""
    c0 = word[0]
    if c0.isalpha():
        return c0.islower()
    depth = 0
    i = 0
    n = len(word)
    while i < n:
        c = word[i]
        if c == "{":
            if depth == 0 and i + 1 < n and word[i + 1] == "\\":
                # special character: its case decides
                m = re.match(r"\\([A-Za-z]+|.)\s*", word[i + 1:])
                if m:
                    name = m.group(1)
                    if name in _LETTER_CMDS:
                        return name[0].islower()
                    for c2 in word[i + 1 + m.end():]:
                        if c2.isalpha():
                            return c2.islower()
                        if c2 == "}":
                            break
                return None
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif c == "\\" and depth == 0:
            m = re.match(r"\\([A-Za-z]+|.)\s*\{?\s*", word[i:])
            if m:
                name = m.group(1)
                if name in _LETTER_CMDS:
                    return name[0].islower()
                i += m.end()
                continue
        elif depth == 0 and c.isalpha():
            return c.islower()
        i += 1
    return None


def _strip_outer_braces(s: str) -> str:
    s = s.strip()
    while len(s) >= 2 and s[0] == "{" and s[-1] == "}" and _balanced_whole(s):
        s = s[1:-1].strip()
    return s


def _balanced_whole(s: str) -> bool:
    """True when the first '{' closes at the very last character."""
    depth = 0
    escaped = False
    for i, c in enumerate(s):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return False


_cache: dict[str, tuple] = {}


def parse_name(raw: str, warnings: list[str] | None = None) -> Person | None:
    """One name (not a list) -> Person, or None when nothing usable is left."""
    raw = raw.strip()
    if not raw:
        return None
    cached = _cache.get(raw)
    if cached is not None:
        p = Person(*cached[0])
        if warnings is not None:
            warnings.extend(cached[1])
        return p
    local: list[str] = []
    person = _parse_name(raw, local)
    if warnings is not None:
        warnings.extend(local)
    if person is not None and len(_cache) < 20_000:
        _cache[raw] = ((person.family, person.given, person.von, person.suffix, person.corporate,
                        person.printed, person.orcid), tuple(local))
    return person


def _parse_name(raw: str, warnings: list[str]) -> Person | None:
    printed = decode_latex(raw)
    # {Corporate Name}: a single brace group around the whole name
    if raw[0] == "{" and raw[-1] == "}" and _balanced_whole(raw):
        inner = raw[1:-1].strip()
        if _SPECIAL_CHAR.match(inner):
            pass  # "{\O}", "{\'E}": a special character, not a corporate name
        else:
            fam = decode_latex(inner)
            if not fam:
                return None
            return Person(family=fam, corporate=True, printed=fam)
    if "=" in raw and _EXTENDED.match(raw):
        return _parse_extended(raw, printed, warnings)

    parts = _split_commas(raw)
    if len(parts) > 3:
        warnings.append(f"name {printed!r} has too many commas; read as 'Last, Jr, First'")
        parts = [parts[0], parts[1], ", ".join(parts[2:])]
    if len(parts) == 1:
        words = _split_words(parts[0])
        if not words:
            return None
        n = len(words)
        first_lower = -1
        for i in range(n - 1):
            if _is_lower(words[i]):
                first_lower = i
                break
        if first_lower < 0:
            given_w, von_w, last_w = words[:-1], [], words[-1:]
        else:
            last_lower = first_lower
            for j in range(n - 2, first_lower - 1, -1):
                if _is_lower(words[j]):
                    last_lower = j
                    break
            given_w = words[:first_lower]
            von_w = words[first_lower:last_lower + 1]
            last_w = words[last_lower + 1:]
        suffix_w: list[str] = []
    else:
        vl = _split_words(parts[0])
        if len(parts) == 2:
            suffix_w, given_w = [], _split_words(parts[1])
        else:
            suffix_w, given_w = _split_words(parts[1]), _split_words(parts[2])
        von_w, last_w = [], vl
        if len(vl) > 1:
            for j in range(len(vl) - 2, -1, -1):
                if _is_lower(vl[j]):
                    von_w, last_w = vl[:j + 1], vl[j + 1:]
                    break
        if not vl:
            if given_w:
                warnings.append(f"name {printed!r} has no family name")
                last_w, given_w = given_w[-1:], given_w[:-1]
            else:
                return None
    von = decode_latex(" ".join(von_w)) if von_w else ""
    last = decode_latex(" ".join(last_w))
    family = (von + " " + last).strip() if von else last
    given = decode_latex(" ".join(given_w)) if given_w else ""
    suffix = decode_latex(" ".join(suffix_w)) if suffix_w else ""
    if not family:
        if given:
            family, given = given, ""
        else:
            return None
    return Person(family=family, given=given, von=von, suffix=suffix, printed=printed)


def _parse_extended(raw: str, printed: str, warnings: list[str]) -> Person | None:
    data: dict[str, str] = {}
    for part in _split_commas(raw):
        if "=" not in part:
            warnings.append(f"extended name {printed!r}: ignored {part!r}")
            continue
        k, v = part.split("=", 1)
        data[k.strip().lower()] = decode_latex(_strip_outer_braces(v))
    von = data.get("prefix", "")
    last = data.get("family", "")
    family = f"{von} {last}".strip() if von else last
    given = data.get("given", "")
    if not family:
        if not given:
            return None
        family, given = given, ""
    orcid = ""
    if data.get("orcid"):
        orcid = normalize_orcid(data["orcid"])
        if not orcid:
            warnings.append(f"invalid ORCID {data['orcid']!r} for {family}")
    shown = " ".join(x for x in (given, family, data.get("suffix", "")) if x)
    return Person(family=family, given=given, von=von, suffix=data.get("suffix", ""),
                  printed=shown, orcid=orcid)


def _looks_like_pairs(parts: list[str]) -> bool:
    """'Miller, D., Firby, J.' : an even number of comma parts alternating family/initials."""
    if len(parts) < 4 or len(parts) % 2:
        return False
    for i in range(1, len(parts), 2):
        g = parts[i]
        if not g or len(g) > 30 or not re.fullmatch(r"(?:[A-Z][a-z]*\.?[\s\-]*)+", g):
            return False
    return True


def parse_names(value: str) -> tuple[list[Person], bool, list[str]]:
    """A BibTeX name list -> (persons, et_al, warnings). Never raises."""
    warnings: list[str] = []
    persons: list[Person] = []
    et_al = False
    if not value or not value.strip():
        return persons, et_al, warnings
    parts = split_names(value)
    for raw in parts:
        if not raw:
            warnings.append(f"empty name in {value.strip()!r}")
            continue
        low = raw.lower()
        if low == "others" or low == "{others}" or low == "et al." or low == "et al":
            et_al = True
            continue
        if raw.count(",") >= 3:
            cparts = _split_commas(raw)
            if _looks_like_pairs(cparts):
                warnings.append(f"names in {decode_latex(raw)!r} separated by commas instead of 'and'")
                for i in range(0, len(cparts), 2):
                    p = parse_name(cparts[i] + ", " + cparts[i + 1], warnings)
                    if p is not None:
                        persons.append(p)
                continue
        try:
            p = parse_name(raw, warnings)
        except Exception as exc:  # defensive: one odd name must not lose the entry
            warnings.append(f"could not read name {raw!r}: {exc}")
            p = None
        if p is None:
            warnings.append(f"could not read name {raw!r}")
            continue
        persons.append(p)
    return persons, et_al, warnings


def person_json(p: Person) -> dict:
    d = {"family": p.family}
    for name in ("given", "von", "suffix", "printed", "orcid"):
        value = getattr(p, name)
        if value:
            d[name] = value
    if p.corporate:
        d["corporate"] = True
    return d


def person_from_json(d: dict) -> Person:
    return Person(family=d.get("family", ""), given=d.get("given", ""), von=d.get("von", ""),
                  suffix=d.get("suffix", ""), corporate=bool(d.get("corporate")), printed=d.get("printed", ""),
                  orcid=d.get("orcid", ""))


def printed_name(p: Person) -> str:
    if p.printed:
        return squash(p.printed)
    if p.corporate or not p.given:
        return squash(p.family)
    return squash(f"{p.family}, {p.given}")


def name_parts(p: Person) -> tuple[str, str]:
    """(family, given) as a study's author row keeps them: the family name with its particles
    (``van der Berg``), the given names followed by a suffix (``John Jr.``)."""
    return squash(p.family), squash(" ".join(x for x in (p.given, p.suffix) if x))


def split_printed_name(name: str) -> tuple[str, str]:
    """A printed name -> (family, given), the same way whether it came from a BibTeX file or was typed:
    ``"Jan van der Berg"`` and ``"van der Berg, Jan"`` -> ("van der Berg", "Jan");
    ``"Ødegård, Kari"`` and ``"Kari Ødegård"`` -> ("Ødegård", "Kari")."""
    person = parse_name(name or "")
    return name_parts(person) if person is not None else (squash(name), "")
