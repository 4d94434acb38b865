"""Benchmark: biblio reader vs bibtexparser 2 (default middleware stack).

    .venv/bin/python bench/bibtex_reader.py [--entries 50000] [--repeat 3] [--no-memory]

For each file in /work/shared/bib and a generated file of realistic entries (LaTeX
accents, Nordic names, macros, month macros, DOIs, abstracts) it prints entries/s of
``read_bibtex`` (decode + scan + macros + crossrefs + LaTeX + names + normalization, no
database) and of ``bibtexparser.parse_string(text)`` on the same text, and their ratio.
It also reports the peak traced memory of the streaming reader for two file sizes.
"""
from __future__ import annotations

import argparse
import gc
import glob
import os
import random
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import bibtexparser  # noqa: E402

from biblio import iter_bibtex, latex, names, read_bibtex  # noqa: E402

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")

GIVEN = ["Kari Marie", "Ole", "Ingrid", "Per Arne", "Bj{\\o}rn", "S{\\o}lvi", "J{\\o}rgen", "{\\AA}se",
         "Hans Petter", "Astrid", "Kjell", "Marit", "Jos{\\'e}", "Fran{\\c{c}}ois", "J{\\\"u}rgen",
         "Anna", "Mikael", "Helle", "Lars", "Siri", "John", "Mary", "David", "Sarah"]
FAMILY = ["{\\O}deg{\\aa}rd", "Tenn{\\o}y", "{\\O}ie", "Haugland", "Bramness", "Lid", "Andersen",
          "Nesvåg", "Brekke", "M{\\\"u}ller", "Garc{\\'\\i}a", "van der Berg", "Str{\\o}m", "Dahl",
          "Kristiansen", "Smith", "Johnson", "O'Brien", "Nordfj{\\ae}rn", "L{\\o}berg", "Skj{\\ae}rv{\\o}"]
TITLE_WORDS = ["substance", "use", "disorder", "mental", "health", "{HIV}", "co-occurring",
               "treatment", "outcomes", "in", "Norway", "a", "randomized", "trial", "of",
               "integrated", "care", "for", "patients", "with", "{ADHD}", "and", "alcohol",
               "opioid", "dependence", "psychosis", "--", "cohort", "study", "{\\O}stfold",
               "mortality", "$\\geq$65", "years", "rusbruk", "og", "psykisk", "lidelse",
               "p{\\aa}", "behandling", "\\emph{in vivo}", "{\\'e}valuation", "r{\\o}yking"]
