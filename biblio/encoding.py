"""Byte -> text decoding for BibTeX files.

Order of evidence: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), the NUL pattern of
BOM-less UTF-16, a declaration in a comment line near the top (JabRef's ``% Encoding: <name>``,
an Emacs ``% -*- coding: latin-9-unix -*-`` or a Vim ``% vim: set fileencoding=latin1 :`` line),
strict UTF-8, and finally a cp1252 (or latin-1) fallback.  The fallback is a *guess*: it is
reported as a warning and flagged (``guessed``), and :func:`ambiguous_characters` names the
characters whose byte reads differently in the other likely 8-bit codecs, so that a reader can
point curators at them.  Never raises.
"""
from __future__ import annotations

import codecs
import re
from typing import NamedTuple

# A comment line that declares the encoding: "% Encoding: X" (JabRef), "-*- coding: X -*-" (Emacs),
# "vim: set fileencoding=X :" / "vim: fenc=X" (Vim), "coding=X" (the PEP 263 form).
_HEADER = re.compile(rb"^[ \t]*%[^\n]*?(?:coding[ \t]*[:=]|\bfenc[ \t]*=)[ \t]*([A-Za-z0-9_.\-]+)", re.I | re.M)

# Emacs coding-system names Python does not know (the end-of-line suffixes -unix/-dos/-mac are cut first;
# "latin-N" / "iso-latin-N" are mapped by rule below).
_EMACS_NAMES = {
    "utf-8-with-signature": "utf-8-sig", "utf-8-emacs": "utf-8", "mule-utf-8": "utf-8", "utf-8-hfs": "utf-8",
    "utf-8-auto": "utf-8", "utf-16le-with-signature": "utf-16", "utf-16be-with-signature": "utf-16",
    "iso-safe": "ascii", "japanese-shift-jis": "shift_jis", "sjis": "shift_jis", "japanese-iso-8bit": "euc_jp",
    "chinese-gbk": "gbk", "chinese-iso-8bit": "gb2312", "korean-iso-8bit": "euc_kr", "cyrillic-koi8": "koi8_r",
    "cyrillic-iso-8bit": "iso8859-5", "greek-iso-8bit": "iso8859-7", "hebrew-iso-8bit": "iso8859-8",
    "thai-tis620": "tis_620", "vietnamese-tcvn": "cp1258",
}
# Names that declare nothing (let the content decide), without a warning.
_UNDECIDED = frozenset(("undecided", "prefer-utf-8", "raw-text", "no-conversion", "binary", "default",
                        "emacs-internal", "auto"))
_LATIN = re.compile(r"(?:iso-?)?latin-?(\d{1,2})")
_EOL_SUFFIX = re.compile(r"-(?:unix|dos|mac)$")

#: The 8-bit codecs a file without a declaration is most likely in (the order is the guess's order).
CANDIDATES = ("cp1252", "iso8859-1", "iso8859-15")
_LABELS = {"cp1252": "cp1252 (Windows)", "iso8859-1": "latin-1 (ISO-8859-1)", "iso8859-15": "latin-9 (ISO-8859-15)"}

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


def codec_for(declared: str) -> str | None:
    """The Python codec of an encoding name as JabRef, Emacs or Vim write it (``ISO8859_15``,
    ``latin-9-unix``, ``iso-latin-1``, ``utf-8-dos``, ``latin1``), or None when Python has none.
    Names that leave the choice to the content (``undecided``, ``raw-text``) give ``""``."""
    name = declared.strip().lower().replace("_", "-")
    name = _EOL_SUFFIX.sub("", name)
    if name in _UNDECIDED:
        return ""
    name = _EMACS_NAMES.get(name, name)
    m = _LATIN.fullmatch(name)
    if m:  # Emacs and Vim say latin-1 .. latin-10 (Emacs: latin-0 = latin-9); Python says latin1 .. latin10
        number = int(m.group(1))
        name = "iso8859-15" if number in (0, 9) else f"latin{number}"
    return _canonical(name)


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
        line = head[m.start():head.find(b"\n", m.start()) if b"\n" in head[m.start():] else len(head)]
        line = line.decode("ascii", "replace").strip()[:80]
        name = codec_for(declared)
        if name == "":
            return None, 0, warnings
        if name is None:
            warnings.append(f"unknown encoding {declared!r} in the declaration {line!r} ignored")
        elif name.startswith(("utf-16", "utf-32")):
            # a UTF-16 header readable as ASCII bytes means the file is not UTF-16 after all
            warnings.append(f"the declaration {line!r} ignored: the file is not {declared}")
        else:
            return name, 0, warnings
    return None, 0, warnings


