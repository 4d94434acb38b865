"""The bilingual search vocabulary: seeding, query expansion across Norwegian and English, the admin."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from search import vocabulary
from search.models import VocabularyEntry
from search.vocabulary import Expansion, expansions, seed
from tests import factories

pytestmark = pytest.mark.django_db


def texts(words, **kw):
    return [e.text for e in expansions(words, **kw)]


@pytest.fixture
def seeded(db):
    seed()


def test_seed_adds_topic_and_glossary_pairs_and_is_idempotent():
    factories.topic(slug="coercion", label_nb="Tvangsmidler og skjerming", label_en="Coercive measures and seclusion")
    factories.topic(slug="cannabis-x", label_nb="Cannabis", label_en="Cannabis")  # same words: no pair
    added = seed()
    assert added > 300
    pairs = set(VocabularyEntry.objects.values_list("term_nb", "term_en", "source"))
    assert ("rusmisbruk", "substance abuse", "glossary") in pairs
    assert ("bolig først", "housing first", "curated") in pairs
    assert ("tvangsmidler og skjerming", "coercive measures and seclusion", "topic") in pairs
    assert ("tvangsmidler", "coercive measures", "topic") in pairs and ("skjerming", "seclusion", "topic") in pairs
    assert not VocabularyEntry.objects.filter(term_nb__iexact="cannabis", term_en__iexact="cannabis").exists()
    count = VocabularyEntry.objects.count()
    assert seed() == 0 and VocabularyEntry.objects.count() == count


def test_seed_keeps_curator_edits_and_retired_pairs():
    seed()
    edited = VocabularyEntry.objects.get(term_nb="avhengighet", term_en="dependence")
    edited.term_en = "drug dependence"
    edited.save()
    retired = VocabularyEntry.objects.get(term_nb="rus", term_en="substance use")
    retired.active = False
    retired.save()
    assert seed() == 0
    assert not VocabularyEntry.objects.filter(term_nb="avhengighet", term_en="dependence").exists()
    assert VocabularyEntry.objects.get(pk=edited.pk).term_en == "drug dependence"
    assert VocabularyEntry.objects.get(pk=retired.pk).active is False


def test_inflected_norwegian_word_expands_to_english(seeded):
    found = expansions(["ruslidelser"])
    assert Expansion(source=("ruslidelser",), text="substance use disorder", language="en") in found


def test_english_to_norwegian_and_back(seeded):
    assert Expansion(("harm", "reduction"), "skadereduksjon", "nb") in expansions(["harm", "reduction"])
    assert Expansion(("skadereduksjon",), "harm reduction", "en") in expansions(["skadereduksjon"])
    assert "bipolar lidelse" in texts(["bipolar", "disorders"])  # English inflection too
    assert "opioid maintenance treatment" in texts(["lar"])


def test_longest_match_wins(seeded):
    found = expansions(["housing", "first"])
    assert Expansion(("housing", "first"), "bolig først", "nb") in found
    assert "bolig" not in [e.text for e in found]  # "housing" is part of the longer term here
    assert "bolig" in texts(["housing"]) and "housing" in texts(["bolig"])
    assert "housing first" in texts(["bolig", "først"])


def test_stop_words_and_several_terms(seeded):
    found = expansions(["quality", "of", "life", "schizophrenia"])
    assert Expansion(("quality", "life"), "livskvalitet", "nb") in found
    assert Expansion(("schizophrenia",), "schizofreni", "nb") in found


def test_no_expansion_the_query_already_has(seeded):
    assert "psychosis" not in texts(["psykose", "psychosis"])
    assert "psykose" not in texts(["psykose", "psychosis"])
    assert texts(["the", "and"]) == [] and texts([]) == []


def test_exclude_drops_removed_expansions_in_any_case(seeded):
    assert "addiction" in texts(["avhengighet"])
    left = texts(["avhengighet"], exclude={"Addiction"})
    assert "addiction" not in left and "dependence" in left


def test_at_most_eight_expansions_the_longest_first():
    for i in range(12):
        VocabularyEntry.objects.create(term_nb=f"ord{i}", term_en=f"word{i}")
    VocabularyEntry.objects.create(term_nb="bolig først", term_en="housing first")
    found = expansions([f"ord{i}" for i in range(12)] + ["bolig", "først"])
    assert len(found) == vocabulary.MAX_EXPANSIONS and found[0].text == "housing first"
    assert len(expansions([f"ord{i}" for i in range(12)], limit=3)) == 3


def test_each_term_gets_a_turn_before_a_second_equivalent():
    for en in ("addiction", "dependence", "substance dependence"):
        VocabularyEntry.objects.create(term_nb="avhengighet", term_en=en)
    VocabularyEntry.objects.create(term_nb="angst", term_en="anxiety")
    assert texts(["avhengighet", "angst"], limit=2) == ["addiction", "anxiety"]


def test_inactive_pairs_are_ignored():
    VocabularyEntry.objects.create(term_nb="skadereduksjon", term_en="harm reduction", active=False)
    assert texts(["skadereduksjon"]) == []


def test_a_change_is_seen_by_the_next_expansion():
    entry = VocabularyEntry.objects.create(term_nb="skadereduksjon", term_en="harm reduction")
    assert texts(["skadereduksjon"]) == ["harm reduction"]
    entry.term_en = "harm minimisation"
    entry.save()
    assert texts(["skadereduksjon"]) == ["harm minimisation"]
    entry.delete()
    assert texts(["skadereduksjon"]) == []


def test_steady_state_needs_no_database_query(seeded, django_assert_num_queries):
    expansions(["ruslidelse"])
    with django_assert_num_queries(0):
        assert "substance use disorder" in texts(["ruslidelse"])


def test_other_processes_learn_of_a_change_through_the_cache(monkeypatch, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    with django_capture_on_commit_callbacks(execute=True):
        VocabularyEntry.objects.create(term_nb="skadereduksjon", term_en="harm reduction")
    first = cache.get(vocabulary.VERSION_KEY)
    assert first is not None and texts(["skadereduksjon"]) == ["harm reduction"]
    # another process writes: no signal reaches this one, only the version in the shared cache
    VocabularyEntry.objects.bulk_create([VocabularyEntry(term_nb="skadereduksjon", term_en="harm minimisation")])
    assert texts(["skadereduksjon"]) == ["harm reduction"]  # within RECHECK_SECONDS: the lookup in memory
    cache.set(vocabulary.VERSION_KEY, first + 1)
    monkeypatch.setattr(vocabulary, "RECHECK_SECONDS", 0)
    assert texts(["skadereduksjon"]) == ["harm reduction", "harm minimisation"]


def test_pairs_are_unique_in_any_case_and_must_differ():
    VocabularyEntry.objects.create(term_nb="Bolig", term_en="Housing")
    with pytest.raises(ValidationError):
        VocabularyEntry(term_nb="bolig", term_en="housing").full_clean()
    with pytest.raises(ValidationError):
        VocabularyEntry(term_nb="stigma", term_en="Stigma").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        VocabularyEntry.objects.create(term_nb="bolig", term_en="HOUSING")


def test_data_file_errors_name_the_line(tmp_path):
    path = tmp_path / "v.tsv"
    path.write_text("nb\ten\n# comment\nbolig\thousing\nbare ett felt\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 4"):
        vocabulary.read_file(path)


def test_seed_vocabulary_command(tmp_path):
    path = tmp_path / "v.tsv"
    path.write_text("nb\ten\nbolig først\thousing first  # the model\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        call_command("seed_vocabulary", file=str(path), stdout=stdout)
    assert VocabularyEntry.objects.filter(term_nb="bolig først", term_en="housing first", source="curated").exists()
    assert "pairs added" in out.read_text()


def test_curators_edit_the_vocabulary_in_the_admin():
    entry = VocabularyEntry.objects.create(term_nb="skadereduksjon", term_en="harm reduction")
    client = Client()
    client.force_login(factories.user("curator"))
    page = client.get("/admin/search/vocabularyentry/", {"source__exact": "curated", "q": "skade"})
    assert page.status_code == 200 and "harm reduction" in page.content.decode()
    assert texts(["skadereduksjon"]) == ["harm reduction"]
    response = client.post(f"/admin/search/vocabularyentry/{entry.pk}/change/",
                           {"term_nb": "skadereduksjon", "term_en": "harm minimisation", "active": "on", "note": ""})
    assert response.status_code == 302
    assert texts(["skadereduksjon"]) == ["harm minimisation"]
    client.force_login(factories.user("admin"))
    assert client.get("/admin/search/vocabularyentry/").status_code == 200
    client.force_login(factories.user("reader"))
    assert client.get("/admin/search/vocabularyentry/").status_code == 302  # not staff: to the sign-in page
