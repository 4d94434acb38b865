"""Fast LaTeX -> Unicode decoding of BibTeX field values.

One compiled regex and a table lookup per special token; values without any of
``\\ { } ~ $ ` --`` or runs of whitespace take a fast path that only strips them.
No recursion anywhere: braces nested 10,000 deep are fine.

* accents with and without braces: ``\\'e`` ``{\\'e}`` ``\\'{e}`` ``\\' e`` ``\\v{s}`` ``\\c c`` ``\\'{\\i}``
* letters: ``{\\o}`` ``{\\O}`` ``{\\aa}`` ``{\\AA}`` ``{\\ae}`` ``\\oe`` ``{\\l}`` ``\\ss`` ``{\\i}`` ...
* ``--`` en dash, ``---`` em dash, ``~`` space, `````` `` '' `````` quotes
* ``\\& \\% \\_ \\$ \\# \\{ \\}`` literals; a bare ``%`` in a value stays a percent sign
* ``\\emph{x}`` ``\\textbf{x}`` ``\\mbox{x}`` and any unknown command -> ``x``
* ``\\url{x}`` ``\\path|x|`` ``\\verb|x|`` verbatim; ``\\href{u}{t}`` -> ``t``
* math: ``$\\alpha$`` -> α, ``$\\geq$`` -> ≥, ``$x^2$`` -> x², ``$<$`` -> <
* case-protecting braces are dropped: ``{HIV}`` -> HIV
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["decode_latex", "decode_verbatim", "SYMBOLS"]

# --------------------------------------------------------------------------- tables

_ACCENT_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
    "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
    "r": "\u030a", "k": "\u0328", "c": "\u0327", "d": "\u0323", "b": "\u0331",
    "t": "\u0361", "G": "\u030f", "U": "\u030e",
}

# Letter-like commands that are part of a word: they swallow the following space
# (``Tenn\o y`` is "Tennøy", as in TeX).
_LETTERS = {
    "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "l": "ł", "L": "Ł", "ss": "ß", "SS": "SS", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð",
    "th": "þ", "TH": "Þ", "dj": "đ", "DJ": "Đ", "ng": "ŋ", "NG": "Ŋ",
}

SYMBOLS = {
    # text symbols
    "textendash": "–", "textemdash": "—", "textellipsis": "…", "dots": "…", "ldots": "…",
    "textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“",
    "textquotedblright": "”", "quotedblbase": "„", "quotesinglbase": "‚",
    "guillemotleft": "«", "guillemotright": "»", "guillemetleft": "«", "guillemetright": "»",
    "guilsinglleft": "‹", "guilsinglright": "›",
    "textquotesingle": "'", "textquotedbl": '"', "textasciitilde": "~", "textasciicircum": "^", "textasciigrave": "`",
    "textbackslash": "\\", "textbar": "|", "textless": "<", "textgreater": ">",
    "textunderscore": "_", "textbraceleft": "{", "textbraceright": "}", "textbullet": "•",
    "textperiodcentered": "·", "textdagger": "†", "textdaggerdbl": "‡", "dag": "†", "ddag": "‡",
    "S": "§", "P": "¶", "textsection": "§", "textparagraph": "¶",
    "copyright": "©", "textcopyright": "©", "textregistered": "®", "texttrademark": "™",
    "pounds": "£", "textsterling": "£", "euro": "€", "texteuro": "€", "EUR": "€",
    "textdegree": "°", "degree": "°", "textdollar": "$", "textexclamdown": "¡",
    "textquestiondown": "¿", "textordfeminine": "ª", "textordmasculine": "º",
    "textonehalf": "½", "textonequarter": "¼", "textthreequarters": "¾", "textpm": "±",
    "texttimes": "×", "textdiv": "÷", "textminus": "−", "textperthousand": "‰",
    "textmu": "µ", "textcelsius": "℃", "textnumero": "№", "textservicemark": "℠",
    "TeX": "TeX", "LaTeX": "LaTeX", "LaTeXe": "LaTeX2ε", "BibTeX": "BibTeX", "XeTeX": "XeTeX",
    "LuaTeX": "LuaTeX", "ConTeXt": "ConTeXt", "slash": "/", "hyphen": "-",
    "nobreakspace": " ", "space": " ", "quad": " ", "qquad": " ", "enspace": " ",
    "thinspace": " ", "negthinspace": "", "textvisiblespace": "␣", "newline": " ", "par": " ",
    "linebreak": " ", "break": " ", "textcompwordmark": "", "ae": "æ",
    # greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "omicron": "ο", "pi": "π", "varpi": "ϖ",
    "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ",
    "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # math symbols
    "geq": "≥", "ge": "≥", "geqslant": "≥", "leq": "≤", "le": "≤", "leqslant": "≤",
    "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃", "cong": "≅",
    "equiv": "≡", "pm": "±", "mp": "∓", "times": "×", "cdot": "·", "div": "÷",
    "infty": "∞", "rightarrow": "→", "to": "→", "leftarrow": "←", "gets": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔",
    "longrightarrow": "⟶", "uparrow": "↑", "downarrow": "↓", "mapsto": "↦", "ll": "≪",
    "gg": "≫", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "supseteq": "⊇", "in": "∈",
    "notin": "∉", "ni": "∋", "cup": "∪", "cap": "∩", "setminus": "∖", "emptyset": "∅",
    "varnothing": "∅", "forall": "∀", "exists": "∃", "neg": "¬", "lnot": "¬", "wedge": "∧",
    "land": "∧", "vee": "∨", "lor": "∨", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "oint": "∮", "sqrt": "√", "propto": "∝", "circ": "∘",
    "bullet": "•", "star": "⋆", "ast": "∗", "prime": "′", "ell": "ℓ", "hbar": "ℏ",
    "Re": "ℜ", "Im": "ℑ", "aleph": "ℵ", "langle": "⟨", "rangle": "⟩", "lbrace": "{",
    "rbrace": "}", "lbrack": "[", "rbrack": "]", "vert": "|", "mid": "|", "parallel": "∥",
    "perp": "⊥", "angle": "∠", "triangle": "△", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
    "oplus": "⊕", "otimes": "⊗", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "models": "⊨", "vdash": "⊢", "top": "⊤", "bot": "⊥", "sharp": "♯", "flat": "♭",
    "checkmark": "✓", "square": "□", "Box": "□", "Diamond": "◇", "diamond": "⋄",
    "textrightarrow": "→", "textleftarrow": "←", "lvert": "|", "rvert": "|",
    "colon": ":", "backslash": "\\", "|": "‖", "textgreekmu": "μ",
    # from pylatexenc's table (tests/imports/test_latex_symbols.py compares the two): textcomp symbols,
    # the LaTeX base and amssymb relations, and the few others that titles and abstracts use
    "textcent": "¢", "textcurrency": "¤", "textyen": "¥", "textbrokenbar": "¦", "textlnot": "¬",
    "textonesuperior": "¹", "texttwosuperior": "²", "textthreesuperior": "³", "textflorin": "ƒ",
    "textschwa": "ə", "texthvlig": "ƕ", "textnrleg": "ƞ", "textturnk": "ʞ", "textphi": "ɸ", "textglotstop": "ʔ", "texttheta": "θ", "textvartheta": "ϑ",
    "textTheta": "ϴ", "textasciidieresis": "¨", "textasciimacron": "¯", "textasciiacute": "´",
    "textasciicaron": "ˇ", "textasciibreve": "˘", "textacutedbl": "˝", "texttildelow": "˜",
    "textasteriskcentered": "⁎", "textfractionsolidus": "⁄", "textinterrobang": "‽",
    "textreferencemark": "※", "textpertenthousand": "‱", "textdiscount": "⁒", "textcolonmonetary": "₡",
    "textlira": "₤", "textnaira": "₦", "textwon": "₩", "textdong": "₫", "textpeso": "₱", "textbaht": "฿",
    "textcircledP": "℗", "textrecipe": "℞", "textohm": "\u2126", "textmho": "℧", "textestimated": "℮",
    "textmusicalnote": "♪", "textopenbullet": "◦", "textbigcircle": "◯", "textuparrow": "↑",
    "textdownarrow": "↓", "textlangle": "\u2329", "textrangle": "\u232a", "textmp": "∓", "textblank": "␢",
    "textdoublepipe": "ǂ", "IJ": "Ĳ", "ij": "ĳ", "dagger": "†",
    "Alpha": "Α", "Beta": "Β", "Epsilon": "Ε", "Zeta": "Ζ", "Eta": "Η", "Iota": "Ι", "Kappa": "Κ",
    "Mu": "Μ", "Nu": "Ν", "Omicron": "Ο", "Rho": "Ρ", "Tau": "Τ", "Chi": "Χ", "varkappa": "ϰ",
    "complement": "∁", "nexists": "∄", "coprod": "∐", "smallsetminus": "∖", "nparallel": "∦", "iint": "∬",
    "iiint": "∭", "backsim": "∽", "leqq": "≦", "geqq": "≧", "lneqq": "≨", "gneqq": "≩", "nless": "≮",
    "ngtr": "≯", "nleq": "≰", "ngeq": "≱", "lesssim": "≲", "gtrsim": "≳", "lessgtr": "≶", "gtrless": "≷",
    "prec": "≺", "succ": "≻", "preceq": "≼", "succeq": "≽", "precsim": "≾", "succsim": "≿", "nprec": "⊀",
    "nsucc": "⊁", "nsubseteq": "⊈", "nsupseteq": "⊉", "subsetneq": "⊊", "supsetneq": "⊋",
    "bigotimes": "⊗", "bigoplus": "⊕", "bigcap": "⋂", "bigcup": "⋃", "bigwedge": "⋀", "bigvee": "⋁",
    "iddots": "⋰", "dotsc": "…", "dotsb": "…", "dotsm": "…", "dotsi": "…", "dotso": "…",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "nmid": "∤", "longleftarrow": "⟵",
    "longleftrightarrow": "⟷", "Longleftarrow": "⟸", "Longrightarrow": "⟹", "Longleftrightarrow": "⟺",
    "longmapsto": "⟼", "Uparrow": "⇑", "Downarrow": "⇓", "updownarrow": "↕", "nearrow": "↗",
    "searrow": "↘", "nwarrow": "↖", "swarrow": "↙", "hookrightarrow": "↪", "hookleftarrow": "↩",
    "therefore": "∴", "because": "∵", "asymp": "≍", "doteq": "≐", "approxeq": "≊", "lessapprox": "⪅",
    "gtrapprox": "⪆", "triangleq": "≜", "uplus": "⊎", "ominus": "⊖", "oslash": "⊘", "odot": "⊙",
    "dashv": "⊣", "beth": "ℶ", "gimel": "ℷ", "daleth": "ℸ", "wp": "℘", "mho": "℧", "surd": "√",
    "hslash": "ℏ", "lozenge": "◊", "blacksquare": "▪", "male": "♂", "venus": "♀", "natural": "♮",
    "bigcirc": "◯", "smile": "⌣", "frown": "⌢", "bowtie": "⋈", "ltimes": "⋉", "rtimes": "⋊",
}

_MATH_FUNCTIONS = frozenset(
    "log ln lg exp sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh coth max min "
    "lim liminf limsup sup inf det dim ker arg deg gcd hom Pr mod bmod pmod arcsinh arccosh arctanh".split()
)

# Commands whose argument is not text to keep.
_DROP_WITH_ARG = re.compile(
    r"\\(?:noopsort|SortNoop|sortnoop|noop|nocite|label|hspace\*?|vspace\*?|"
    r"bibstring|bibstrings|ifmmode|index)\s*\{[^{}]*\}"
)
_QUOTE_CMD = re.compile(r"\\(?:mkbibquote|enquote\*?|mkbibemph(?=x)|textquote)\s*"
                        r"\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}")
_VERBATIM_CMD = re.compile(
    r"\\(?:url|nolinkurl|path|doi)\s*\{([^{}]*)\}"     # \url{...}
    r"|\\(?:path|verb|url)\*?([^A-Za-z\s{])(.*?)\2"    # \path|...|, \verb+...+
    r"|\\href\s*\{([^{}]*)\}\s*"                        # \href{url}{text}: keep the text
)

_SUP = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SUP_OK = frozenset("0123456789+-=()ni")
_SUB_OK = frozenset("0123456789+-=()")

_CONTROL_SYMBOLS = {
    "&": "&", "%": "%", "_": "_", "$": "$", "#": "#", "{": "{", "}": "}",
    ",": " ", " ": " ", "\t": " ", "\n": " ", "\r": " ", "\\": " ", ";": " ", ":": " ", ">": " ",
    "-": "", "/": "", "@": "", "!": "", "(": "", ")": "", "[": "", "]": "", "|": "‖",
    "~": "~", "^": "^", "'": "'", "`": "`", '"': '"', "=": "=", ".": ".",
}

_ACC_SYM = r"['\"`^~=.]"
_ACC_LET = r"[uvHrkcdbtGU](?![A-Za-z])"
_ACC_ARG = r"(?:\\[ij](?![A-Za-z])|[A-Za-z])"
_WS = r"[ \t\r\n]*"

# Each alternative starts with one of these characters; the leading lookahead lets the
# regex engine skip plain text quickly (3x faster than the bare alternation).
_TOKEN = re.compile(
    r"(?=[\\${}~`'\-])(?:"
    rf"(?P<acc>\\({_ACC_SYM}|{_ACC_LET}){_WS}(?:\{{{_WS}({_ACC_ARG})([A-Za-z]?){_WS}\}}|({_ACC_ARG})))"
    r"|(?P<cw>\\([A-Za-z]+)\*?([ \t\r\n]*))"
    r"|(?P<cs>\\(.|$))"
    r"|(?P<math>(\$\$?)((?:[^$\\]|\\.)+?)\12)"  # group 12 is the $ or $$ delimiter
    r"|(?P<dollar>\$)"
    r"|(?P<brace>[{}])"
    r"|(?P<dash>---?)"
    r"|(?P<tilde>~)"
    r"|(?P<quote>``|''|`))",
    re.S,
)

_MATH_TOKEN = re.compile(
    r"(?=[\\^_{}\s])(?:"
    r"(?P<cw>\\([A-Za-z]+)[ \t\r\n]*)"
    r"|(?P<cs>\\(.|$))"
    r"|(?P<sup>\^[ \t]*(?:\{([^{}]*)\}|(\\[A-Za-z]+|.)))"
    r"|(?P<sub>_[ \t]*(?:\{([^{}]*)\}|(\\[A-Za-z]+|.)))"
    r"|(?P<brace>[{}])"
    r"|(?P<ws>[ \t\r\n]+))",
    re.S,
)

_LATEX_CHARS = re.compile(r"[\\{}~$`]|--|''")
_WS_RUN = re.compile(r"\s+")

_accent_cache: dict[tuple[str, str], str] = {}


def _accent(acc: str, base: str, rest: str = "") -> str:
    key = (acc, base)
    out = _accent_cache.get(key)
    if out is None:
        letter = base[1] if base.startswith("\\") else base  # \i, \j -> i, j
        mark = _ACCENT_MARKS.get(acc, "")
        out = unicodedata.normalize("NFC", letter + mark)
        _accent_cache[key] = out
    return out + rest


def _math(content: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _MATH_TOKEN.finditer(content):
        if m.start() > pos:
            out.append(content[pos:m.start()])
        pos = m.end()
        kind = m.lastgroup
        if kind == "cw":
            name = m.group(2)
            sym = SYMBOLS.get(name) or _LETTERS.get(name)
            if sym is not None:
                out.append(sym)
            elif name in _MATH_FUNCTIONS:
                out.append(name)
                nxt = content[pos:pos + 1]
                if nxt.isalnum() or nxt == "\\" or (m.group(1) != "\\" + name):
                    out.append(" ")
            elif content.startswith("{", pos):
                pass  # \mathrm{x}, \mathcal{O}, ... : keep the argument
            else:
                out.append(name)
        elif kind == "cs":
            out.append(_CONTROL_SYMBOLS.get(m.group(4), m.group(4)))
        elif kind in ("sup", "sub"):
            arg = m.group(6) if kind == "sup" else m.group(9)
            if arg is None:
                arg = m.group(7) if kind == "sup" else m.group(10)
                if arg and arg.startswith("\\"):
                    arg = SYMBOLS.get(arg[1:], arg[1:])
            arg = arg or ""
            ok = _SUP_OK if kind == "sup" else _SUB_OK
            if arg and all(c in ok for c in arg):
                out.append(arg.translate(_SUP if kind == "sup" else _SUB))
            else:
                inner = _math(arg) if "\\" in arg or "{" in arg else arg
                out.append(("^" if kind == "sup" else "_") + (inner if len(inner) == 1 else "(" + inner + ")"))
        elif kind == "brace":
            pass
        else:  # whitespace
            out.append(" ")
    out.append(content[pos:])
    return "".join(out).strip()


def _replace(m: re.Match) -> str:
    kind = m.lastgroup
    if kind == "acc":
        base = m.group(3) or m.group(5)
        return _accent(m.group(2), base, m.group(4) or "")
    if kind == "cw":
        name = m.group(7)
        ch = _LETTERS.get(name)
        if ch is not None:
            return ch  # swallows the following space like TeX
        sym = SYMBOLS.get(name)
        if sym is not None:
            return sym + (" " if m.group(8) else "")
        if name in _MATH_FUNCTIONS:
            return name + (" " if m.group(8) else "")
        return ""  # unknown command: drop the name, its {argument} stays as text
    if kind == "cs":
        c = m.group(10)
        return _CONTROL_SYMBOLS.get(c, c)
    if kind == "math":
        return _math(m.group(13))
    if kind == "dollar":
        return "$"
    if kind == "brace":
        return ""
    if kind == "dash":
        return "—" if len(m.group(0)) == 3 else "–"
    if kind == "tilde":
        return " "
    q = m.group(0)  # quotes
    return "“" if q == "``" else ("”" if q == "''" else "‘")


def _decode_plain(s: str) -> str:
    """Decode a segment that holds no verbatim commands."""
    if "\\" in s:
        if "noop" in s or "nocite" in s or "label" in s or "space" in s or "bibstring" in s or "index" in s:
            s = _DROP_WITH_ARG.sub("", s)
        if "quote" in s:
            for _ in range(3):  # nested quote commands
                new = _QUOTE_CMD.sub(lambda m: "“" + m.group(1) + "”", s)
                if new == s:
                    break
                s = new
    return _TOKEN.sub(_replace, s)


_cache: dict[str, str] = {}
_CACHE_MAX = 20_000


def decode_latex(value: str) -> str:
    """LaTeX-encoded BibTeX text -> plain Unicode with collapsed whitespace."""
    if not value:
        return ""
    if _LATEX_CHARS.search(value) is None:  # fast path: plain text
        if "\n" in value or "  " in value or "\t" in value or "\r" in value:
            return " ".join(value.split())
        return value.strip()
    cached = _cache.get(value)
    if cached is not None:
        return cached
    if "\\" not in value and "$" not in value:
        # only case-protecting braces, ties, dashes, quotes: plain string replaces
        out = value
        if "-" in out:
            out = out.replace("---", "\u2014").replace("--", "\u2013")
        if "`" in out or "''" in out:
            out = out.replace("``", "\u201c").replace("''", "\u201d").replace("`", "\u2018")
        out = out.replace("{", "").replace("}", "").replace("~", " ")
    elif "url" in value or "path" in value or "verb" in value or "href" in value or "doi" in value:
        parts: list[str] = []
        pos = 0
        for m in _VERBATIM_CMD.finditer(value):
            parts.append(_decode_plain(value[pos:m.start()]))
            if m.group(1) is not None:
                parts.append(" ".join(m.group(1).split()))
            elif m.group(3) is not None:
                parts.append(m.group(3))
            # \href{url}: the url is dropped, the {text} that follows is decoded as usual
            pos = m.end()
        parts.append(_decode_plain(value[pos:]))
        out = "".join(parts)
    else:
        out = _decode_plain(value)
    out = " ".join(out.split())
    if len(value) < 512:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[value] = out
    return out


_VERB_UNESCAPE = re.compile(r"\\([_%&#$~{}])|\{\\textasciitilde\}|\\textasciitilde(?:\{\})?|[{}]")
_URL_WRAP = re.compile(r"^\s*\\(?:url|href|path|doi)\s*\{([^{}]*)\}")


def decode_verbatim(value: str) -> str:
    """For url / doi / eprint / file / keys: no dash, tie or quote conversion.

    Drops a ``\\url{}`` wrapper and braces, un-escapes ``\\_ \\% \\& \\# \\$ \\~``,
    collapses whitespace.
    """
    if not value:
        return ""
    s = value
    if "\\" in s or "{" in s or "}" in s:
        m = _URL_WRAP.match(s)
        if m:
            s = m.group(1) + s[m.end():]
        s = _VERB_UNESCAPE.sub(lambda m: m.group(1) if m.group(1) else ("~" if "tilde" in m.group(0) else ""), s)
    if "\n" in s or "\t" in s or "  " in s or "\r" in s:
        s = " ".join(s.split())
    return s.strip()


# --------------------------------------------------------------------------- @preamble macros

_NEWCOMMAND = re.compile(
    r"\\(?:re|provide)?(?:newcommand|DeclareRobustCommand)\*?\s*(?:\{\s*\\([A-Za-z]+)\s*\}|\\([A-Za-z]+))"
    r"\s*(?:\[\s*(\d)\s*\])?\s*\{"
    r"|\\def\s*\\([A-Za-z]+)((?:#\d)*)\s*\{"
)


def _group_end(s: str, pos: int) -> int:
    """pos just after '{': index just after the matching '}', or -1."""
    depth = 1
    n = len(s)
    while pos < n:
        c = s[pos]
        if c == "\\":
            pos += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return -1


def parse_newcommands(preamble: str) -> dict[str, tuple[int, str]]:
    """``\\newcommand{\\noopsort}[1]{}`` and ``\\def\\x#1{...}`` in a @preamble -> {name: (nargs, body)}."""
    out: dict[str, tuple[int, str]] = {}
    for m in _NEWCOMMAND.finditer(preamble or ""):
        name = m.group(1) or m.group(2) or m.group(4)
        nargs = int(m.group(3)) if m.group(3) else (len(m.group(5)) // 2 if m.group(5) else 0)
        end = _group_end(preamble, m.end())
        if end < 0:
            continue
        out[name] = (nargs, preamble[m.end():end - 1])
    return out


@lru_cache(maxsize=64)
def _macro_pattern(names: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"\\(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?![A-Za-z])")


def expand_macros(value: str, macros: dict[str, tuple[int, str]], max_passes: int = 8) -> str:
    """Expand @preamble-defined commands in a raw value (bounded, never recursive)."""
    if not macros or "\\" not in value:
        return value
    pattern = _macro_pattern(tuple(sorted(macros)))
    for _ in range(max_passes):
        m = pattern.search(value)
        if m is None:
            break
        out: list[str] = []
        pos = 0
        while m is not None:
            nargs, body = macros[m.group(1)]
            p = m.end()
            args: list[str] = []
            ok = True
            for _i in range(nargs):
                while p < len(value) and value[p] in " \t\n":
                    p += 1
                if p >= len(value):
                    ok = False
                    break
                if value[p] == "{":
                    end = _group_end(value, p + 1)
                    if end < 0:
                        ok = False
                        break
                    args.append(value[p + 1:end - 1])
                    p = end
                else:
                    args.append(value[p])
                    p += 1
            if not ok:
                out.append(value[pos:m.end()])
                pos = m.end()
            else:
                rep = body
                for i, a in enumerate(args, 1):
                    rep = rep.replace(f"#{i}", a)
                out.append(value[pos:m.start()])
                out.append("{" + rep + "}")
                pos = p
            m = pattern.search(value, pos)
        out.append(value[pos:])
        new = "".join(out)
        if new == value or len(new) > 10 * len(value) + 1000:
            break
        value = new
    return value
