"""PostgreSQL: the first author's row also carries its study's title key, and the block index covers it.

An import looks a common name's (family key, year) blocks up and compares the titles of the studies in
them (``apps.imports.matching.AuthorBlocks``). Migration 0007 put the year beside the family key, so the
lookup reads exactly the blocks asked for, but every row found still joined its study for the title key:
one random heap read per candidate. A block grows with the collection (a name as common as "Ødegård"
holds ~240 studies per year at 1M studies), and at 1M one chunk's blocks (300 entries, ~25k candidate
rows) took 210-320 ms, most of the import's time (bench/growth.py: 2,700 entries/s at 100k, 1,100-1,600
at 1M). With the title key on the first author's row and ``authorship_first_block`` covering (study id,
title key), the lookup is an index-only scan of contiguous entries: 20 ms for the same chunk.

``study_title_key`` is not a model field, like ``study_year``: the two triggers of 0007 now keep both (a
first author's row takes its study's year and title key when inserted or moved to position 1; a study's
changed year or title key is copied to its first author's row). On other databases this does nothing.
"""
from django.db import migrations

FORWARD = [
    'ALTER TABLE "studies_authorship" ADD COLUMN "study_title_key" varchar(200)',
    'UPDATE "studies_authorship" a SET "study_title_key" = s."title_key" FROM "studies_study" s '
    'WHERE s."id" = a."study_id" AND a."position" = 1',
    'DROP INDEX IF EXISTS "authorship_first_block"',
    'CREATE INDEX "authorship_first_block" ON "studies_authorship" ("family_key", "study_year") '
    'INCLUDE ("study_id", "study_title_key") WHERE "position" = 1',
    """CREATE OR REPLACE FUNCTION kb_first_author_takes_study_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT "year", "title_key" INTO NEW."study_year", NEW."study_title_key" FROM "studies_study"
    WHERE "id" = NEW."study_id";
    RETURN NEW;
END $$""",
    """CREATE OR REPLACE FUNCTION kb_study_year_to_first_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "studies_authorship" SET "study_year" = NEW."year", "study_title_key" = NEW."title_key"
    WHERE "study_id" = NEW."id" AND "position" = 1;
    RETURN NULL;
END $$""",
    'DROP TRIGGER IF EXISTS "study_year_to_first_author" ON "studies_study"',
    'CREATE TRIGGER "study_year_to_first_author" AFTER UPDATE OF "year", "title_key" ON "studies_study" '
    'FOR EACH ROW WHEN (OLD."year" IS DISTINCT FROM NEW."year" OR OLD."title_key" IS DISTINCT FROM NEW."title_key") '
    'EXECUTE FUNCTION kb_study_year_to_first_author()',
    'ANALYZE "studies_authorship"',  # (autovacuum then sets the visibility map that index-only scans read)
]
BACKWARD = [
    'DROP TRIGGER IF EXISTS "study_year_to_first_author" ON "studies_study"',
    """CREATE OR REPLACE FUNCTION kb_study_year_to_first_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "studies_authorship" SET "study_year" = NEW."year" WHERE "study_id" = NEW."id" AND "position" = 1;
    RETURN NULL;
END $$""",
    'CREATE TRIGGER "study_year_to_first_author" AFTER UPDATE OF "year" ON "studies_study" FOR EACH ROW '
    'WHEN (OLD."year" IS DISTINCT FROM NEW."year") EXECUTE FUNCTION kb_study_year_to_first_author()',
    """CREATE OR REPLACE FUNCTION kb_first_author_takes_study_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT "year" INTO NEW."study_year" FROM "studies_study" WHERE "id" = NEW."study_id";
    RETURN NEW;
END $$""",
    'DROP INDEX IF EXISTS "authorship_first_block"',
    'CREATE INDEX "authorship_first_block" ON "studies_authorship" ("family_key", "study_year") '
    'WHERE "position" = 1',
    'ALTER TABLE "studies_authorship" DROP COLUMN IF EXISTS "study_title_key"',
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0007_first_author_year"),
    ]

    operations = [
        migrations.RunPython(run(FORWARD), run(BACKWARD)),
    ]
