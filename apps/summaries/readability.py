"""LIX (läsbarhetsindex, Björnsson 1968): the readability measure used for Norwegian and Swedish text.

    LIX = words / sentences + 100 * long words / words      (a long word has more than six letters)

Below 25 is very easy (children's books), 25-34 easy, 35-44 medium (newspapers), 45-54 difficult
(official texts), 55 and above very difficult (specialist literature). Plain-language summaries
for users and relatives should aim below 40.
"""

import re

# A word: letters (Norwegian æ, ø, å included), optionally joined by hyphens or apostrophes
# ("ROP-lidelser" is one word). Numbers are not words.
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# A sentence ends at . ! ? or : followed by white space or the end, or at a line break (list items,
# headings and paragraphs without a full stop still end a sentence).
_SENTENCE_END = re.compile(r"[.!?:]+(?=\s|$)|\n")

LEVELS = [(25, "very_easy"), (35, "easy"), (45, "medium"), (55, "difficult")]


def lix(text: str) -> float | None:
    """The LIX score of ``text``, rounded to one decimal; None when the text has no words."""
    words = sentences = long_words = 0
    for segment in _SENTENCE_END.split(text or ""):
        found = _WORD.findall(segment)
        if not found:
            continue
        sentences += 1
        words += len(found)
        long_words += sum(1 for w in found if sum(c.isalpha() for c in w) > 6)
    if not words:
        return None
    return round(words / sentences + 100 * long_words / words, 1)


def level(score: float | None) -> str | None:
    if score is None:
        return None
    for limit, name in LEVELS:
        if score < limit:
            return name
    return "very_difficult"
