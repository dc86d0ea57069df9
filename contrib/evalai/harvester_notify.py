"""Tell Harvester that an EvalAI submission was evaluated, with the metrics just computed.

Standard library only: copy this file next to your challenge's evaluation script and call
`notify(...)` at the end of `evaluate()` (see README.md beside this file). The request is signed with
HMAC-SHA256 over "<timestamp>.<body>" using the installation's webhook secret, so Harvester can refuse
forgeries and replays older than 5 minutes. A failure to notify never fails the evaluation: Harvester's
poller picks the submission up anyway.
"""
import hashlib
import hmac
import json
import os
import time
import urllib.request


def sign(secret, timestamp, body):
    """The X-Harvester-Signature value for `body` (bytes) sent at `timestamp` (str, Unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def notify(submission, result, url=None, secret=None, timeout=10):
    """POST {"submission": <the submission record>, "result": <evaluate()'s result>} to Harvester.

    submission: kwargs["submission_metadata"] as EvalAI passes it to evaluate().
    result: output["result"], e.g. [{"test_split": {"accuracy": 0.91, "f1": 0.88}}].
    url: https://harvester.internal/api/harvester/v1/evalai/<name>/webhook (or HARVESTER_WEBHOOK_URL).
    secret: the value of the installation's webhook_secret_env (or HARVESTER_WEBHOOK_SECRET).
    Returns True when Harvester queued the submission.
    """
    url = url or os.environ.get("HARVESTER_WEBHOOK_URL")
    secret = secret or os.environ.get("HARVESTER_WEBHOOK_SECRET")
    if not url or not secret:
        print("harvester_notify: HARVESTER_WEBHOOK_URL or HARVESTER_WEBHOOK_SECRET not set; skipped")
        return False
    body = json.dumps({"submission": submission, "result": result}, default=str).encode()
    ts = str(int(time.time()))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Harvester-Timestamp": ts,
        "X-Harvester-Signature": sign(secret, ts, body),
    })
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except Exception as e:  # never fail the evaluation over a notification
        print(f"harvester_notify: {e}")
        return False
