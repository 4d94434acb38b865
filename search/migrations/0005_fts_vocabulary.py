"""SQLite: ``search_fts_vocab``, FTS5's own view of how many documents hold each token (fts5vocab,
"row"), which the database backend reads to score each query word once (search/backends/database.py,
``_scoring_terms``). Nothing on PostgreSQL."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("CREATE VIRTUAL TABLE IF NOT EXISTS search_fts_vocab USING fts5vocab(search_fts, row)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS search_fts_vocab")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_studyvector")]
    operations = [migrations.RunPython(create, drop)]
