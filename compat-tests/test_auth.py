"""Auth (`--app-name basic-auth`) with the stock client and MLflow 3.17.2's AuthServiceClient: users, roles,
grants, basic and bearer credentials, a user who may read but not edit, searches filtered in the query,
and the JWT checks (expired, not yet valid, wrong audience or issuer, alg none, an HS256 token signed with
the RS256 public key, a tampered payload).

A server of its own per module (auth on): on SQLite, or on the postgresql pass's shared database.
HARVESTER_COMPAT_AUTH_URL (with HARVESTER_COMPAT_AUTH_ADMIN=user:password) runs the MLflow part against
an already running server instead, e.g. a stock `mlflow server --app-name basic-auth`; the parts only
Harvester has (tokens) skip there.
"""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server.auth.client import AuthServiceClient

from conftest import own_harvester

ADMIN = ("admin", "compat-admin-password")
SECRET = "compat-jwt-secret-0123456789abcdef"
EXTERNAL = os.environ.get("HARVESTER_COMPAT_AUTH_URL")

if not EXTERNAL and bool(os.environ.get("HARVESTER_COMPAT_STORE_URI")) != bool(os.environ.get("HARVESTER_COMPAT_ARTIFACTS")):
    pytest.skip("auth runs on the sqlite/local and postgresql/s3 passes", allow_module_level=True)


@contextlib.contextmanager
def harvester(tmp: Path, *flags, default_permission="READ", env=None):
    """A Harvester with auth on, its own admin and `default_permission`."""
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI") or f"sqlite:///{tmp}/auth.db"
    ini = tmp / "basic_auth.ini"
    ini.write_text(f"[mlflow]\ndefault_permission = {default_permission}\nadmin_username = {ADMIN[0]}\n"
                   f"admin_password = {ADMIN[1]}\n")
    with own_harvester(tmp, "--app-name", "basic-auth", *flags, store=store,
                       env={"MLFLOW_AUTH_CONFIG_PATH": str(ini), **(env or {})}) as url:
        yield url


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    if EXTERNAL:
        global ADMIN
        ADMIN = tuple(os.environ.get("HARVESTER_COMPAT_AUTH_ADMIN", "admin:" + ADMIN[1]).split(":", 1))
        yield EXTERNAL.rstrip("/")
        return
    with harvester(tmp_path_factory.mktemp("auth"), env={"HARVESTER_JWT_SECRET": SECRET}) as u:
        yield u


@contextlib.contextmanager
def as_user(user, password=None, token=None):
    """The stock client's credentials (MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN)."""
    keys = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
    saved = {k: os.environ.pop(k, None) for k in keys}
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    elif user:
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = user, password
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def new_user(url):
    name, password = f"u{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with as_user(*ADMIN):
        AuthServiceClient(url).create_user(name, password)
    return name, password


def code(exc):
    return exc.value.error_code


