"""Small model factories for tests: real rows, sensible defaults, override anything."""

import itertools

from rest_framework.authtoken.models import Token

from apps.accounts.services import save_user
from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Study, Venue
from apps.summaries.models import Summary
from apps.topics.models import Topic

_seq = itertools.count(1)


def user(role="reader", **kw):
    n = next(_seq)
    data = {"username": kw.pop("username", f"{role}{n}"), "is_curator": role in ("curator", "admin"),
            "is_superuser": role == "admin", "password": "a-Long-pass-phrase-9"}
    data.update(kw)
    u = save_user(None, data)
    Token.objects.get_or_create(user=u)
    return u


def topic(**kw):
    n = next(_seq)
    defaults = {"slug": f"topic-{n}", "label_nb": f"Tema {n}", "label_en": f"Topic {n}"}
    defaults.update(kw)
    return Topic.objects.create(**defaults)


def venue(**kw):
    n = next(_seq)
    defaults = {"name": f"Journal of Studies {n}"}
    defaults.update(kw)
    return Venue.objects.create(**defaults)


def study(authors=("Ødegård, Kari", "Smith, John"), topics=(), status="published", **kw):
    n = next(_seq)
    defaults = {"title": f"Integrated treatment study {n}", "abstract": "An abstract.", "year": 2015,
                "language": "en", "status": status, "study_type": "article", "design": "cohort"}
    defaults.update(kw)
    s = Study.objects.create(**defaults)
    for position, name in enumerate(authors, start=1):
        researcher = None
        if isinstance(name, Researcher):
            researcher, name = name, f"{name.family_name}, {name.given_name}"
        Authorship.objects.create(study=s, position=position, name=name, researcher=researcher)
    if topics:
        s.topics.set(topics)
    return s


def institution(**kw):
    n = next(_seq)
    defaults = {"name_nb": f"Institusjon {n}", "name_en": f"Institution {n}", "short_name": f"I{n}"}
    defaults.update(kw)
    return Institution.objects.create(**defaults)


def researcher(institution=None, **kw):
    n = next(_seq)
    defaults = {"given_name": f"Kari{n}", "family_name": f"Nordmann{n}", "email": f"r{n}@example.org"}
    defaults.update(kw)
    r = Researcher.objects.create(**defaults)
    if institution is not None:
        Affiliation.objects.create(researcher=r, institution=institution)
    return r


def summary(studies=(), status="published", **kw):
    defaults = {"audience": "practitioners", "language": "nb", "title": "Kort fortalt", "body": "Tekst.",
                "status": status}
    defaults.update(kw)
    s = Summary.objects.create(**defaults)
    s.studies.set(studies)
    return s


def import_file(data, user=None, name="refs.bib", run=True, **options):
    """A BibTeX import job for ``data`` (bytes or str), run synchronously unless ``run`` is false."""
    import io

    from apps.imports import services

    raw = data.encode("utf-8") if isinstance(data, str) else data
    f = io.BytesIO(raw)
    f.name = name
    job = services.create_job(user, f, file_name=name, enqueue=False, **options)
    return services.run_job(job.pk) if run else job


def outcome_indexes(job) -> list[int]:
    """The entry indexes a job has outcomes for, in order (each entry exactly once: 0..n-1)."""
    from apps.imports.models import ImportOutcome

    return list(ImportOutcome.objects.filter(job=job).order_by("index").values_list("index", flat=True))


def refuse_to_store(monkeypatch, key: str):
    """Make writing any group of new studies that holds entry ``key`` fail (as a database would refuse a
    row): the chunk is then written entry by entry and only that entry fails."""
    from apps.imports.write import Writer

    real = Writer.write_creates

    def refuse(self, decisions):
        if any(d.key == key for d in decisions):
            raise ValueError(f"cannot store {key}")
        return real(self, decisions)

    monkeypatch.setattr(Writer, "write_creates", refuse)
