"""PostgreSQL: the first author's row carries its study's year, kept by the database, for duplicate detection.

An import looks up stored studies by (first author's family key, year) blocks. The year lives on the study,
so the lookup read every study of a family name through ``authorship_first_family`` and probed each one
for its year: the cost of a block grew with all the studies of that name, in every year (at 100k studies
110-200 ms per 300 entries; ten times that at 1M, where bench/growth.py measured the import slowing
down). With the year beside the family key, ``authorship_first_block`` answers exactly the blocks asked
for (28-31 ms for the same 300 entries at 100k, and it stays with the block's own size as the database grows).

``study_year`` is not a model field: no Python code writes it, so no write path (the API, the admin, an
import's COPY, a queryset ``update()``) can forget it. Two triggers keep it: a first author's row takes its
study's year when inserted or moved to position 1, and a study's year change is copied to its first
author's row. On other databases (the embedded SQLite) this migration does nothing: the ORM's lookup joins
the study as before.
"""
from django.db import migrations

FORWARD = [
    'ALTER TABLE "studies_authorship" ADD COLUMN "study_year" smallint',
    'UPDATE "studies_authorship" a SET "study_year" = s."year" FROM "studies_study" s '
    'WHERE s."id" = a."study_id" AND a."position" = 1',
    'CREATE INDEX "authorship_first_block" ON "studies_authorship" ("family_key", "study_year") '
    'WHERE "position" = 1',
    """CREATE FUNCTION kb_first_author_takes_study_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT "year" INTO NEW."study_year" FROM "studies_study" WHERE "id" = NEW."study_id";
    RETURN NEW;
END $$""",
    'CREATE TRIGGER "authorship_study_year" BEFORE INSERT OR UPDATE OF "study_id", "position" '
    'ON "studies_authorship" FOR EACH ROW WHEN (NEW."position" = 1) '
    'EXECUTE FUNCTION kb_first_author_takes_study_year()',
    """CREATE FUNCTION kb_study_year_to_first_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "studies_authorship" SET "study_year" = NEW."year" WHERE "study_id" = NEW."id" AND "position" = 1;
    RETURN NULL;
END $$""",
    'CREATE TRIGGER "study_year_to_first_author" AFTER UPDATE OF "year" ON "studies_study" FOR EACH ROW '
    'WHEN (OLD."year" IS DISTINCT FROM NEW."year") EXECUTE FUNCTION kb_study_year_to_first_author()',
    'ANALYZE "studies_authorship"',
]
BACKWARD = [
    'DROP TRIGGER IF EXISTS "study_year_to_first_author" ON "studies_study"',
    'DROP FUNCTION IF EXISTS kb_study_year_to_first_author()',
    'DROP TRIGGER IF EXISTS "authorship_study_year" ON "studies_authorship"',
    'DROP FUNCTION IF EXISTS kb_first_author_takes_study_year()',
    'DROP INDEX IF EXISTS "authorship_first_block"',
    'ALTER TABLE "studies_authorship" DROP COLUMN IF EXISTS "study_year"',
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return apply


class Migration(migrations.Migration):

    dependencies = [
        ("studies", "0006_provenance_ris_medline"),
    ]

    operations = [
        migrations.RunPython(run(FORWARD), run(BACKWARD)),
    ]
