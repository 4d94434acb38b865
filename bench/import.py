"""Benchmark: end-to-end BibTeX import into PostgreSQL against a database already holding 100k studies.

    .venv/bin/python bench/import.py [--existing 100000] [--entries 50000] [--json out.json]

Creates its own PostgreSQL database (``test_kb_bench_import`` through Django's test-database
utilities, from ``BENCH_DATABASE_URL``, default postgres://kb:kb@127.0.0.1:5432/kb_bench_import),
migrates it, fills it with ``--existing`` studies (with authors, DOIs, venues), and drops it at the end.

For each file in /work/shared/bib and a generated file of ``--entries`` realistic entries (Nordic
names in LaTeX, accents, @string macros, DOIs, abstracts; 5% repeat an existing study's DOI, 3% are
near-duplicates of existing studies, 2% repeat an earlier entry of the file) it measures the whole
import path exactly as the API and the worker run it (``services.create_job`` + ``services.run_job``:
store the file, read, decode, normalize, deduplicate against the database, link authors, write
studies/authors/outcomes/outbox/audit rows in chunks), and on the same text
``bibtexparser.parse_string`` (its default parse stack, no database) for orientation. A fifth of the
generated entries, written as RIS (kb's RIS writer), are imported too, with ``rispy.loads`` as their
bare-parse baseline.

Memory: the peak resident set size above the baseline while importing files of two sizes (it should
stay flat as files grow). The search outbox is written as usual; draining it (indexing) is a
worker's job after commit and is not part of the measurement.
"""
from __future__ import annotations

import argparse
import glob
import io
import json
import os
import random
import shutil
import sys
import threading
import time

import bibtexparser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")

SYLLABLES = ["an", "ber", "bra", "dahl", "ek", "fjell", "gaard", "ha", "holm", "hus", "ing", "jo", "kar", "kvist",
             "lan", "li", "lund", "mo", "nes", "nor", "ol", "rud", "sand", "sen", "stad", "strand", "sve", "ta",
             "ting", "to", "vik", "vold", "we", "ås", "øy", "dal", "bak", "haug", "berg", "by"]
NORDIC = ["{\\O}deg{\\aa}rd", "Tenn{\\o}y", "{\\O}ie", "Skj{\\ae}rv{\\o}", "Nordfj{\\ae}rn", "L{\\o}berg",
          "M{\\\"u}ller", "Garc{\\'\\i}a", "van der Berg", "O'Brien", "Bram{\\ae}ss", "Str{\\o}m"]
GIVEN = ["Kari Marie", "Ole", "Ingrid", "Per Arne", "Bj{\\o}rn", "S{\\o}lvi", "J{\\o}rgen", "{\\AA}se", "Hans Petter",
         "Astrid", "Kjell", "Marit", "Jos{\\'e}", "Fran{\\c{c}}ois", "Anna", "Mikael", "Helle", "Lars", "Siri", "John",
         "Mary", "David", "Sarah", "Tone", "Eirik", "Randi", "Geir", "Liv", "Trond", "Hege"]
WORDS = ("substance use disorder mental health co-occurring treatment outcomes randomized trial integrated care "
         "patients alcohol opioid dependence psychosis cohort study mortality adolescents housing first assertive "
         "community employment recovery stigma depression anxiety schizophrenia bipolar cannabis amphetamine "
         "methadone buprenorphine naloxone overdose prevention screening primary emergency psychiatric inpatient "
         "outpatient follow-up registry Norway Sweden Denmark Finland systematic review meta-analysis qualitative "
         "interviews clinicians families peer support homelessness prison release trauma violence suicide risk "
         "gender differences young adults elderly municipal services coordination pathways rusbruk psykisk "
         "lidelse behandling tjenester pasientforløp samhandling").split()
ABSTRACT = ("background patients with substance use disorders and mental illness were included in a cohort study "
            "results showed that integrated treatment improved outcomes methods we used registry data from Norway "
            "conclusions the findings suggest odds ratio follow-up of 12 months").split()
