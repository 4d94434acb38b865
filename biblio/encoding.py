"""Byte -> text decoding for BibTeX files.

Order of evidence: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), the NUL pattern of
BOM-less UTF-16, a JabRef ``% Encoding: <name>`` header, strict UTF-8, and finally a
cp1252 (or latin-1) fallback that is reported as a warning.  Never raises.
"""
from __future__ import annotations

import codecs
import re

_HEADER = re.compile(rb"^[ \t]*%[ \t]*Encoding[ \t]*:[ \t]*([A-Za-z0-9_.:\-]+)", re.I | re.M)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _canonical(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff(head: bytes) -> tuple[str | None, int, list[str]]:
    """Encoding evident from the first bytes: (codec name or None, BOM length, warnings)."""
    warnings: list[str] = []
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom), warnings
    sample = head[:4096]
    if len(sample) >= 4:
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nul > half * 0.4 and even_nul < half * 0.05:
            warnings.append("no byte-order mark; looks like UTF-16LE")
            return "utf-16-le", 0, warnings
        if even_nul > half * 0.4 and odd_nul < half * 0.05:
            warnings.append("no byte-order mark; looks like UTF-16BE")
            return "utf-16-be", 0, warnings
    m = _HEADER.search(head[:2048])
    if m:
        declared = m.group(1).decode("ascii", "replace")
        name = _canonical(declared)
        if name is None:
            warnings.append(f"unknown encoding {declared!r} in '% Encoding:' header ignored")
        elif name.startswith(("utf-16", "utf-32")):
            # a UTF-16 header readable as ASCII bytes means the file is not UTF-16 after all
            warnings.append(f"'% Encoding: {declared}' header ignored: the file is not {declared}")
        else:
            return name, 0, warnings
    return None, 0, warnings


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode a whole file. Returns (text, encoding name, file-level warnings)."""
    if not data:
        return "", "utf-8", []
    name, bom_len, warnings = sniff(data[:8192])
    body = data[bom_len:]
    if name is not None:
        try:
            return body.decode(name), name, warnings
        except (UnicodeDecodeError, LookupError):
            if name.startswith(("utf-16", "utf-32")):
                warnings.append(f"invalid {name} sequences replaced")
                return body.decode(name, "replace"), name, warnings
            warnings.append(f"file is not valid {name} as its header says")
    try:
        return body.decode("utf-8"), "utf-8", warnings
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few bad bytes, or a legacy 8-bit file?
    text = body.decode("utf-8", "surrogateescape")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    if good > bad:
        warnings.append(f"{bad} invalid UTF-8 byte(s) replaced with U+FFFD")
        return body.decode("utf-8", "replace"), "utf-8", warnings
    try:
        text = body.decode("cp1252")
        warnings.append("decoded as cp1252: not valid UTF-8")
        return text, "cp1252", warnings
    except UnicodeDecodeError:
        warnings.append("decoded as latin-1: not valid UTF-8 or cp1252")
        return body.decode("latin-1"), "latin-1", warnings


def incremental_decoder(head: bytes):
    """For streaming: (codec name, BOM length, incremental decoder, warnings) chosen from ``head``."""
    name, bom_len, warnings = sniff(head)
    if name is None:
        body = head
        try:
            body.decode("utf-8")
            name = "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
                name = "utf-8"  # a multi-byte char cut at the chunk boundary
            else:
                name = "cp1252"
                warnings.append("decoded as cp1252: not valid UTF-8")
    errors = "replace"
    if name == "cp1252":
        return name, bom_len, _Cp1252Decoder(), warnings
    return name, bom_len, codecs.getincrementaldecoder(name)(errors), warnings


class _Cp1252Decoder:
    """cp1252 with latin-1 for its five undefined bytes, so it never fails."""

    def decode(self, data: bytes, final: bool = False) -> str:
        return data.decode("cp1252", "replace") if data else ""
