"""Derived keys for duplicate detection (BibTeX import): ``Study.title_key`` and
``Authorship.family_key``, with indexes, filled in for existing rows."""

import apps.studies.fields
from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    from apps.studies.keys import family_key, title_key

    Study = apps.get_model("studies", "Study")
    Authorship = apps.get_model("studies", "Authorship")
    for model, fields, compute, key in (
        (Study, ("title", "subtitle"), lambda o: title_key(o.title, o.subtitle), "title_key"),
        (Authorship, ("family_name",), lambda o: family_key(o.family_name), "family_key"),
    ):
        last = 0
        while True:
            rows = list(model.objects.filter(pk__gt=last).order_by("pk").only("pk", *fields)[:BATCH])
            if not rows:
                break
            for row in rows:
                setattr(row, key, compute(row))
            model.objects.bulk_update(rows, [key], batch_size=500)
            last = rows[-1].pk


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='authorship',
            name='family_key',
            field=apps.studies.fields.FamilyKeyField(blank=True, default='', editable=False, help_text='Folded family name, for duplicate detection and author matching (derived).', max_length=100),
        ),
        migrations.AddField(
            model_name='study',
            name='title_key',
            field=apps.studies.fields.TitleKeyField(blank=True, default='', editable=False, help_text='Folded words of title and subtitle, for duplicate detection (derived).', max_length=200),
        ),
        migrations.AddIndex(
            model_name='authorship',
            index=models.Index(condition=models.Q(('position', 1)), fields=['family_key'], name='authorship_first_family'),
        ),
        migrations.AddIndex(
            model_name='study',
            index=models.Index(fields=['title_key', 'year'], name='study_title_key'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
