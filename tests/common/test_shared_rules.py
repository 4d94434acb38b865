"""Rules that live once in apps.common and are used by several apps: they must hold for every user."""
import gc
import threading
import time

import pytest

from apps.common import collector
from apps.common.readahead import ReadAhead
from apps.common.text import FOLDED_LETTERS
from apps.studies.keys import fold as key_fold
from biblio.normalize import ascii_fold
from search.analysis import fold as search_fold


def test_duplicate_keys_the_bibtex_codecs_and_search_fold_every_letter_alike():
    """Three tables disagreed: the codecs dropped Ŋ, the database search kept ŋ."""
    letters = "".join(chr(c) for c in FOLDED_LETTERS) + "éèüöäñçšžčő"
    for letter in letters:
        expected = ascii_fold(letter).lower()
        assert expected and expected.isascii(), letter
        assert key_fold(letter) == search_fold(letter.lower()) == expected, letter
    assert key_fold("Skjærvø Ŋaŋ") == "skjaervo ngang"


def test_two_threads_pausing_the_collector_keep_it_off_until_both_are_done():
    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collector.paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(5)
    with collector.paused():
        second_in.set()
        first_out.wait(5)
        seen["after the first left"] = gc.isenabled()
    t.join()
    assert seen["after the first left"] is False
    assert gc.isenabled()


def test_reader_chunks_are_built_with_the_collector_off_and_handed_over_with_it_on():
    """Both readers (BibTeX, RIS/MEDLINE) chunk their entries through collector.chunks."""
    during = []

    def items():
        for i in range(5):
            during.append(gc.isenabled())
            yield i

    held = []
    for chunk in collector.chunks(items(), 2):
        held.append((chunk, gc.isenabled()))
    assert held == [([0, 1], True), ([2, 3], True), ([4], True)]
    assert during == [False] * 5
    assert gc.isenabled()

    stream = collector.chunks(items(), 2)
    next(stream)
    stream.close()  # a caller that stops early (an error, a cancelled job) leaves the collector on
    assert gc.isenabled()


def test_a_web_process_settles_after_start_up_and_a_long_job_keeps_it_settled():
    """The collector's full passes stop scanning start-up objects (kb/wsgi.py), also after an import."""
    import importlib
    import sys

    threshold = gc.get_threshold()
    try:
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        sys.modules.pop("kb.wsgi", None)
        wsgi = importlib.import_module("kb.wsgi")
        assert callable(wsgi.application)
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        with collector.tuned():  # an import job in the same process: freezes more, and unfreezes at its end
            assert gc.get_threshold()[0] >= 50_000
        assert gc.get_threshold() == threshold
        assert gc.get_freeze_count() >= frozen * 0.9
    finally:
        collector._settled = False
        gc.unfreeze()


def _alive(name):
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def test_read_ahead_stops_its_thread_when_the_consumer_gives_up():
    closed = threading.Event()
    ahead = ReadAhead(range(1000), lambda i: i * 2, depth=2, name="test-read-ahead", on_exit=closed.set)
    iterator = iter(ahead)
    assert next(iterator) == 0
    iterator.close()  # the consumer failed (e.g. Elasticsearch refused a bulk request)
    assert closed.is_set() and not _alive("test-read-ahead")


def test_read_ahead_hands_the_thread_error_to_the_consumer():
    def work(i):
        if i == 3:
            raise ValueError("bad batch")
        return i

    with pytest.raises(ValueError, match="bad batch"):
        list(ReadAhead(range(10), work, name="test-read-ahead-error"))
    assert not _alive("test-read-ahead-error")


@pytest.mark.django_db(transaction=True)
def test_a_failed_elasticsearch_rebuild_leaves_no_indexing_thread_behind(monkeypatch):
    """The rebuild reads documents one batch ahead; when sending fails the generator is closed, and
    its thread (with its database connection) must end, not wait forever on a full queue."""
    from search import sources
    from search.backends.elasticsearch import _built
    from tests import factories

    for i in range(8):
        factories.study(title=f"Study {i}")
    monkeypatch.setattr(sources, "ID_PAGE", 1)
    docs = _built("studies")
    next(docs)
    docs.close()
    deadline = time.monotonic() + 5
    while _alive("kb-index-studies") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive("kb-index-studies")
