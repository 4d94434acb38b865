from django.db import migrations


def backfill(apps, schema_editor):
    """Compute LIX for existing summaries and keep each published one as its version 1."""
    from apps.summaries.models import CONTENT_FIELDS, READABLE_FIELDS
    from apps.summaries.readability import lix

    Summary = apps.get_model("summaries", "Summary")
    SummaryVersion = apps.get_model("summaries", "SummaryVersion")
    for summary in Summary.objects.all().iterator():
        summary.readability_lix = lix("\n".join(getattr(summary, f) or "" for f in READABLE_FIELDS))
        fields = ["readability_lix"]
        if summary.status == "published" and summary.version == 0:
            SummaryVersion.objects.create(
                summary=summary, number=1, readability_lix=summary.readability_lix,
                change_note="Published before versions were kept", created_by_id=summary.updated_by_id,
                reviewer_id=summary.reviewer_id, **{f: getattr(summary, f) for f in CONTENT_FIELDS})
            summary.version = 1
            fields.append("version")
        summary.save(update_fields=fields)


class Migration(migrations.Migration):

    dependencies = [("summaries", "0002_workflow_versions_readability")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
