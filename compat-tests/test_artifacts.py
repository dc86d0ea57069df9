"""Artifacts through the stock client and the mlflow-artifacts proxy: log, list, download, large files."""
import hashlib
import os

import mlflow
import requests


def _tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_log_and_download_files_and_folders(experiment_id, client, tmp_path):
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.csv").write_text("x,y\n1,2\n")
    (src / "nested" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 10)
    single = tmp_path / "single.txt"
    single.write_text("one file")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="under/dir")
        mlflow.log_artifacts(str(src), artifact_path="tree")
        mlflow.log_text("some text", "notes/readme.md")
        mlflow.log_dict({"k": [1, 2, 3]}, "config/params.json")
    rid = run.info.run_id
    root = run.info.artifact_uri
    top = sorted((f.path, f.is_dir) for f in client.list_artifacts(rid))
    assert top == [("config", True), ("notes", True), ("single.txt", False), ("tree", True), ("under", True)]
    nested = mlflow.artifacts.list_artifacts(artifact_uri=f"{root}/tree/nested")
    assert sorted(f.path for f in nested) == ["nested/b.csv", "nested/deeper"]
    sizes = {f.path: f.file_size for f in nested}
    assert sizes["nested/b.csv"] == len("x,y\n1,2\n")
    # By run id and sub-path (`runs:/`, which also consults the run's logged models).
    by_run = client.list_artifacts(rid, "tree/nested")
    assert sorted(f.path for f in by_run) == ["tree/nested/b.csv", "tree/nested/deeper"]
    sub = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="tree/nested", dst_path=str(tmp_path / "sub"))
    assert _tree(sub) == _tree(src / "nested")

    got = mlflow.artifacts.download_artifacts(artifact_uri=f"{root}/tree", dst_path=str(tmp_path / "dl"))
    assert _tree(got) == _tree(src)
    whole = mlflow.artifacts.download_artifacts(run_id=rid, dst_path=str(tmp_path / "all"))
    assert _tree(os.path.join(whole, "tree")) == _tree(src)
    one = mlflow.artifacts.download_artifacts(artifact_uri=f"{root}/under/dir/single.txt",
                                              dst_path=str(tmp_path / "dl1"))
    assert open(one).read() == "one file"
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.md") == "some text"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config/params.json") == {"k": [1, 2, 3]}


def test_large_file_round_trip_with_checksum(experiment_id, tmp_path):
    big = tmp_path / "big.bin"
    h = hashlib.sha256()
    chunk = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for i in range(100):
            block = chunk[i:] + chunk[:i]
            f.write(block)
            h.update(block)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="blobs")
    out = mlflow.artifacts.download_artifacts(artifact_uri=f"{run.info.artifact_uri}/blobs/big.bin",
                                              dst_path=str(tmp_path / "back"))
    assert os.path.getsize(out) == 100 * (1 << 20)
    assert _sha256(out) == h.hexdigest()


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_client_multipart_upload_and_download(server_url, experiment_id, tmp_path, monkeypatch):
    """On S3 the server advertises multipart transfers: the client uploads big files in parts to presigned
    URLs (mpu/create, PUT parts, mpu/complete) and downloads through presigned URLs in ranged chunks. On
    local storage it advertises neither and the client uses the proxy. Both must round-trip the bytes."""
    info = requests.get(f"{server_url}/api/3.0/mlflow/server-info", timeout=30).json()
    on_s3 = os.environ.get("HARVESTER_COMPAT_ARTIFACTS", "").startswith("s3://")
    if "HARVESTER_COMPAT_URL" not in os.environ:
        assert info["multipart_uploads_enabled"] is on_s3
        assert info["multipart_downloads_enabled"] is on_s3
    # Lower the client's thresholds so a 12 MiB file takes the multipart path (3 parts of 5 MiB max).
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(10 << 20))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 << 20))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(5 << 20))
    # Count which transfer path the stock client really takes.
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    calls = {"mpu": 0, "presigned": 0}
    for name, key in [("create_multipart_upload", "mpu"), ("_multipart_download", "presigned")]:
        orig = getattr(HttpArtifactRepository, name)

        def spy(self, *a, _orig=orig, _key=key, **kw):
            calls[_key] += 1
            return _orig(self, *a, **kw)

        monkeypatch.setattr(HttpArtifactRepository, name, spy)
    big = tmp_path / "parts.bin"
    big.write_bytes(os.urandom((12 << 20) + 7))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="mp")
    listed = mlflow.artifacts.list_artifacts(artifact_uri=f"{run.info.artifact_uri}/mp")
    assert [(f.path, f.file_size) for f in listed] == [("mp/parts.bin", (12 << 20) + 7)]
    out = mlflow.artifacts.download_artifacts(artifact_uri=f"{run.info.artifact_uri}/mp/parts.bin",
                                              dst_path=str(tmp_path / "back"))
    assert _sha256(out) == _sha256(big)
    if "HARVESTER_COMPAT_URL" not in os.environ:
        expected = 1 if on_s3 else 0
        assert calls == {"mpu": expected, "presigned": expected}


def test_proxy_wire_details(server_url, experiment_id):
    base = f"{server_url}/api/2.0/mlflow-artifacts/artifacts"
    r = requests.put(f"{base}/{experiment_id}/wire/hello world.txt", data=b"hi", timeout=30)
    assert r.status_code == 200
    r = requests.get(f"{base}/{experiment_id}/wire/hello world.txt", timeout=30)
    assert r.status_code == 200 and r.content == b"hi"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = requests.get(f"{base}/{experiment_id}/wire/hello world.txt", headers={"Range": "bytes=1-"}, timeout=30)
    assert r.status_code == 206 and r.content == b"i"
    r = requests.get(f"{base}/{experiment_id}/wire/missing.txt", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # (urllib3 removes literal dot segments itself, so only encoded ones reach the server)
    for bad in ["%2e%2e/x.txt", "a/..%2F..%2Fx.txt", "%252e%252e/x.txt"]:
        r = requests.put(f"{base}/{bad}", data=b"x", timeout=30)
        assert r.status_code == 400, bad
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad


def _rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_one_gib_round_trip_keeps_server_memory_flat(server_url, server_pid, experiment_id):
    """1 GiB up and down through the proxy: server RSS must grow by less than 64 MiB (streamed both ways)."""
    import threading

    size, block = 1 << 30, os.urandom(1 << 20)
    peak = {"rss": _rss_mib(server_pid)}
    base = peak["rss"]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _rss_mib(server_pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    url = f"{server_url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/mem/gib.bin"
    try:
        body = (block for _ in range(size >> 20))
        r = requests.put(url, data=body, headers={"Content-Type": "application/octet-stream"}, timeout=600)
        assert r.status_code == 200, r.text
        got = 0
        with requests.get(url, stream=True, timeout=600) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(1 << 20):
                got += len(chunk)
        assert got == size
    finally:
        stop.set()
        sampler.join()
        requests.delete(url, timeout=60)
    print(f"\n1 GiB up+down: server RSS {base:.1f} -> peak {peak['rss']:.1f} MiB")
    assert peak["rss"] - base < 64, f"server RSS grew {peak['rss'] - base:.1f} MiB (from {base:.1f})"
