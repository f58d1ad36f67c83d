"""Real servers for load and fault tests, all on the loopback interface: gunicorn serving
wsgi:app, the job worker (`flask worker`), and a throwaway PostgreSQL cluster.

    with Gunicorn({"DATABASE_URL": url, ...}, tmp_path, workers=4) as server:
        requests.get(server.url + "/login")
        server.kill_worker()          # SIGKILL one worker; the master starts another

    cluster = PostgresCluster().start()   # initdb in a temp folder, its own port
    url = cluster.create_database("portal")
    cluster.stop(); cluster.start()       # the database goes away and comes back
    cluster.destroy()

Every process is started in its own session and stopped by its own id (never by name).
PostgreSQL refuses to run as root, so as root its binaries run as the `postgres` user.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "load-test-secret-key-0123456789abcdef"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid):
    """Ids of the live processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":   # fields: state, ppid, ...
            found.append(int(stat.split("/")[2]))
    return sorted(found)


def app_env(tmp_path, **overrides):
    """The environment a server process of the app runs with: production mode, a real secret,
    mail through SMTP (port 1 by default: nothing listens there), its own instance folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "SMTP_", "STRIPE_", "PAYPAL_", "SQUARE_", "MAIL_", "HUEY_", "REDIS_"))}
    env.update({
        "PORTAL_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "BASE_URL": "http://127.0.0.1",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "1",
        "SMTP_TIMEOUT": "5",
        "MAIL_DIR": str(tmp_path / "mail"),
        "HUEY_FILE": str(tmp_path / "huey.db"),
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class _Process:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, cmd, env, log_path):
        self.cmd, self.env, self.log_path = cmd, env, str(log_path)
        self.proc = None

    def _spawn(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as fh:
            return fh.read()

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL to the process group if it has not gone in `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Anything the process left behind in its group (a worker mid-restart) goes too.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Gunicorn(_Process):
    """gunicorn wsgi:app on a free loopback port (sync workers, or gthread with `threads`)."""

    def __init__(self, env, tmp_path, workers=4, worker_class="sync", threads=1, timeout=30):
        self.port = free_port()
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
               "--timeout", str(timeout), "--graceful-timeout", "5", "--backlog", "256", "wsgi:app"]
        super().__init__(cmd, {**env, "BASE_URL": self.url}, tmp_path / f"gunicorn-{self.port}.log")
        self.start()

    def start(self, timeout=60):
        self._spawn()

        def ready():
            assert self.running(), "gunicorn exited:\n" + self.log()[-3000:]
            if len(self.worker_pids()) < self.workers:
                return False
            try:
                return requests.get(self.url + "/login", timeout=10).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_until(ready, timeout, 0.1, "gunicorn to serve /login")
        except BaseException:
            self.stop()
            raise
        return self

    def worker_pids(self):
        return children(self.pid) if self.running() else []

    def kill_worker(self, pid=None):
        """SIGKILL one worker (the first one by default); returns its id."""
        pid = pid or self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_for_workers(self, timeout=20, without=()):
        """Until the master has `workers` live workers again, none of them in `without`."""
        wait_until(lambda: len([p for p in self.worker_pids() if p not in without]) >= self.workers,
                   timeout, 0.05, "gunicorn to replace its workers")

    def errors_in_log(self):
        """Lines of the log that say a request failed with an exception."""
        return [line for line in self.log().splitlines()
                if "Traceback" in line or "Exception on" in line or "[ERROR] Error handling" in line]


class Worker(_Process):
    """The job worker: `flask --app wsgi worker`."""

    def __init__(self, env, tmp_path, threads=2):
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers", str(threads)]
        super().__init__(cmd, env, tmp_path / f"worker-{time.monotonic_ns()}.log")
        self._spawn()


def flask_command(env, *args, timeout=60):
    """Run `flask --app wsgi ARGS` to the end; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


# --- a throwaway PostgreSQL ---------------------------------------------------------------------

def postgres_bin():
    """The folder of Debian's PostgreSQL server binaries (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class PostgresCluster:
    """A PostgreSQL cluster of our own: initdb in a temp folder, listening on 127.0.0.1 and a
    free port, trust authentication, no fsync (a test cluster, not a durable one)."""

    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        self.port = free_port()
        # Not under pytest's tmp_path: that folder is private to root and postgres cannot reach it.
        self.dir = tempfile.mkdtemp(prefix="portal-pg-")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def _run(self, tool, *args, check=True, timeout=60):
        cmd = [os.path.join(self.bin, tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def start(self):
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-o", options, "-w", "-t", "30", "start")
        return self

    def stop(self, mode="fast"):
        """Stop the server; `fast` ends every session (clients see their connection drop)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")

    def is_running(self):
        return self._run("pg_ctl", "-D", self.data, "status", check=False).returncode == 0

    def url(self, name):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name):
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def tool(self, name, *args, **kw):
        """Run one of the cluster's client tools (pg_dump, pg_restore, psql) as postgres."""
        return self._run(name, *args, **kw)

    def destroy(self):
        if os.path.isdir(self.data) and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
