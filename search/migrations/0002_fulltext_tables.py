"""Engine-specific full-text structures of the database backend.

SQLite: an FTS5 table ``search_fts`` (rowid = SearchDocument.id). PostgreSQL: tsvector columns with
GIN indexes on ``search_searchdocument``. Tokens are produced in Python (search/analysis.py), so
both engines match the same words.
"""

from django.db import migrations

SQLITE_CREATE = """
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    kind UNINDEXED, object_id UNINDEXED, title, abstract, author, topic, other, exact,
    tokenize = 'unicode61 remove_diacritics 0'
)
"""
POSTGRES_CREATE = [
    "ALTER TABLE search_searchdocument ADD COLUMN IF NOT EXISTS tsv tsvector",
    "ALTER TABLE search_searchdocument ADD COLUMN IF NOT EXISTS tsv_exact tsvector",
    "CREATE INDEX IF NOT EXISTS search_doc_tsv ON search_searchdocument USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS search_doc_tsv_exact ON search_searchdocument USING gin (tsv_exact)",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif vendor == "postgresql":
        for sql in POSTGRES_CREATE:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS search_fts")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
