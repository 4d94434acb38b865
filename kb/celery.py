"""The Celery app. Without CELERY_BROKER_URL tasks run eagerly in-process (embedded mode)."""

import os

from celery import Celery, Task
from kombu import serialization

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")


class KBTask(Task):
    """Runs an eagerly applied task without touching the broker.

    Celery's own eager path borrows a producer from the broker's connection pool (only to learn the
    serializer), which makes kombu build a connection for a broker the embedded default does not have
    and log "No hostname was supplied" into a command's output. Here the arguments make the same JSON
    round trip a real message would (so a task that only works eagerly still fails in tests), and the
    task is applied in-process.
    """

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None,
                    shadow=None, **options):
        app = self._get_app()
        if not app.conf.task_always_eager or producer is not None:
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, link=link,
                                       link_error=link_error, shadow=shadow, **options)
        content_type, encoding, data = serialization.dumps((args or (), kwargs or {}), app.conf.task_serializer)
        args, kwargs = serialization.loads(data, content_type, encoding, accept=[content_type])
        options.setdefault("ignore_result", self.ignore_result)
        return self.apply(args, kwargs, task_id=task_id, link=link, link_error=link_error, **options)


app = Celery("kb", task_cls=KBTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
