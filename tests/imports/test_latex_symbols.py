"""kb's LaTeX symbol table (biblio.latex) against pylatexenc's (latex2text, 942 macros).

Every macro both know that prints fixed text must print the same, except the deliberate choices
listed in ``KB_CHOOSES``; and every pylatexenc symbol of the kinds that occur in bibliographies
(text-mode symbols, the LaTeX base and amsmath relations, Greek) must be known to kb. Not taken:
Cyrillic letters by macro (``\\cyrzh``: Russian references arrive as UTF-8), and the rarer math
arrows, astronomy and harpoon symbols of pylatexenc's "advanced" table.
"""
import pytest

pytest.importorskip("pylatexenc")

from pylatexenc import latexwalker  # noqa: E402
from pylatexenc.latex2text import get_default_latex_context_db  # noqa: E402

from biblio import latex  # noqa: E402
from biblio.latex import decode_latex  # noqa: E402

#: Where kb prints something else on purpose: name -> why.
KB_CHOOSES = {
    "hbar": "ℏ (U+210F, Planck's constant), not ħ (a Latin letter)",
    "hslash": "ℏ as \\hbar",
    "bullet": "• (bullet), not ∙ (bullet operator)",
    "leqslant": "≤: the slanted form is typography", "geqslant": "≥: the slanted form is typography",
    "prime": "′ (prime), not an apostrophe", "quad": "one space: spaces are squashed", "qquad": "as quad",
    "epsilon": "ε, the letter used in text", "phi": "φ, the letter used in text",
    "textasciicircum": "^ as typed", "textperiodcentered": "· (middle dot)",
    "textcompwordmark": "nothing (a ligature break)", "diamond": "⋄ (diamond operator)",
}
#: pylatexenc macros of these kinds occur in bibliographies and must be known to kb.
BIBLIOGRAPHY_CATEGORIES = ("latex-base", "latin1", "accents", "text", "greek", "quotes")
NOT_SYMBOLS = {"today", "input", "include", "ensuremath", "texorpdfstring", "ket", "bra", "braket", "ketbra",
               "not", "%", "&", "$", "{", "}", "#", "_", ",", ";", ":", " ", "!"}  # commands, or handled elsewhere


def _fixed_text_macros():
    """pylatexenc macro -> (its text, its category), for macros without arguments printing fixed text."""
    texts, walker = get_default_latex_context_db(), latexwalker.get_default_latex_context_db()
    out = {}
    for category in texts.categories():
        for spec in texts.iter_macro_specs(categories=[category]):
            parsed = walker.get_macro_spec(spec.macroname)
            takes_args = parsed is not None and bool(getattr(parsed.args_parser, "argspec", ""))
            if isinstance(spec.simplify_repl, str) and "%" not in spec.simplify_repl and not takes_args:
                out[spec.macroname] = (spec.simplify_repl, category)
    return out


def _kb_text(name):
    return decode_latex("\\" + name + "{}")


def test_symbols_both_tables_know_print_the_same():
    kb = dict(latex.SYMBOLS) | latex._LETTERS
    differ = {name: (kb[name], text) for name, (text, _) in _fixed_text_macros().items()
              if name in kb and kb[name] != text and name not in KB_CHOOSES}
    assert differ == {}


def test_kb_knows_the_symbols_that_occur_in_bibliographies():
    macros = _fixed_text_macros()
    wanted = {name for name, (_, category) in macros.items()
              if (category in BIBLIOGRAPHY_CATEGORIES or name.startswith("text")) and name not in NOT_SYMBOLS}
    known = set(latex.SYMBOLS) | set(latex._LETTERS) | set(latex._MATH_FUNCTIONS) | set(latex._ACCENT_MARKS)
    assert sorted(wanted - known) == []
    assert len(known) >= 450  # 316 names (242 symbols) before the comparison, 483 after


@pytest.mark.parametrize("source, expected", [
    (r"Prevalence \textonesuperior{} in \textyen", "Prevalence ¹ in ¥"),
    (r"effect $d \lesssim 0.2$ and $p \leqq 0.05$", "effect d ≲0.2 and p ≦0.05"),
    (r"\Alpha-synuclein", "Α-synuclein"),
    (r"\textohm{} and \textmu{}m", "\u2126 and µm"),
])
def test_added_symbols_decode_in_context(source, expected):
    assert decode_latex(source) == expected
