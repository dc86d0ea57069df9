"""Start the built Harvester binary on a free port and point the stock mlflow client at it.

Backend: HARVESTER_COMPAT_STORE_URI (a fresh PostgreSQL database from run.sh), else a SQLite file in a temp dir.
Artifacts: HARVESTER_COMPAT_ARTIFACTS (e.g. s3://bucket/prefix, with the AWS environment set), else ./mlartifacts.
Binary: HARVESTER_BIN, else target/debug/harvester. HARVESTER_COMPAT_URL runs the suite against an already
running server instead (used to validate the expectations against a stock `mlflow server`).
HARVESTER_COMPAT_REPLICAS=2 starts two processes on the one store behind an alternating proxy.
"""
import contextlib
import os
import socket
import sys
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent

# Fail fast instead of retrying 5xx for minutes: a 5xx is a bug we want to see.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
# Harvester's serving workers run this interpreter (it has mlflow and the test models' libraries).
os.environ.setdefault("HARVESTER_SERVING_PYTHON", sys.executable)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVER = {}


@contextlib.contextmanager
def own_harvester(tmp, *flags, store, env=None):
    """A Harvester of its own on `store` (and the pass's artifacts), with `flags`; yields its URL."""
    binary = os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester"))
    port = _free_port()
    args = [binary, "server", "--backend-store-uri", store, "--port", str(port), "--job-workers", "0", *flags]
    if os.environ.get("HARVESTER_COMPAT_ARTIFACTS"):
        args += ["--artifacts-destination", os.environ["HARVESTER_COMPAT_ARTIFACTS"]]
    log = Path(tmp) / "log"
    proc = subprocess.Popen(args, cwd=tmp, env=dict(os.environ, **(env or {})), stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert proc.poll() is None, log.read_text()
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def server_pid(server_url):
    """The pid of the Harvester process under test (tests that read its memory skip for external servers)."""
    if "pid" not in _SERVER:
        pytest.skip("server started elsewhere")
    return _SERVER["pid"]


def _start_replica(binary, store, workdir, name):
    """One Harvester process on `store`; returns (process, url) once it answers /health."""
    port = _free_port()
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    args = [binary, "server", "--backend-store-uri", store, "--port", str(port), "--host", "127.0.0.1"]
    if os.environ.get("HARVESTER_COMPAT_ARTIFACTS"):
        args += ["--artifacts-destination", os.environ["HARVESTER_COMPAT_ARTIFACTS"]]
    # Webhook tests deliver to a receiver on 127.0.0.1 over plain HTTP, which the defaults refuse (SSRF).
    env = dict(os.environ, MLFLOW_WEBHOOK_ALLOWED_SCHEMES="http,https", MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS="true",
               MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY="compat-test-key")
    proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(url + "/health", timeout=1).text == "OK":
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"harvester exited early, see {workdir}/{name}.log")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("harvester did not become healthy")


@pytest.fixture(scope="session")
def server_url():
    external = os.environ.get("HARVESTER_COMPAT_URL")
    if external:  # e.g. a stock `mlflow server`, to check these expectations against the reference
        yield external.rstrip("/")
        return
    binary = os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester"))
    workdir = tempfile.mkdtemp(prefix="harvester-compat-")
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI") or f"sqlite:///{workdir}/compat.db"
    # HARVESTER_COMPAT_REPLICAS=2: that many processes on the one store, each request to the next in turn.
    replicas = int(os.environ.get("HARVESTER_COMPAT_REPLICAS") or "1")
    # Where this pass's artifacts live: another replica on the same store must use the same place.
    _SERVER["artifacts"] = os.environ.get("HARVESTER_COMPAT_ARTIFACTS") or os.path.join(workdir, "mlartifacts")
    procs = []
    try:
        for i in range(replicas):
            procs.append(_start_replica(binary, store, workdir, "server" if i == 0 else f"server{i}"))
        if replicas == 1:
            _SERVER["pid"] = procs[0][0].pid
            url = procs[0][1]
        else:
            import alternating_proxy

            url, counts, stop = alternating_proxy.start([u for _, u in procs])
            _SERVER["replica_counts"] = counts
        where = f"{replicas} replicas behind an alternating proxy, " if replicas > 1 else ""
        print(f"\nharvester at {url} ({where}{store.split('@')[-1]}), artifacts at "
              f"{os.environ.get('HARVESTER_COMPAT_ARTIFACTS', 'mlartifacts')}")
        yield url
        if replicas > 1:
            stop()
            print(f"\nrequests per replica: {counts}")
            assert min(counts) > 0, "every replica answered"
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def replicas():
    """How many Harvester processes answer this pass (1 unless HARVESTER_COMPAT_REPLICAS says more)."""
    return int(os.environ.get("HARVESTER_COMPAT_REPLICAS") or "1")


@pytest.fixture(scope="session", autouse=True)
def tracking(server_url):
    import mlflow

    mlflow.set_tracking_uri(server_url)
    yield


@pytest.fixture
def client():
    from mlflow import MlflowClient

    return MlflowClient()


@pytest.fixture
def exp_name():
    return f"compat-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def experiment_id(exp_name):
    import mlflow

    exp = mlflow.set_experiment(exp_name)
    yield exp.experiment_id
    if mlflow.active_run():
        mlflow.end_run()


def api(server_url, method, path, **kw):
    """A raw request to /api/2.0/mlflow/<path>."""
    return requests.request(method, f"{server_url}/api/2.0/mlflow/{path}", timeout=60, **kw)
