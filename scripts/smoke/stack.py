"""The installation under test: kb's production processes around the project's services.

``Stack`` starts, as an operator following docs/operations.md would, from the virtualenv made from
requirements.txt alone: ``scripts/serve.sh web`` (deploy check, migrate, collectstatic, gunicorn),
``scripts/serve.sh worker`` and one ``scripts/serve.sh beat``, with ``KB_ENV=production`` and fresh
secrets in the environment. PostgreSQL and Elasticsearch are the shared ones started by
scripts/services (its own database and index prefix here); Redis is a private server on its own port
(scripts/services/redis.sh with another KB_SERVICES_DIR), because faults stop it.

Every process runs in its own process group and is stopped with it (SIGTERM, then SIGKILL), also
when a scenario fails or the harness is interrupted.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from client import Api, Failure, wait_until

ROOT = Path(__file__).resolve().parents[2]
#: Variables of the caller's environment that must not leak into the installation under test.
FOREIGN = ("KB_", "DJANGO_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_", "ELASTICSEARCH_",
           "CACHE_URL", "CSRF_", "SECURE_", "DEBUG", "STATIC_ROOT", "MEDIA_ROOT")


def _env(name, default):
    return os.environ.get(name) or default


@dataclass
class Config:
    """Where the smoke installation lives; every value can be changed through the environment."""

    venv: Path = field(default_factory=lambda: ROOT / _env("KB_SMOKE_VENV", ".venv-prod"))
    out: Path = field(default_factory=lambda: ROOT / "test-output" / "smoke")
    web_port: int = int(_env("KB_SMOKE_PORT", "8390"))
    redis_port: int = int(_env("KB_SMOKE_REDIS_PORT", "6390"))
    services_dir: str = _env("KB_SMOKE_SERVICES_DIR", "/var/lib/kb-smoke")
    postgres: str = f"postgres://kb:kb@127.0.0.1:{_env('KB_PG_PORT', '5432')}"
    database: str = _env("KB_SMOKE_DB", "kb_smoke")
    elasticsearch: str = _env("KB_SMOKE_ELASTICSEARCH_URL", f"http://127.0.0.1:{_env('KB_ES_PORT', '9200')}")
    index_prefix: str = _env("KB_SMOKE_INDEX_PREFIX", "kbsmoke")
    #: beat's outbox drain interval here (production: 60 s, KB_OUTBOX_DRAIN_SECONDS)
    drain_seconds: float = float(_env("KB_SMOKE_DRAIN_SECONDS", "10"))
    #: beat's import recovery interval here (production: 60 s, KB_IMPORT_RECOVERY_SECONDS)
    recovery_seconds: float = float(_env("KB_SMOKE_RECOVERY_SECONDS", "10"))


class Proc:
    """One long-running process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.popen: subprocess.Popen | None = None

    def start(self):
        with open(self.log, "ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _signal(self, sig) -> bool:
        try:
            os.killpg(self.popen.pid, sig)  # the group: gunicorn's and celery's children too
            return True
        except ProcessLookupError:
            return False

    def _wait_group_gone(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.popen.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = 20):
        """SIGTERM to the group, SIGKILL to whatever is left after ``timeout`` seconds."""
        if self.popen is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        if not self._wait_group_gone(1):
            self._signal(signal.SIGKILL)
            self._wait_group_gone(5)
        self.popen.wait()
        self.popen = None

    def kill(self):
        """SIGKILL the whole group at once, as the kernel's OOM killer or a lost machine would."""
        if self.popen is None:
            return
        self._signal(signal.SIGKILL)
        self.popen.wait()
        self._wait_group_gone(5)
        self.popen = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Stack:
    """kb as production runs it, reset to an empty installation, plus what faults need to reach."""

    ROLES = ("web", "worker", "beat")

    def __init__(self, config: Config, say=print):
        self.config, self.say = config, say
        self.procs: dict[str, Proc] = {}
        self.base_url = f"http://127.0.0.1:{config.web_port}"
        self.api = Api(self.base_url)            # anonymous
        self.curator: Api | None = None           # set by start()
        self.password = secrets.token_urlsafe(18)
        self.var = config.out / "var"
        self.logs = config.out / "logs"
        self._lock = None
        self._redis_started = False
        self.env = self._environment()

    # --- environment ------------------------------------------------------------------------------
    def _environment(self) -> dict:
        c = self.config
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        redis = f"redis://127.0.0.1:{c.redis_port}"
        env.update({
            "KB_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),  # secrets from the environment, new every run
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"{c.postgres}/{c.database}",
            "CELERY_BROKER_URL": f"{redis}/0",
            "CACHE_URL": f"{redis}/1",
            "ELASTICSEARCH_URL": c.elasticsearch,
            "ELASTICSEARCH_INDEX_PREFIX": c.index_prefix,
            "KB_VAR_DIR": str(self.var),
            "KB_VENV": str(c.venv),
            "KB_WEB_BIND": f"127.0.0.1:{c.web_port}",
            "KB_WEB_WORKERS": "2",
            "KB_WORKER_CONCURRENCY": "2",
            "KB_WORKER_NAME": "kb-smoke@%h",
            "KB_OUTBOX_DRAIN_SECONDS": str(c.drain_seconds),
            "KB_IMPORT_RECOVERY_SECONDS": str(c.recovery_seconds),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _run(self, argv, *, env=None, timeout=300, check=True, what=None) -> subprocess.CompletedProcess:
        result = subprocess.run(argv, cwd=ROOT, env=env or self.env, capture_output=True, text=True, timeout=timeout)
        with open(self.logs / "setup.log", "a") as log:
            log.write(f"$ {' '.join(map(str, argv))}\n{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise Failure(f"{what or ' '.join(map(str, argv[:4]))} exited {result.returncode}:\n"
                          f"{(result.stdout + result.stderr)[-2000:]}")
        return result

    def manage(self, *args, **kwargs):
        return self._run([str(self.config.venv / "bin/python"), "manage.py", *args], **kwargs)

    def redis(self, action: str):
        """scripts/services/redis.sh start|stop for the private Redis."""
        env = {**os.environ, "KB_SERVICES_DIR": self.config.services_dir, "KB_REDIS_PORT": str(self.config.redis_port)}
        self._run(["scripts/services/redis.sh", action], env=env, timeout=120)
        if action == "start":
            self._redis_started = True

    def redis_cli(self, *args) -> str:
        return self._run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.config.redis_port), *args]).stdout

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self):
        c = self.config
        if not (c.venv / "bin/python").exists():
            raise Failure(f"no virtualenv at {c.venv}; scripts/smoke.sh makes it from requirements.txt")
        os.makedirs(c.services_dir, exist_ok=True)
        self._lock = open(Path(c.services_dir) / "smoke.lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.say(f"smoke: another smoke run holds {c.services_dir}/smoke.lock; waiting")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        for port in (c.web_port,):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    raise Failure(f"something already listens on 127.0.0.1:{port} (set KB_SMOKE_PORT)")
        shutil.rmtree(self.var, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.var.mkdir(parents=True)
        self.logs.mkdir(parents=True)

        self._import_everything()
        self.redis("start")
        self.redis_cli("flushall")
        self._reset_database()
        self._reset_indices()

        self.start_role("web")
        wait_until("the web server answers /health/", lambda: self._web_answers(), timeout=240)
        # First installation (docs/operations.md): the search indices, a curator.
        self.manage("search_index", "--rebuild", "--quiet")
        # "--password=<value>": a random password may begin with "-", which argparse would read as an option
        self.manage("create_user", "smoke-curator", "--role", "curator", f"--password={self.password}")
        token = self.api.post("/api/v1/auth/token/", {"username": "smoke-curator", "password": self.password})
        self.curator = self.api.as_user(token.expect(200).json()["token"])
        self.start_role("worker")
        self.start_role("beat")
        self.wait_healthy(timeout=120)
        self.wait_worker_ready()

    def _import_everything(self):
        """Every module of kb, apps and search imports from this virtualenv under the production
        settings: a dependency that only the test tools bring fails here even if no scenario reaches it."""
        code = ("import importlib, os, sys, django\n"
                "django.setup()\n"
                "failed = []\n"
                "modules = [os.path.join(d, f)[:-3].replace(os.sep, '.').removesuffix('.__init__')\n"
                "           for top in ('kb', 'apps', 'search') for d, _, files in os.walk(top)\n"
                "           if '__pycache__' not in d and 'es-plugin' not in d for f in files if f.endswith('.py')]\n"
                "for name in modules:\n"
                "    try:\n"
                "        importlib.import_module(name)\n"
                "    except Exception as exc:\n"
                "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
                "print(f'{len(modules)} modules imported' if not failed else '\\n'.join(failed))\n"
                "sys.exit(1 if failed else 0)\n")
        result = self._run([str(self.config.venv / "bin/python"), "-c", code],
                           env={**self.env, "DJANGO_SETTINGS_MODULE": "kb.settings"},
                           what="importing every module of kb, apps and search")
        self.say(f"smoke: {result.stdout.strip()} from {self.config.venv.name} with KB_ENV=production")

    def _web_answers(self):
        if not self.procs["web"].alive():
            raise Failure(f"scripts/serve.sh web exited:\n{self.procs['web'].tail()}")
        return self.api.answers()

    def _reset_database(self):
        c = self.config
        code = ("import psycopg, sys\n"
                "with psycopg.connect(sys.argv[1] + '/postgres', autocommit=True) as db:\n"
                "    db.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)')\n"
                "    db.execute(f'CREATE DATABASE {sys.argv[2]}')\n")
        self._run([str(c.venv / "bin/python"), "-c", code, c.postgres, c.database],
                  what=f"making the database {c.database} again")

    def _reset_indices(self):
        import json
        import urllib.request

        c = self.config
        with urllib.request.urlopen(f"{c.elasticsearch}/_cat/indices/{c.index_prefix}-*?format=json", timeout=30) as r:
            names = [row["index"] for row in json.load(r)]
        for name in names:  # by name: wildcard deletes are refused (action.destructive_requires_name)
            urllib.request.urlopen(urllib.request.Request(f"{c.elasticsearch}/{name}", method="DELETE"), timeout=30)

    def start_role(self, role: str):
        proc = Proc(role, ["scripts/serve.sh", role], self.env, self.logs / f"{role}.log")
        self.procs[role] = proc
        proc.start()

    def restart(self, role: str):
        self.procs[role].stop()
        self.start_role(role)

    def wait_worker_ready(self, timeout: float = 90) -> float:
        """Wait until a worker answers ``celery inspect ping`` through the broker; returns seconds waited."""
        def ready():
            if not self.procs["worker"].alive():
                raise Failure(f"the worker exited:\n{self.procs['worker'].tail()}")
            result = self._run([str(self.config.venv / "bin/celery"), "-A", "kb", "inspect", "ping", "--timeout", "2"],
                               check=False, timeout=60)
            return result.returncode == 0 and "pong" in result.stdout
        return wait_until("a worker answers celery inspect ping", ready, timeout, interval=0.2)[1]

    def health(self):
        answer = self.api.answers()
        return (answer.status, answer.json()) if answer else (None, None)

    def wait_healthy(self, timeout: float = 60) -> float:
        last = []

        def ok():
            for role, proc in self.procs.items():
                if not proc.alive():
                    raise Failure(f"scripts/serve.sh {role} exited:\n{proc.tail()}")
            last[:] = self.health()
            return last[0] == 200
        try:
            return wait_until("/health/ answers 200", ok, timeout)[1]
        except Failure as exc:
            raise Failure(f"{exc}; last /health/: {last}") from None

    def ensure_ready(self):
        """Before each scenario: the private Redis runs, every process is alive, /health/ says 200."""
        self.redis("start")
        restarted = []
        for role in self.ROLES:
            if not self.procs.get(role) or not self.procs[role].alive():
                self.say(f"smoke: restarting {role}, which was not running")
                self.start_role(role)
                restarted.append(role)
        self.wait_healthy(timeout=120)
        if "worker" in restarted:
            self.wait_worker_ready()

    def stop(self):
        """Stop every process this stack started, the private Redis last. Never raises."""
        for role in reversed(list(self.procs)):
            try:
                self.procs[role].stop()
            except Exception as exc:  # keep stopping the others
                self.say(f"smoke: stopping {role}: {exc}")
        self.procs.clear()
        if self._redis_started:
            try:
                self.redis("stop")
            except Exception as exc:
                self.say(f"smoke: stopping the private Redis: {exc}")
            self._redis_started = False
        if self._lock:
            self._lock.close()
            self._lock = None
