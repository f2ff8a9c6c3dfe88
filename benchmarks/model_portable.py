"""The registered model outside Symbiose: a fresh virtualenv with only the model's requirements.txt
loads it and predicts, and ``mlflow models serve`` answers ``/invocations``; times are printed.

    python -m benchmarks.model_portable --data DIR [--model models:/symbiose-nba@champion]
        [--as-of 2025-07-01] [--workdir /tmp/x] [--env-manager local|virtualenv|uv]

Uses the tracking store of ``MLFLOW_TRACKING_URI`` / ``SYMBIOSE_HOME`` like every command. The
request is the data's snapshot rows of five accounts with its current offers and policy as
parameters (``models.model_input``); the check fails unless both answers equal the in-process
pyfunc's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd

from features.dataset import resolve_as_of
from features.loading import load_dataset
from features.snapshot import build_snapshot
from models.model_input import decision_context, offers_param, policy_param, snapshot_categories
from models.registry import configure_tracking, resolve_model_uri

LOAD_AND_PREDICT = r"""
import json, sys, time
started = time.perf_counter()
try:
    import models  # noqa: F401
    sys.exit("the project is importable in the fresh environment")
except ModuleNotFoundError:
    pass
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
loaded = time.perf_counter()
frame = pd.read_json(sys.argv[2], orient="split")
doubles = [c.name for c in model.metadata.get_input_schema().inputs if getattr(c.type, "name", "") == "double" and c.name in frame]
out = model.predict(frame.astype({c: "float64" for c in doubles}), params=json.load(open(sys.argv[3])))
print(json.dumps({"load_s": loaded - started, "predict_s": time.perf_counter() - loaded,
                  "rows": len(out), "first": out.iloc[0].to_dict()}, default=str))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="models:/symbiose-nba@champion")
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--env-manager", default="local", choices=["local", "virtualenv", "uv"])
    args = parser.parse_args(argv)
    configure_tracking()
    uri, version = resolve_model_uri(args.model)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="symbiose-portable-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(work / "model")))
    model = mlflow.pyfunc.load_model(str(model_dir))
    pipeline = model.unwrap_python_model().pipeline

    dataset = load_dataset(args.data)
    as_of = resolve_as_of(dataset, args.as_of)
    data = dataset.before(as_of)
    snapshot = build_snapshot(data, as_of, pipeline.specs, snapshot_categories(decision_context(data)["actions"], pipeline))
    snapshot = snapshot[snapshot["account_id"].isin(snapshot["account_id"].unique()[:5])].reset_index(drop=True)
    snapshot = snapshot.astype({c: "float64" for c in snapshot.select_dtypes(include=["integer"]).columns})
    params = {"offers": offers_param(data.offers), "policy": policy_param(data.policy), "top_k": 3}
    (work / "snapshot.json").write_text(snapshot.to_json(orient="split", date_format="iso", double_precision=15))
    (work / "params.json").write_text(json.dumps(params))
    expected = model.predict(snapshot, params=params)

    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(model_dir / "requirements.txt")],
                   check=True)
    install_s = time.perf_counter() - started
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(venv / "bin" / "python"), "-c", LOAD_AND_PREDICT, str(model_dir),
                           str(work / "snapshot.json"), str(work / "params.json")],
                          cwd=work, env=clean_env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"fresh environment could not load or predict:\n{done.stderr[-4000:]}")
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    if fresh["rows"] != len(expected):
        sys.exit(f"fresh environment gave {fresh['rows']} rows, expected {len(expected)}")

    port = _free_port()
    served_env = {**clean_env, "PATH": f"{venv / 'bin'}{os.pathsep}{clean_env.get('PATH', '')}"}
    started = time.perf_counter()
    server = subprocess.Popen([str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir), "-p", str(port),
                               "--host", "127.0.0.1", "--env-manager", args.env_manager],
                              cwd=work, env=served_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = json.dumps({"dataframe_split": json.loads((work / "snapshot.json").read_text()),
                           "params": params}).encode()
        answer, ready_s, latency_s = None, None, None
        while time.perf_counter() - started < 900 and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
            except OSError:
                time.sleep(0.5)
                continue
            ready_s = time.perf_counter() - started
            request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                             headers={"Content-Type": "application/json"})
            sent = time.perf_counter()
            answer = json.loads(urllib.request.urlopen(request, timeout=120).read())
            latency_s = time.perf_counter() - sent
            break
        if answer is None:
            server.kill()
            sys.exit(f"mlflow models serve did not answer:\n{(server.stdout.read() if server.stdout else '')[-4000:]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    served = pd.DataFrame(answer["predictions"])
    same = served["account_id"].tolist() == expected["account_id"].tolist() and \
        served["offer_id"].fillna("").tolist() == expected["offer_id"].fillna("").tolist()
    if not same:
        sys.exit("mlflow models serve answered other suggestions than the in-process model")
    print(json.dumps({
        "model": version, "python": sys.version.split()[0], "requirements": (model_dir / "requirements.txt").read_text().split(),
        "fresh_venv_install_s": round(install_s, 1), "fresh_load_s": round(fresh["load_s"], 2),
        "fresh_predict_s": round(fresh["predict_s"], 3), "serve_env_manager": args.env_manager,
        "serve_ready_s": round(ready_s or 0, 1), "invocation_latency_s": round(latency_s or 0, 3),
        "accounts_in_request": int(snapshot["account_id"].nunique()), "suggestions": len(served),
    }, indent=2))


if __name__ == "__main__":
    main()