def test_users_basic_credentials_and_read_but_not_edit(url):
    auth = AuthServiceClient(url)
    with as_user(None), pytest.raises(MlflowException, match="You are not authenticated") as e:
        auth.create_user("x" * 12, "y" * 12)
    assert code(e) == "UNAUTHENTICATED"
    alice, bob = new_user(url), new_user(url)
    with as_user(*ADMIN):
        assert auth.get_user(alice[0]).is_admin is False
        with pytest.raises(MlflowException, match="at least 12 characters"):
            auth.create_user(f"short{uuid.uuid4().hex[:6]}", "short")
        with pytest.raises(MlflowException, match="already exists") as e:
            auth.create_user(alice[0], uuid.uuid4().hex)
        assert code(e) == "RESOURCE_ALREADY_EXISTS"
    client = MlflowClient(url)
    with as_user(*alice):
        exp = client.create_experiment(f"auth-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        client.log_metric(run.info.run_id, "m", 1.0)
        with pytest.raises(MlflowException, match="Permission denied") as e:
            auth.create_user("z" * 12, "z" * 12)
        assert code(e) == "PERMISSION_DENIED"
    with as_user(*bob):  # default_permission READ: bob reads alice's run, cannot write to it
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
        with pytest.raises(MlflowException, match="Permission denied") as e:
            client.log_metric(run.info.run_id, "m", 2.0)
        assert code(e) == "PERMISSION_DENIED"
        with pytest.raises(MlflowException, match="Permission denied"):
            client.delete_experiment(exp)
    r = requests.get(f"{url}/api/2.0/mlflow/users/current", auth=bob)
    assert r.json()["user"]["username"] == bob[0]
    r = requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
    assert requests.get(f"{url}/health").status_code == 200


def test_sign_up_form_is_csrf_protected(url):
    """The browser sign-up: `/signup`'s form carries a CSRF token bound to the session cookie; a post
    without it, or with another session's, is refused; a non-admin may not open the form."""
    import re
    form = f"{url}/api/2.0/mlflow/users/create-ui"
    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
    r = requests.post(form, data={"username": "x" * 8, "password": "y" * 12}, auth=ADMIN, headers=ctype)
    assert r.status_code == 400 and "The CSRF token is missing" in r.text
    with requests.Session() as browser:
        page = browser.get(f"{url}/signup", auth=ADMIN)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        name, password = f"s{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
        r = browser.post(form, data={"username": name, "password": password, "csrf_token": token},
                         auth=ADMIN, headers=ctype)
        assert r.status_code == 200 and f"Successfully signed up user: {name}" in r.text
        r = browser.post(form, data={"username": name, "password": password, "csrf_token": token},
                         auth=ADMIN, headers=ctype)
        assert f"Username has already been taken: {name}" in r.text
    # The token of one session is no good in another.
    with requests.Session() as other:
        other.get(f"{url}/signup", auth=ADMIN)
        r = other.post(form, data={"username": "q" * 8, "password": "q" * 12, "csrf_token": token},
                       auth=ADMIN, headers=ctype)
        assert r.status_code == 400 and "CSRF" in r.text
    assert requests.get(f"{url}/api/2.0/mlflow/users/current", auth=(name, password)).status_code == 200
    assert requests.get(f"{url}/signup", auth=(name, password)).status_code == 403


def test_grants_and_roles(url):
    auth, client = AuthServiceClient(url), MlflowClient(url)
    alice, bob = new_user(url), new_user(url)
    with as_user(*alice):
        exp = client.create_experiment(f"grant-{uuid.uuid4().hex[:8]}")
        run = client.create_run(exp)
        name = f"model-{uuid.uuid4().hex[:8]}"
        client.create_registered_model(name)
    with as_user(*ADMIN):
        auth.grant_user_permission(bob[0], "experiment", exp, "EDIT")
        assert auth.get_user_permission(bob[0], "experiment", exp).permission == "EDIT"
    with as_user(*bob):
        client.log_metric(run.info.run_id, "m", 3.0)  # EDIT now
        with pytest.raises(MlflowException, match="Permission denied"):
            client.delete_registered_model(name)
    with as_user(*ADMIN):
        auth.revoke_user_permission(bob[0], "experiment", exp)
        # A role of another workspace grants nothing on the default workspace's resources.
        elsewhere = auth.create_role(workspace="elsewhere", name=f"editors-{uuid.uuid4().hex[:6]}")
        auth.add_role_permission(elsewhere.id, "experiment", exp, "EDIT")
        auth.assign_role(bob[0], elsewhere.id)
        role = auth.create_role(workspace="default", name=f"editors-{uuid.uuid4().hex[:6]}")
        auth.add_role_permission(role.id, "registered_model", name, "MANAGE")
        auth.assign_role(bob[0], role.id)
        # bob's own grants live in a synthetic role (__user_<id>__), listed as in stock.
        assert role.id in [r.id for r in auth.list_user_roles(bob[0])]
    with as_user(*bob):
        with pytest.raises(MlflowException, match="Permission denied"):
            client.log_metric(run.info.run_id, "m", 4.0)
        client.set_registered_model_tag(name, "k", "v")
        client.delete_registered_model(name)
    with as_user(*ADMIN):
        auth.unassign_role(bob[0], role.id)
        auth.delete_role(role.id)
        with pytest.raises(MlflowException, match="not found") as e:
            auth.get_role(role.id)
        assert code(e) == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.skipif(bool(EXTERNAL), reason="a server of its own with default_permission NO_PERMISSIONS")
def test_search_is_filtered_in_the_query(tmp_path):
    """Of 8 experiments, a user may read 3 (grants on 3 ids; default NO_PERMISSIONS): pages of 2 come full and
    a page token walks exactly the 3; runs search likewise sees only runs of readable experiments."""
    with harvester(tmp_path, default_permission="NO_PERMISSIONS") as u:
        auth, client = AuthServiceClient(u), MlflowClient(u)
        owner, reader = new_user(u), new_user(u)
        tag = uuid.uuid4().hex[:8]
        with as_user(*owner):
            ids = [client.create_experiment(f"f-{tag}-{i}") for i in range(8)]
            hidden_run = [client.create_run(e) for e in ids][0].info.run_id
            client.create_registered_model(f"hidden-{tag}")
        with as_user(*ADMIN):
            for e in ids[1:4]:
                auth.grant_user_permission(reader[0], "experiment", e, "READ")
        with as_user(*reader):
            first = client.search_experiments(filter_string=f"name LIKE 'f-{tag}-%'", max_results=2)
            assert len(first) == 2 and first.token
            rest = client.search_experiments(filter_string=f"name LIKE 'f-{tag}-%'", max_results=2,
                                             page_token=first.token)
            assert sorted(e.experiment_id for e in [*first, *rest]) == sorted(ids[1:4]) and not rest.token
            runs = client.search_runs(ids, max_results=100)
            assert sorted(r.info.experiment_id for r in runs) == sorted(ids[1:4])
            with pytest.raises(MlflowException, match="Permission denied"):
                client.get_experiment(ids[0])
        # GraphQL answers what may not be read with a null field, as MLflow's GraphQL authorization does.
        q = {"query": "query($r: String!) { mlflowGetRun(input: {runId: $r}) { run { info { runId } } } }",
             "variables": {"r": hidden_run}}
        got = requests.post(f"{u}/graphql", json=q, auth=reader).json()
        assert hidden_run not in json.dumps(got) and not (got.get("data") or {}).get("mlflowGetRun")
        got = requests.post(f"{u}/graphql", json=q, auth=owner).json()
        assert got["data"]["mlflowGetRun"]["run"]["info"]["runId"] == hidden_run
        # The serving dashboard lists only the models the user may read.
        assert f"hidden-{tag}" not in requests.get(f"{u}/serving/", auth=reader).text
        assert f"hidden-{tag}" in requests.get(f"{u}/serving/", auth=owner).text


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hs256(claims, secret=SECRET, header=None):
    h = _b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = _b64(json.dumps(claims).encode())
    key = secret if isinstance(secret, bytes) else secret.encode()
    sig = _b64(hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{sig}"


def claims(sub, **over):
    now = int(time.time())
    return {"sub": sub, "iss": "harvester", "aud": "harvester", "iat": now, "nbf": now, "exp": now + 300, **over}


def status(url, token):
    return requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"},
                        headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.skipif(bool(EXTERNAL), reason="tokens are Harvester's")
def test_tokens_scopes_and_the_stock_client(url):
    alice = new_user(url)
    r = requests.post(f"{url}/api/harvester/v1/tokens", auth=alice, json={"scopes": ["read"], "expires_in": 120})
    assert r.status_code == 200, r.text
    read_only = r.json()["token"]
    full = requests.post(f"{url}/api/harvester/v1/tokens", auth=alice, json={}).json()["token"]
    client = MlflowClient(url)
    with as_user(None, token=full):
        exp = client.create_experiment(f"tok-{uuid.uuid4().hex[:8]}")
    with as_user(None, token=read_only):
        assert client.get_experiment(exp).name.startswith("tok-")
        with pytest.raises(MlflowException, match="Permission denied"):
            client.create_experiment(f"tok-{uuid.uuid4().hex[:8]}")
    assert requests.post(f"{url}/api/harvester/v1/tokens", headers={"Authorization": f"Bearer {read_only}"},
                         json={}).status_code == 403
    bad = requests.post(f"{url}/api/harvester/v1/tokens", auth=alice, json={"scopes": ["everything"]})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    serve = requests.post(f"{url}/api/harvester/v1/tokens", auth=alice,
                          json={"scopes": ["serve:invoke:some-model"]}).json()["token"]
    assert status(url, serve) == 403  # a serving scope reads no experiment
    assert status(url, hs256(claims(alice[0]))) == 200


@pytest.mark.skipif(bool(EXTERNAL), reason="tokens are Harvester's")
def test_invalid_tokens_are_refused(url, tmp_path):
    alice = new_user(url)
    now = int(time.time())
    refused = {
        "expired": hs256(claims(alice[0], exp=now - 120, nbf=now - 600)),
        "not yet valid": hs256(claims(alice[0], nbf=now + 600, exp=now + 900)),
        "wrong audience": hs256(claims(alice[0], aud="someone-else")),
        "wrong issuer": hs256(claims(alice[0], iss="someone-else")),
        "unknown user": hs256(claims("nobody-" + uuid.uuid4().hex[:6])),
        "another secret": hs256(claims(alice[0]), secret="another-secret-0123456789abcdef0123"),
        "alg none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(claims(alice[0])).encode()) + ".",
    }
    good = hs256(claims(alice[0]))
    h, p, s = good.split(".")
    refused["tampered payload"] = f"{h}.{_b64(json.dumps(claims(ADMIN[0])).encode())}.{s}"
    for what, token in refused.items():
        assert status(url, token) == 401, what
    assert status(url, good) == 200

    # RS256: a token signed with HS256 using the public key as the secret (algorithm confusion) is refused.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.hashes import SHA256

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "pub.pem").write_bytes(pub)
    with harvester(tmp_path, "--jwt-algorithm", "RS256", "--jwt-public-key", str(tmp_path / "pub.pem")) as u:
        carol = new_user(u)
        hdr = _b64(b'{"alg":"RS256","typ":"JWT"}')
        body = _b64(json.dumps(claims(carol[0])).encode())
        sig = key.sign(f"{hdr}.{body}".encode(), padding.PKCS1v15(), SHA256())
        assert status(u, f"{hdr}.{body}.{_b64(sig)}") == 200
        assert status(u, hs256(claims(carol[0]), secret=pub)) == 401
        assert status(u, hs256(claims(carol[0]), secret=pub, header={"alg": "RS256", "typ": "JWT"})) == 401


@pytest.mark.skipif(bool(EXTERNAL), reason="stock 3.17 dropped these routes; Harvester maps them onto grants")
def test_legacy_permission_routes(url):
    """`experiments/permissions/*` and `registered-models/permissions/*` of MLflow before 3.17, for old clients:
    the resource's MANAGE holder grants, reads, updates and deletes another user's permission."""
    owner, other = new_user(url), new_user(url)
    client = MlflowClient(url)
    with as_user(*owner):
        exp = client.create_experiment(f"legacy-{uuid.uuid4().hex[:8]}")
    base = f"{url}/api/2.0/mlflow/experiments/permissions"
    grant = {"experiment_id": exp, "username": other[0], "permission": "NO_PERMISSIONS"}
    assert requests.post(f"{base}/create", json=grant, auth=other).status_code == 403  # needs MANAGE
    r = requests.post(f"{base}/create", json=grant, auth=owner)
    assert r.status_code == 200 and r.json()["experiment_permission"]["permission"] == "NO_PERMISSIONS"
    assert requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp}, auth=other).status_code == 403
    assert requests.patch(f"{base}/update", json={**grant, "permission": "READ"}, auth=owner).status_code == 200
    got = requests.get(f"{base}/get", params={"experiment_id": exp, "username": other[0]}, auth=owner).json()
    assert got["experiment_permission"]["permission"] == "READ"
    assert requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp}, auth=other).ok
    assert requests.delete(f"{base}/delete", json={"experiment_id": exp, "username": other[0]}, auth=owner).ok
    r = requests.get(f"{base}/get", params={"experiment_id": exp, "username": other[0]}, auth=owner)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