JOURNALS = ["jnord", "addict", "{Tidsskrift for Den norske legeforening}", "{Nordic Studies on Alcohol and Drugs}",
            "{BMC Psychiatry}", "{Drug and Alcohol Dependence}", "{The Lancet Psychiatry}"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
ABSTRACT_WORDS = ("background patients with substance use disorders and mental illness were included "
                  "in a cohort study results showed that integrated treatment improved outcomes "
                  "methods we used registry data from Norway conclusions the findings suggest 95% CI "
                  "odds ratio follow-up of 12 months").split()
LANGS = ["english", "norwegian", "nynorsk", "swedish", "danish"]


def _name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return f"{rng.choice(FAMILY)}, {rng.choice(GIVEN)}"
    if r < 0.95:
        return f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
    return "{Nasjonal kompetansetjeneste for samtidig rusmisbruk og psykisk lidelse}"


def _title(rng: random.Random, n: int) -> str:
    words = [rng.choice(TITLE_WORDS) for _ in range(n)]
    words[0] = words[0].capitalize() if words[0][0].isalpha() else words[0]
    return " ".join(words)


def generate(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    out = ["% Encoding: UTF-8\n",
           '@string{jnord = "Nordic Journal of Psychiatry"}\n',
           '@string{addict = {Addiction}}\n\n']
    for i in range(n):
        kind = rng.random()
        authors = " and ".join(_name(rng) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.05:
            authors += " and others"
        year = rng.randint(1975, 2024)
        key = f"entry{i}"
        abstract = ""
        if rng.random() < 0.4:  # plain prose, as abstracts from databases are
            abstract = " ".join(rng.choice(ABSTRACT_WORDS) for _ in range(rng.randint(60, 160))) + "."
        if kind < 0.65:
            j = rng.choice(JOURNALS)
            out.append(
                f"@article{{{key},\n"
                f"  author    = {{{authors}}},\n"
                f"  title     = {{{_title(rng, rng.randint(6, 16))}}},\n"
                f"  journal   = {j},\n"
                f"  year      = {year},\n"
                f"  month     = {rng.choice(MONTHS)},\n"
                f"  volume    = {{{rng.randint(1, 120)}}},\n"
                f"  number    = {{{rng.randint(1, 12)}}},\n"
                f"  pages     = {{{(p := rng.randint(1, 900))}--{p + rng.randint(3, 20)}}},\n"
                f"  doi       = {{10.{rng.randint(1000, 9999)}/j.{rng.randint(1, 10**6)}.{year}}},\n"
                f"  pmid      = {{{rng.randint(10**6, 4 * 10**7)}}},\n"
                f"  issn      = {{0029-2001}},\n"
                f"  keywords  = {{comorbidity; substance use, mental health}},\n"
                f"  langid    = {{{rng.choice(LANGS)}}},\n"
                + (f"  abstract  = {{{abstract}}},\n" if abstract else "")
                + "}\n\n")
        elif kind < 0.8:
            out.append(
                f"@incollection{{{key},\n"
                f"  author    = {{{authors}}},\n"
                f"  editor    = {{{_name(rng)} and {_name(rng)}}},\n"
                f"  title     = {{{_title(rng, 8)}}},\n"
                f"  booktitle = {{{_title(rng, 6)}}},\n"
                f"  publisher = {{Universitetsforlaget}},\n"
                f"  address   = {{Oslo}},\n"
                f"  year      = {{{year}}},\n"
                f"  pages     = {{{rng.randint(1, 300)}--{rng.randint(301, 400)}}},\n"
                f"  isbn      = {{0-306-40615-2}},\n"
                f"}}\n\n")
        elif kind < 0.9:
            out.append(
                f"@techreport{{{key},\n"
                f"  author      = {{{authors}}},\n"
                f"  title       = {{{_title(rng, 10)}}},\n"
                f"  institution = {{Helsedirektoratet}},\n"
                f"  date        = {{{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}}},\n"
                f"  number      = {{IS-{rng.randint(1000, 3000)}}},\n"
                f"  url         = {{https://www.helsedirektoratet.no/rapporter/{key}}},\n"
                f"  langid      = {{norsk}},\n"
                f"}}\n\n")
        else:
            out.append(
                f"@online{{{key},\n"
                f"  author  = {{{authors}}},\n"
                f"  title   = {{{_title(rng, 7)}}},\n"
                f"  url     = {{https://rus-psyk.no/{key}}},\n"
                f"  urldate = {{2024-01-{rng.randint(10, 28)}}},\n"
                f"  year    = {year},\n"
                f"}}\n\n")
    return "".join(out)


def _clear_caches() -> None:
    latex._cache.clear()
    latex._accent_cache.clear()
    names._cache.clear()


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        _clear_caches()
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_file(label: str, data: bytes, text: str, repeat: int) -> tuple[int, float, float]:
    result = read_bibtex(data)
    n = len(result.entries)
    ours = _best(lambda: read_bibtex(data), repeat)
    theirs = _best(lambda: bibtexparser.parse_string(text), repeat)
    ratio = (n / ours) / (n / theirs) if n else 0.0
    print(f"{label:34s} {n:7d} {n / ours:12,.0f} {n / theirs:14,.0f} {ratio:7.2f}")
    return n, ours, theirs


def _memory(path: str) -> int:
    tracemalloc.start()
    count = 0
    for chunk in iter_bibtex(path, chunk_entries=1000):
        count += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()

    print(f"{'file':34s} {'entries':>7s} {'ours/s':>12s} {'bibtexparser/s':>14s} {'ratio':>7s}")
    for path in sorted(glob.glob(os.path.join(SHARED, "*.bib"))):
        data = open(path, "rb").read()
        text = read_bibtex(data)  # for the encoding only
        try:
            decoded = data.decode(text.encoding if text.encoding not in ("str",) else "utf-8")
        except (UnicodeDecodeError, LookupError):
            decoded = data.decode("utf-8", "replace")
        decoded = decoded.lstrip("\ufeff")
        bench_file(os.path.basename(path), data, decoded, args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        text = generate(args.entries)
        path = os.path.join(tmp, "generated.bib")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        data = text.encode("utf-8")
        print(f"generated file: {len(data) / 1e6:.1f} MB")
        n, ours, theirs = bench_file(f"generated ({args.entries} entries)", data, text, max(1, args.repeat - 1))
        _clear_caches()
        t = time.perf_counter()
        count = sum(len(c) for c in iter_bibtex(path))
        st = time.perf_counter() - t
        print(f"{'  streaming iter_bibtex(path)':34s} {count:7d} {count / st:12,.0f}")

        if not args.no_memory:
            small = os.path.join(tmp, "small.bib")
            with open(small, "w", encoding="utf-8") as f:
                f.write(generate(args.entries // 5, seed=2))
            p_small = _memory(small)
            p_big = _memory(path)
            print(f"streaming peak traced memory: {args.entries // 5} entries {p_small / 1e6:.1f} MB, "
                  f"{args.entries} entries {p_big / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