class Decoded(NamedTuple):
    text: str
    encoding: str
    warnings: list
    guessed: bool  # no byte-order mark or declaration decided, and the bytes are not plain UTF-8


_GUESS_WARNING = ("the file declares no encoding and is not UTF-8: decoded as {label}, a guess "
                  "(characters that other 8-bit encodings read differently are flagged per entry)")


def guess_warning(name: str) -> str:
    return _GUESS_WARNING.format(label=_LABELS.get(name, name))


def decode(data: bytes) -> Decoded:
    """Decode a whole file."""
    if not data:
        return Decoded("", "utf-8", [], False)
    name, bom_len, warnings = sniff(data[:8192])
    body = data[bom_len:]
    if name is not None:
        try:
            return Decoded(body.decode(name), name, warnings, bool(warnings))  # warnings: BOM-less UTF-16
        except (UnicodeDecodeError, LookupError):
            if name.startswith(("utf-16", "utf-32")):
                warnings.append(f"invalid {name} sequences replaced")
                return Decoded(body.decode(name, "replace"), name, warnings, True)
            warnings.append(f"file is not valid {name} as its declaration says")
    try:
        return Decoded(body.decode("utf-8"), "utf-8", warnings, False)
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few bad bytes, or a legacy 8-bit file?
    text = body.decode("utf-8", "surrogateescape")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    if good > bad:
        warnings.append(f"{bad} invalid UTF-8 byte(s) replaced with U+FFFD")
        return Decoded(body.decode("utf-8", "replace"), "utf-8", warnings, True)
    try:
        text = body.decode("cp1252")
        warnings.append(guess_warning("cp1252"))
        return Decoded(text, "cp1252", warnings, True)
    except UnicodeDecodeError:
        warnings.append(guess_warning("iso8859-1"))
        return Decoded(body.decode("latin-1"), "iso8859-1", warnings, True)


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode a whole file. Returns (text, encoding name, file-level warnings)."""
    return decode(data)[:3]


def _ambiguity_table(name: str) -> dict[str, str]:
    """character read by codec ``name`` -> what its byte reads in the other candidates, for the bytes that
    another candidate reads as a different printable character (a byte only cp1252 reads as a printable
    character, e.g. 0x92 '’', is evidence for cp1252, not a doubt)."""
    table = {}
    for byte in range(0x80, 0x100):
        raw = bytes([byte])
        mine = raw.decode(name, "replace")
        others = {c: raw.decode(c, "replace") for c in CANDIDATES if c != name}
        different = {c: o for c, o in others.items() if o != mine and o.isprintable() and o != "\ufffd"}
        if mine == "\ufffd" or not different:
            continue
        by_reading: dict[str, list[str]] = {}
        for c, o in different.items():
            by_reading.setdefault(o, []).append(_LABELS[c].split(" ")[0])
        table[mine] = f"byte 0x{byte:02X}, " + " or ".join(
            f"{o!r} in {' and '.join(names)}" for o, names in by_reading.items())
    return table


_TABLES: dict[str, dict[str, str]] = {}
_PATTERNS: dict[str, re.Pattern] = {}


def ambiguous_characters(name: str) -> dict[str, str] | None:
    """For a guessed 8-bit codec: {character: what its byte reads in the other candidate codecs}, the
    characters a curator should check; None for any other codec."""
    name = _canonical(name) or name
    if name not in CANDIDATES:
        return None
    if name not in _TABLES:
        _TABLES[name] = _ambiguity_table(name)
    return _TABLES[name]


def ambiguity_checker(name: str):
    """For a guessed 8-bit codec: ``check(fields) -> [warning, ...]``, one warning per field holding
    characters whose byte other likely codecs read differently (naming the field, the characters and
    the other readings); None for any other codec (nothing to check)."""
    table = ambiguous_characters(name)
    if not table:
        return None
    if name not in _PATTERNS:
        _PATTERNS[name] = re.compile("[" + re.escape("".join(table)) + "]")
    search, label = _PATTERNS[name].findall, _LABELS.get(_canonical(name) or name, name).split(" ")[0]

    def check(fields: dict) -> list[str]:
        out = []
        for field, value in fields.items():
            found = search(value)
            if found:
                chars = "; ".join(f"{ch!r} ({table[ch]})" for ch in dict.fromkeys(found))
                out.append(f"{field}: {chars}: the file's encoding was guessed as {label}; check these "
                           "characters")
        return out
    return check


class StreamDecoding(NamedTuple):
    encoding: str
    bom: int
    decoder: object  # .decode(data, final=False) -> str
    warnings: list
    guessed: bool


def stream_decoding(head: bytes) -> StreamDecoding:
    """For streaming: the codec, BOM length and incremental decoder chosen from ``head``."""
    name, bom_len, warnings = sniff(head)
    guessed = bool(warnings) and name is not None  # BOM-less UTF-16
    if name is None:
        body = head
        try:
            body.decode("utf-8")
            name = "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
                name = "utf-8"  # a multi-byte char cut at the chunk boundary
            else:
                name, guessed = "cp1252", True
                warnings.append(guess_warning(name))
    if name == "utf-8":  # declared, or chosen from the first bytes only: bytes further on may not be UTF-8
        return StreamDecoding(name, bom_len, Utf8Watch(), warnings, guessed)
    errors = "replace"
    if name == "cp1252":
        return StreamDecoding(name, bom_len, _Cp1252Decoder(), warnings, guessed)
    return StreamDecoding(name, bom_len, codecs.getincrementaldecoder(name)(errors), warnings, guessed)


def incremental_decoder(head: bytes):
    """For streaming: (codec name, BOM length, incremental decoder, warnings) chosen from ``head``."""
    return stream_decoding(head)[:4]


_STRAY = re.compile("[\udc80-\udcff]+")


class Utf8Watch:
    """UTF-8 (declared, or chosen from the start of the file): a byte further on that is not UTF-8 is read
    as cp1252 (not lost as U+FFFD) and counted in ``stray``; the stream reports it."""

    def __init__(self):
        self._pending = b""  # a character cut at the end of the last block
        self.stray = 0

    def _fix(self, m) -> str:
        raw = m.group(0).encode("utf-8", "surrogateescape")
        self.stray += len(raw)
        return raw.decode("cp1252", "replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        data = self._pending + data if self._pending else data
        try:  # the usual case, at C speed
            text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError:
            text, used = codecs.utf_8_decode(data, "surrogateescape", final)
            text = _STRAY.sub(self._fix, text)
        self._pending = data[used:]
        return text

    def warning(self) -> str:
        return (f"{self.stray} byte(s) of the file are not UTF-8 as the rest is: read as cp1252, a guess; "
                "check the entries that hold them")


class _Cp1252Decoder:
    """cp1252 with latin-1 for its five undefined bytes, so it never fails."""

    def decode(self, data: bytes, final: bool = False) -> str:
        return data.decode("cp1252", "replace") if data else ""


class DecodedFile:
    """A file (bytes or str) read as text in blocks: ``first`` is the first block decoded (its byte-order
    mark dropped), ``more()`` the next one ('' once the file is done, then ``eof``). ``encoding``,
    ``guessed`` and ``warnings`` are known from the first block (``stream_decoding``); ``stray`` is a
    warning when bytes further on turned out not to be UTF-8 (known at the end)."""

    def __init__(self, f, read_size: int = 1 << 20):
        self.f, self.read_size = f, read_size
        first = f.read(read_size)
        self.eof = not first
        self.stray: str | None = None
        if isinstance(first, str):
            self.decoder, self.encoding, self.guessed, self.warnings = None, "str", False, []
            self.first = first
        else:
            self.encoding, bom, self.decoder, self.warnings, self.guessed = stream_decoding(first[:65536])
            self.first = self.decoder.decode(first[bom:])

    def more(self) -> str:
        if self.eof:
            return ""
        data = self.f.read(self.read_size)
        if data:
            return self.decoder.decode(data) if self.decoder is not None else data
        self.eof = True
        if self.decoder is None:
            return ""
        tail = self.decoder.decode(b"", final=True)
        if isinstance(self.decoder, Utf8Watch) and self.decoder.stray:
            self.stray = self.decoder.warning()
        return tail
