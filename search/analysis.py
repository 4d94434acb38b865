"""Text analysis in Python for the database backend (and for spelling suggestions).

The same idea as the Elasticsearch analyzers (docs/search.md): lower-case, Norwegian and English
stop words removed, every word indexed as itself, ASCII-folded (``pasientforløp`` ->
``pasientforlop``), and stemmed with the Snowball Norwegian and English stemmers. A query word
matches a document word when any of their forms meet, so ``ruslidelser`` finds ``ruslidelse`` and
``treatments`` finds ``treatment`` whatever the language of the study.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from apps.common.text import strip_accents

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Lucene's default English stop set and a short Norwegian one (function words only, so that
# domain words such as "rus" or "behandling" stay searchable).
STOP_WORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then there these
they this to was will with
og i jeg det at en et den til er som på de med han av ikke der så var meg seg men ett har om vi min mitt
ha hadde hun nå over da ved fra du ut sin dem oss opp man kan hans hvor eller hva skal selv sjøl her alle
vil bli ble blei blitt kunne inn når være kom noen noe ville dere deres kun ja etter ned skulle denne for
deg si sine sitt mot å meget hvorfor dette disse uten hvordan ingen din ditt blir samme hvilken hvilke
sånn inni mellom vår hver hvem vors hvis både bare enn fordi før mange også slik vært båe begge siden
dykk dykkar dei deira deires deim di då eg ein eit eitt elles honom hjå ho hoe henne hennar hennes hoss
hossen ingi inkje korleis korso kva kvar kvarhelst kven kvi kvifor me medan mi mine mykje no nokon noka
nokor noko nokre sia sidan so somt somme um upp vere vore verte vort varte vart
""".split())

# Names are often typed with Scandinavian letters simplified: Sæther as Sather, Bråten as Braten.
_SCANDINAVIAN = str.maketrans({"æ": "a", "ø": "o", "å": "a", "ä": "a", "ö": "o"})

_no = snowballstemmer.stemmer("norwegian")
_en = snowballstemmer.stemmer("english")


def fold(word: str) -> str:
    """ASCII-fold a lower-case word: æ->ae, ø->o, å->a, é->e, ..."""
    return strip_accents(word)


@lru_cache(maxsize=200_000)
def forms(word: str) -> tuple[str, ...]:
    """Every form a lower-case word is indexed and searched under (itself first)."""
    folded = fold(word)
    out = [word]
    simplified = fold(word.translate(_SCANDINAVIAN))
    for form in (folded, simplified, "~" + _no.stemWord(word), "~" + _en.stemWord(word), "~" + _no.stemWord(folded)):
        if form not in out:
            out.append(form)
    return tuple(out)


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall((text or "").lower()) if w not in STOP_WORDS]


def index_tokens(text: str) -> str:
    """The token string stored for a field: each word with all its forms (stems marked with ``~``)."""
    out = []
    for w in words(text):
        out.extend(forms(w))
    return " ".join(_token(t) for t in out)


def exact_tokens(text: str) -> str:
    """Words in order, lower-case and folded (no stemming, stop words kept): for phrases."""
    return " ".join(fold(w) for w in _WORD.findall((text or "").lower()))


def _token(form: str) -> str:
    # FTS5 and tsvector split on non-word characters, so a stem is spelled "0<stem>" (one token)
    return "0" + form[1:] if form.startswith("~") else form


def query_forms(word: str) -> list[str]:
    """Tokens to look a query word up under (any of them may match)."""
    word = word.lower()
    if word in STOP_WORDS:
        return []
    return [_token(f) for f in forms(word)]
