"""Harvester's pyfunc worker: one process per served model version, in its own sandbox.

Harvester starts it with a clean environment, a scratch working directory and resource limits. It
loads the model with `mlflow.pyfunc.load_model`, listens on a Unix socket, prints READY and serves
the one connection Harvester opens. Frames both ways: a 4-byte header length and a 4-byte body
length (big-endian), a JSON header, then the body. Requests carry {"id", "ct"} and the raw HTTP body;
replies carry {"id", "status", "ct"} and the body `mlflow models serve` would send, because they are
computed by MLflow's own scoring code (`mlflow.pyfunc.scoring_server.invocations`).

Micro-batching: requests that are waiting together and parse to data frames of the same columns and
dtypes (no params) are predicted in one call when the model's signature is column-based, and the
result is split back by row counts. Whatever does not fit that (other formats, params, a failed batch
predict, a result whose length is not the row count) is answered one by one, exactly as stock does.
"""

import json
import os
import select
import socket
import struct
import sys
from io import StringIO

FRAME = struct.Struct(">II")
READY = "HARVESTER-WORKER-READY"


def _args():
    a = sys.argv[1:]
    return {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)}


def _frames(buf):
    """Complete frames at the start of `buf` (removed from it)."""
    out = []
    while len(buf) >= FRAME.size:
        hlen, blen = FRAME.unpack_from(buf)
        end = FRAME.size + hlen + blen
        if len(buf) < end:
            break
        header = json.loads(bytes(buf[FRAME.size : FRAME.size + hlen]))
        out.append((header, bytes(buf[FRAME.size + hlen : end])))
        del buf[:end]
    return out


def _reply(conn, rid, status, ct, body):
    if isinstance(body, str):
        body = body.encode("utf-8")
    header = json.dumps({"id": rid, "status": status, "ct": ct}).encode()
    conn.sendall(FRAME.pack(len(header), len(body)) + header + body)


class Server:
    def __init__(self, model, max_batch):
        from mlflow.exceptions import MlflowException
        from mlflow.pyfunc import scoring_server

        self.model = model
        self.ss = scoring_server
        self.MlflowException = MlflowException
        self.input_schema = model.metadata.get_input_schema()
        schema = self.input_schema
        self.max_batch = max_batch
        # Row-wise batching only for column-based signatures (a tensor or no signature says nothing
        # about rows being independent).
        self.batchable = max_batch > 1 and schema is not None and not schema.is_tensor_spec()

    def single(self, body, ct):
        """Exactly what `mlflow models serve` answers (its FastAPI handler around `invocations`)."""
        try:
            r = self.ss.invocations(body, ct, self.model, self.input_schema)
            return r.status, r.mimetype, r.response
        except self.MlflowException as e:
            return e.get_http_status_code(), "application/json", e.serialize_as_json()
        except Exception:  # stock's server answers an uncaught exception with a bare 500
            import traceback

            traceback.print_exc()
            return 500, "text/plain; charset=utf-8", "Internal Server Error"

    def frame_of(self, body, ct):
        """The request's data frame when it can join a batch, else None."""
        import pandas as pd

        kind = ct.split(";")[0].strip()
        rest = [p.strip().lower() for p in ct.split(";")[1:] if p.strip()]
        if rest not in ([], ["charset=utf-8"]):
            return None
        try:
            if kind == "application/json":
                parsed = self.ss._parse_json_data(body, self.model.metadata, self.input_schema)
                if parsed.is_unified_llm_input or parsed.params is not None:
                    return None
                data = parsed.data
            elif kind == "text/csv":
                data = self.ss.parse_csv_input(StringIO(body.decode("utf-8")), self.input_schema)
            else:
                return None
        except Exception:
            return None
        return data if isinstance(data, pd.DataFrame) and len(data) > 0 else None

    def batch(self, frames):
        """Predict several frames in one call; their answers, or None to answer them one by one."""
        import numpy as np
        import pandas as pd

        sizes = [len(f) for f in frames]
        try:
            preds = self.model.predict(pd.concat(frames, ignore_index=True))
        except Exception:
            return None
        if isinstance(preds, (pd.DataFrame, pd.Series)):
            if len(preds) != sum(sizes):
                return None
            cut = lambda a, b: preds.iloc[a:b]  # noqa: E731
        elif isinstance(preds, (np.ndarray, list)):
            if len(preds) != sum(sizes):
                return None
            cut = lambda a, b: preds[a:b]  # noqa: E731
        else:
            return None
        out, at = [], 0
        try:
            for n in sizes:
                buf = StringIO()
                self.ss.predictions_to_json(cut(at, at + n), buf)
                out.append((200, "application/json", buf.getvalue()))
                at += n
        except Exception:
            return None
        return out

    def handle(self, reqs):
        """Answers for `reqs` [(header, body)], in order."""
        answers = [None] * len(reqs)
        groups = {}
        if self.batchable and len(reqs) > 1:
            for i, (h, body) in enumerate(reqs):
                f = self.frame_of(body, h.get("ct") or "")
                if f is not None:
                    key = (tuple(f.columns), tuple(str(t) for t in f.dtypes))
                    groups.setdefault(key, []).append((i, f))
        for members in groups.values():
            chunk, rows = [], 0
            for i, f in members + [(None, None)]:
                if i is None or (chunk and rows + len(f) > self.max_batch):
                    if len(chunk) > 1:
                        done = self.batch([x for _, x in chunk])
                        if done is not None:
                            for (j, _), a in zip(chunk, done):
                                answers[j] = a
                    chunk, rows = [], 0
                if i is not None:
                    chunk.append((i, f))
                    rows += len(f)
        for i, (h, body) in enumerate(reqs):
            if answers[i] is None:
                answers[i] = self.single(body, h.get("ct") or "")
        return answers


def main():
    args = _args()
    from mlflow.pyfunc import load_model

    model = load_model(args["--model"])
    os.environ["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
    server = Server(model, int(args.get("--max-batch", "1")))
    wait = float(args.get("--batch-wait-ms", "0")) / 1000.0
    path = args["--socket"]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    print(READY, flush=True)
    conn, _ = listener.accept()
    listener.close()
    os.unlink(path)
    buf = bytearray()
    pending = []
    while True:
        if not pending:
            data = conn.recv(1 << 20)
            if not data:
                return
            buf += data
            pending.extend(_frames(buf))
            continue
        # Take whatever else has arrived (and, with --batch-wait-ms, what arrives meanwhile).
        deadline_wait = wait
        while True:
            ready, _, _ = select.select([conn], [], [], deadline_wait)
            if not ready:
                break
            data = conn.recv(1 << 20)
            if not data:
                return
            buf += data
            pending.extend(_frames(buf))
            deadline_wait = 0
        reqs, pending = pending, []
        for (h, _), (status, ct, body) in zip(reqs, server.handle(reqs)):
            _reply(conn, h["id"], status, ct, body)


if __name__ == "__main__":
    main()
