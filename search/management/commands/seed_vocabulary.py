"""manage.py seed_vocabulary: add the missing pairs of the bilingual search vocabulary (idempotent)."""

from django.core.management.base import BaseCommand

from search import vocabulary
from search.models import VocabularyEntry


class Command(BaseCommand):
    help = ("Add the missing Norwegian-English pairs of the search vocabulary from search/data/vocabulary.tsv "
            "and the topic labels. Never changes or re-activates existing pairs. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(vocabulary.VOCABULARY_FILE), help="The nb<TAB>en data file.")

    def handle(self, file, **options):
        added = vocabulary.seed(file)
        active = VocabularyEntry.objects.filter(active=True).count()
        self.stdout.write(self.style.SUCCESS(f"Vocabulary: {added} pairs added; {active} active pairs in all."))
