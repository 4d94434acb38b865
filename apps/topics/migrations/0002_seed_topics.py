from django.db import migrations


def seed(apps, schema_editor):
    from apps.topics.loader import load_topics

    load_topics(apps.get_model("topics", "Topic"))


class Migration(migrations.Migration):
    dependencies = [("topics", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