JOURNALS = ["jnord", "addict", "{Tidsskrift for Den norske legeforening}", "{Nordic Studies on Alcohol and Drugs}",
            "{BMC Psychiatry}", "{Drug and Alcohol Dependence}", "{The Lancet Psychiatry}", "{Psychiatric Services}",
            "{Journal of Substance Abuse Treatment}", "{Scandinavian Journal of Public Health}"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
LANGS = ["english", "norwegian", "nynorsk", "swedish", "danish"]


def family(rng):
    if rng.random() < 0.1:
        return rng.choice(NORDIC)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def title(rng, n):
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize()


def plain(text):
    """The LaTeX of the generator decoded the cheap way (for the database rows)."""
    for a, b in (("{\\O}", "Ø"), ("{\\o}", "ø"), ("{\\aa}", "å"), ("{\\AA}", "Å"), ("{\\ae}", "æ"),
                 ("{\\\"u}", "ü"), ("{\\'\\i}", "í"), ("{\\'e}", "é"), ("{\\c{c}}", "ç")):
        text = text.replace(a, b)
    return text


def existing_rows(n, seed=7):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        authors = [(family(rng), rng.choice(GIVEN)) for _ in range(rng.randint(1, 5))]
        rows.append({"title": title(rng, rng.randint(6, 14)), "year": rng.randint(1975, 2024),
                     "doi": f"10.{rng.randint(1000, 9999)}/kb.{i}", "authors": authors,
                     "volume": str(rng.randint(1, 120)), "pages": f"{rng.randint(1, 900)}–{rng.randint(901, 999)}"})
    return rows


def seed_database(n):
    from apps.studies.models import Authorship, Study, Venue

    venues = [Venue.objects.create(name=plain(j.strip("{}"))) for j in JOURNALS if j.startswith("{")]
    rows = existing_rows(n)
    batch = 5000
    for start in range(0, n, batch):
        part = rows[start:start + batch]
        studies = Study.objects.bulk_create([
            Study(title=r["title"], year=r["year"], doi=r["doi"], volume=r["volume"], pages=r["pages"],
                  venue=venues[i % len(venues)], status="published", provenance="fixture",
                  abstract=" ".join(ABSTRACT[:30]))
            for i, r in enumerate(part)], batch_size=batch)
        Authorship.objects.bulk_create([
            Authorship(study=s, position=p, name=f"{plain(f)}, {plain(g)}", family_name=plain(f), given_name=plain(g))
            for s, r in zip(studies, part) for p, (f, g) in enumerate(r["authors"], start=1)], batch_size=batch)
    return rows


def generate(n, existing, seed=1):
    """A file of ``n`` entries; some repeat existing studies or earlier entries (see the module doc)."""
    rng = random.Random(seed)
    out = ["% Encoding: UTF-8\n", '@string{jnord = "Nordic Journal of Psychiatry"}\n',
           '@string{addict = {Addiction}}\n\n']
    earlier = []
    for i in range(n):
        r = rng.random()
        key = f"entry{i}"
        if r < 0.05 and existing:  # an existing study again, by DOI
            e = rng.choice(existing)
            authors = " and ".join(f"{f}, {g}" for f, g in e["authors"])
            out.append(f"@article{{{key},\n  author = {{{authors}}},\n  title = {{{e['title']}}},\n"
                       f"  year = {{{e['year']}}},\n  doi = {{{e['doi'].upper()}}},\n  abstract = {{New abstract.}},\n}}\n\n")
            continue
        if r < 0.08 and existing:  # a near-duplicate: the title with a typo, same first author and year
            e = rng.choice(existing)
            t = e["title"]
            pos = rng.randrange(len(t))
            t = t[:pos] + t[pos + 1:]
            authors = " and ".join(f"{f}, {g}" for f, g in e["authors"])
            out.append(f"@article{{{key},\n  author = {{{authors}}},\n  title = {{{t}}},\n"
                       f"  year = {{{e['year']}}},\n  volume = {{{e['volume']}}},\n}}\n\n")
            continue
        if r < 0.10 and earlier:  # an earlier entry of this file again
            out.append(rng.choice(earlier).replace("@article{entry", "@article{again"))
            continue
        authors = " and ".join(f"{family(rng)}, {rng.choice(GIVEN)}" for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.05:
            authors += " and others"
        year = rng.randint(1975, 2024)
        abstract = ""
        if rng.random() < 0.4:
            abstract = " ".join(rng.choice(ABSTRACT) for _ in range(rng.randint(60, 160))) + "."
        kind = rng.random()
        if kind < 0.7:
            text = (f"@article{{{key},\n  author    = {{{authors}}},\n"
                    f"  title     = {{{title(rng, rng.randint(6, 16))}}},\n  journal   = {rng.choice(JOURNALS)},\n"
                    f"  year      = {year},\n  month     = {rng.choice(MONTHS)},\n"
                    f"  volume    = {{{rng.randint(1, 120)}}},\n  number    = {{{rng.randint(1, 12)}}},\n"
                    f"  pages     = {{{(p := rng.randint(1, 900))}--{p + rng.randint(3, 20)}}},\n"
                    f"  doi       = {{10.{rng.randint(1000, 9999)}/gen.{i}}},\n"
                    f"  pmid      = {{{10**7 + i}}},\n  keywords  = {{comorbidity; substance use, mental health}},\n"
                    f"  langid    = {{{rng.choice(LANGS)}}},\n"
                    + (f"  abstract  = {{{abstract}}},\n" if abstract else "") + "}\n\n")
        elif kind < 0.85:
            text = (f"@incollection{{{key},\n  author    = {{{authors}}},\n"
                    f"  editor    = {{{family(rng)}, {rng.choice(GIVEN)} and {family(rng)}, {rng.choice(GIVEN)}}},\n"
                    f"  title     = {{{title(rng, 8)}}},\n  booktitle = {{{title(rng, 6)}}},\n"
                    f"  publisher = {{Universitetsforlaget}},\n  address   = {{Oslo}},\n  year      = {{{year}}},\n"
                    f"  pages     = {{{rng.randint(1, 300)}--{rng.randint(301, 400)}}},\n}}\n\n")
        else:
            text = (f"@techreport{{{key},\n  author      = {{{authors}}},\n  title       = {{{title(rng, 10)}}},\n"
                    f"  institution = {{Helsedirektoratet}},\n"
                    f"  date        = {{{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}}},\n"
                    f"  number      = {{IS-{rng.randint(1000, 3000)}}},\n"
                    f"  url         = {{https://www.helsedirektoratet.no/rapporter/{key}}},\n  langid = {{norsk}},\n}}\n\n")
        out.append(text)
        if text.startswith("@article") and len(earlier) < 1000:
            earlier.append(text)
    return "".join(out)


class PeakRSS:
    """The largest resident set size seen while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        self.base = self.peak = self.rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @staticmethod
    def rss():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    @staticmethod
    def children_rss():
        """Resident set size of this process's children (the reader process of a large import)."""
        total, pids = 0, []
        for task in glob.glob("/proc/self/task/*/children"):  # the reader is started by a worker thread
            try:
                with open(task) as f:
                    pids += f.read().split()
            except OSError:
                pass
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def _sample(self):
        self.child_peak = 0
        while self.running:
            self.peak = max(self.peak, self.rss())
            self.child_peak = max(self.child_peak, self.children_rss())
            time.sleep(0.02)

    @property
    def grew(self):
        return self.peak - self.base


def run_import(data: bytes, name: str):
    from apps.imports import services

    f = io.BytesIO(data)
    f.name = name
    started = time.perf_counter()
    job = services.create_job(None, f, file_name=name, enqueue=False)
    job = services.run_job(job.pk)
    return job, time.perf_counter() - started


def baseline(text: str) -> float:
    started = time.perf_counter()
    bibtexparser.parse_string(text)
    return time.perf_counter() - started


def rispy_baseline(text: str) -> float:
    import rispy

    started = time.perf_counter()
    rispy.loads(text)
    return time.perf_counter() - started


def generate_ris(n: int, existing) -> bytes:
    """``n`` generated entries (another seed: new studies) written as RIS by kb's own writer."""
    from biblio import read_bibtex, to_ris

    text = generate(n, existing, seed=4242).replace("@article{entry", "@article{ris")
    return to_ris([e for e in read_bibtex(text).entries if e.record is not None]).encode("utf-8")


def decoded(data: bytes) -> str:
    from biblio.encoding import decode_bytes

    return decode_bytes(data)[0]


def setup_django():
    """Django on the benchmark's server (``BENCH_DATABASE_URL``), without Elasticsearch. (The functions
    above are also used by bench/growth.py, which sets Django up itself.)"""
    os.environ["KB_ENV"] = "test"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL",
                                                "postgres://kb:kb@127.0.0.1:5432/kb_bench_import")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    os.environ.pop("ELASTICSEARCH_URL", None)
    import django

    django.setup()


def main():
    setup_django()
    from django.conf import settings
    from django.db import connection

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--existing", type=int, default=100_000)
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--memory-entries", type=int, nargs=2, default=[10_000, 50_000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--json", help="Also write the numbers to this file.")
    ap.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = ap.parse_args()

    import search.sync

    search.sync.schedule_drain = lambda: None  # indexing is the worker's job after commit
    settings.MEDIA_ROOT = os.path.join("/tmp", f"kb-bench-import-{os.getpid()}")
    creation = connection.creation
    original_name = connection.settings_dict["NAME"]
    db_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    results = {"existing": args.existing, "rows": []}
    try:
        print(f"database {db_name} on {connection.vendor}; seeding {args.existing:,} studies ...", flush=True)
        t = time.perf_counter()
        existing = seed_database(args.existing)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"seeded in {time.perf_counter() - t:.1f} s\n")
        header = (f"{'input':34s} {'entries':>8s} {'import s':>9s} {'import/s':>9s} {'bibtexparser/s':>15s} "
                  f"{'created':>8s} {'merged':>7s} {'dup':>5s} {'review':>6s} {'failed':>6s}")
        print(header)
        print("-" * len(header))

        def row(label, data, name=None, parse=None):
            job, seconds = run_import(data, name or label)
            n = sum(job.counts.values())
            base = (parse or baseline)(decoded(data))
            c = job.counts
            print(f"{label:34s} {n:8,d} {seconds:9.2f} {n / seconds:9,.0f} {n / base:15,.0f} {c['created']:8,d} "
                  f"{c['merged'] + c['skipped']:7,d} {c['duplicate']:5,d} {c['review']:6,d} {c['failed']:6,d}",
                  flush=True)
            results["rows"].append({"input": label, "entries": n, "seconds": round(seconds, 3),
                                    "entries_per_s": round(n / seconds), "bibtexparser_per_s": round(n / base),
                                    "counts": c, "status": job.status})
            return job

        shared_n = shared_s = 0.0
        for path in sorted(glob.glob(os.path.join(SHARED, "*.bib"))):
            with open(path, "rb") as f:
                data = f.read()
            job = row(os.path.basename(path), data)
            shared_n += sum(job.counts.values())
            shared_s += results["rows"][-1]["seconds"]
        print(f"{'all shared files':34s} {int(shared_n):8,d} {shared_s:9.2f} {shared_n / shared_s:9,.0f}")
        results["shared_total"] = {"entries": int(shared_n), "seconds": round(shared_s, 3),
                                   "entries_per_s": round(shared_n / shared_s)}

        text = generate(args.entries, existing)
        row(f"generated ({args.entries:,} entries)", text.encode("utf-8"))
        print(f"(generated file: {len(text.encode()) / 1e6:.1f} MB)")
        again = row("the same file again (all match)", text.encode("utf-8"))
        assert again.counts["created"] == 0, again.counts
        # the same kind of entries as RIS (new studies: other DOIs and titles), rispy's bare parse as the baseline
        ris = generate_ris(args.entries // 5, existing)
        row(f"generated RIS ({args.entries // 5:,} records)", ris, name="generated.ris", parse=rispy_baseline)
        print("(the bibtexparser/s column of the RIS row is rispy's bare parse)")

        print("\nmemory (peak RSS of the importer above its level before the job; peak RSS of the reader process):")
        mem = {}
        for i, n in enumerate(args.memory_entries):
            data = generate(n, [], seed=100 + i).replace("@article{entry", f"@article{{m{i}x").encode("utf-8")
            with PeakRSS() as peak:
                job, seconds = run_import(data, f"memory-{n}.bib")
            mem[n] = {"importer_growth": peak.grew, "reader_process_peak": peak.child_peak}
            print(f"  {n:8,d} entries ({len(data) / 1e6:5.1f} MB file): importer +{peak.grew / 1e6:5.1f} MB, "
                  f"reader process {peak.child_peak / 1e6:5.1f} MB ({sum(job.counts.values()) / seconds:,.0f} "
                  f"entries/s)")
        results["peak_rss_growth_bytes"] = mem
    finally:
        if not args.keep:
            creation.destroy_test_db(original_name, verbosity=0)
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
