"""The interpreter settings an import job changes (apps.imports.reader_process.job_tuning) are process-wide:
two jobs running at once in one process (tasks run in-process) must leave them as they found them."""
import gc
import sys
import threading

from apps.imports.reader_process import job_tuning


def test_overlapping_jobs_restore_the_interpreter_settings_when_the_last_one_ends():
    before = gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()
    first_inside, second_entered, first_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with job_tuning():
            first_inside.set()
            second_entered.wait(5)
            seen["first"] = gc.get_threshold()[0], sys.getswitchinterval()
        first_done.set()

    t = threading.Thread(target=first)
    t.start()
    first_inside.wait(5)
    with job_tuning():
        second_entered.set()
        first_done.wait(5)
        # the first job ended while this one runs: the settings stay tuned
        seen["second"] = gc.get_threshold()[0], sys.getswitchinterval()
    t.join()
    assert seen["first"] == seen["second"] == (50_000, 0.0005)
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before


def test_the_settings_are_restored_when_a_job_fails():
    before = gc.get_threshold(), sys.getswitchinterval()
    try:
        with job_tuning():
            raise RuntimeError("the import stopped")
    except RuntimeError:
        pass
    assert (gc.get_threshold(), sys.getswitchinterval()) == before
