"""``manage.py import_bibtex``: the API's code path, run synchronously, with a summary table."""
import io
import os

import pytest
from django.core.management import CommandError, call_command

from apps.imports.models import ImportJob
from apps.studies.models import Study

pytestmark = pytest.mark.django_db

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def run(*args):
    out = io.StringIO()
    call_command("import_bibtex", *args, stdout=out)
    return out.getvalue()


def test_import_prints_progress_and_a_summary_table():
    out = run(os.path.join(SHARED, "xampl_mod.bib"))
    assert "Created a new study" in out and "raw entries in the file" in out and "35" in out
    assert "failed #20 (line 226, key misc-minimal)" in out
    job = ImportJob.objects.get()
    assert job.status == "done" and job.counts["created"] == Study.objects.count() == 16


def test_dry_run_and_policy(tmp_path):
    out = run(os.path.join(SHARED, "jabref-authors.bib"), "--dry-run", "--policy", "skip")
    assert "dry run" in out and not Study.objects.exists()
    assert ImportJob.objects.get().policy == "skip"


def test_a_file_that_is_not_bibtex_fails_with_a_message(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, bread")
    with pytest.raises(CommandError, match="Nothing was imported"):
        run(str(path))


def test_resume_and_missing_file():
    with pytest.raises(CommandError, match="Cannot read"):
        run("/nonexistent/refs.bib")
    with pytest.raises(CommandError, match="No import job"):
        run("--resume", "999")


def test_on_the_embedded_default_the_command_prints_only_kb_s_output(tmp_path):
    """No broker, no Elasticsearch: the after-commit index drain runs in-process and must not make kombu
    build a broker connection (it logged "No hostname was supplied. Reverting to default 'localhost'")."""
    import subprocess
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ELASTICSEARCH_", "CELERY_", "KB_TEST_", "DATABASE_URL"))}
    env.update(KB_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path}/kb.sqlite3", MEDIA_ROOT=str(tmp_path),
               KB_EMBEDDER="none")
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, capture_output=True, timeout=120)
    result = subprocess.run([*manage, "import_bibtex", os.path.join(SHARED, "xampl_mod.bib")], env=env,
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Status: done" in result.stdout  # the import ran (and its commits ran the index drain)
    assert "hostname" not in output and "kombu" not in output and "WARNING" not in output, output
    assert result.stderr == ""
