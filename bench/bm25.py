"""A textbook BM25 over title + abstract: the reference row of bench/search_quality.py.

Okapi BM25 with Anserini's BEIR settings (k1 = 0.9, b = 0.4), one field (title and abstract joined),
lower-cased words, Lucene's English stop words, Snowball English stems; every document that shares
a word with the query is ranked. It runs in the benchmark's own process on the same corpus and
queries, so kb's rows are compared against it in the same run (not against a number from a paper).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import snowballstemmer

STOP = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with""".split())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_stem = snowballstemmer.stemmer("english").stemWord


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall((text or "").lower()) if w not in STOP]


class BM25:
    def __init__(self, docs: dict[str, str], k1: float = 0.9, b: float = 0.4):
        self.k1, self.b = k1, b
        self.postings = defaultdict(list)  # term -> [(doc, tf)]
        self.length = {}
        for doc_id, text in docs.items():
            counts = Counter(tokens(text))
            self.length[doc_id] = sum(counts.values())
            for term, tf in counts.items():
                self.postings[term].append((doc_id, tf))
        self.n = len(docs)
        self.avg = sum(self.length.values()) / max(self.n, 1)

    def search(self, query: str, k: int = 100) -> list[str]:
        scores = defaultdict(float)
        for term in set(tokens(query)):
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (self.n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc_id, tf in posting:
                norm = self.k1 * (1 - self.b + self.b * self.length[doc_id] / self.avg)
                scores[doc_id] += idf * tf * (self.k1 + 1) / (tf + norm)
        return [d for d, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]
