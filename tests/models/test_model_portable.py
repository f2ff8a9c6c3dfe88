"""The logged model carries its code and pins what that code imports: it loads and predicts in a
Python whose path does not hold the project (no checkout, no editable install)."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import mlflow
import pandas as pd
from packaging.markers import default_environment
from packaging.requirements import Requirement

from features.snapshot import build_snapshot
from models.model_input import offers_param, policy_param
from models.pyfunc import MODEL_DISTRIBUTIONS
from models.registry import configure_tracking
from tests.recommendation_frames import assert_same_recommendations

#: Loads and scores with a bare interpreter: ``-S`` skips site (so the editable install's path
#: hook never runs) and only the environment's site-packages are on PYTHONPATH.
SCRIPT = r"""
import json, sys
try:
    import models  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    sys.exit("the project is importable before the model is loaded: " + models.__file__)
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
snapshot = pd.read_parquet(sys.argv[2])
out = model.predict(snapshot, params=json.loads(open(sys.argv[3]).read()))
out.to_parquet(sys.argv[4])
import models
import os
code = os.path.dirname(os.path.dirname(models.__file__))
print(json.dumps({"models_file": models.__file__,
                  "modules": sorted({name.split(".")[0] for name in sys.modules}),
                  "code_files": sorted({m.__file__ for m in list(sys.modules.values())
                                        if (getattr(m, "__file__", None) or "").startswith(code)})}))
"""


def _closure(names: list[str]) -> set[str]:
    """The distributions ``names`` need, with everything they require (installed ones only)."""
    env = default_environment()
    seen: set[str] = set()
    todo = [n.lower().replace("_", "-") for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in reqs:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                todo.append(req.name.lower().replace("_", "-"))
    return seen


def test_model_loads_and_predicts_without_the_project_on_the_path(trained_run, symbiose_home, small_dataset,
                                                                  as_of, tmp_path) -> None:
    configure_tracking()
    model = mlflow.pyfunc.load_model(trained_run.model_uri)
    pipeline = model.unwrap_python_model().pipeline
    data = small_dataset.before(as_of)
    snapshot = build_snapshot(data, as_of, pipeline.specs, pipeline.categories)
    snapshot = snapshot[snapshot["account_id"].isin(snapshot["account_id"].unique()[:30])].reset_index(drop=True)
    snapshot = snapshot.astype({c: "float64" for c in snapshot.select_dtypes(include=["integer"]).columns})
    params = {"offers": offers_param(data.offers), "policy": policy_param(data.policy), "top_k": 2}
    snapshot.to_parquet(tmp_path / "snapshot.parquet")
    (tmp_path / "params.json").write_text(json.dumps(params))
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLFLOW_", "SYMBIOSE_"))}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{symbiose_home / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-S", "-c", SCRIPT, trained_run.model_uri, str(tmp_path / "snapshot.parquet"),
                           str(tmp_path / "params.json"), str(tmp_path / "out.parquet")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The code came from the model's own copy, not from the checkout.
    assert not Path(report["models_file"]).resolve().is_relative_to(Path(__file__).resolve().parents[2])
    assert f"{os.sep}code{os.sep}models{os.sep}" in report["models_file"]
    assert_same_recommendations(pd.read_parquet(tmp_path / "out.parquet"), model.predict(snapshot, params=params))
    # Nothing of the service or the command line is needed to load and predict ...
    modules = set(report["modules"])
    assert not modules & {"serving", "typer", "pydantic_settings"}, sorted(modules)
    # ... and every distribution that the model's modules import when they load is pinned or
    # required by a pinned one (optional imports of those libraries, e.g. MLflow's of pyspark
    # when present, are theirs).
    owners = packages_distributions()
    needed = _closure(list(MODEL_DISTRIBUTIONS))
    names = {name for file in report["code_files"] for name in _module_level_imports(Path(file))}
    third_party = {n for n in names if n not in sys.stdlib_module_names and n not in ("features", "models")}
    assert third_party, report["code_files"]
    imported = {d.lower().replace("_", "-") for n in third_party for d in owners.get(n, [n])}
    assert imported <= needed, sorted(imported - needed)


def _module_level_imports(path: Path) -> set[str]:
    """Top-level names a module imports when it loads (not inside functions or TYPE_CHECKING)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_logged_requirements_pin_the_installed_versions(trained_run) -> None:
    from importlib.metadata import version

    configure_tracking()
    local = Path(mlflow.artifacts.download_artifacts(f"{trained_run.model_uri}/requirements.txt"))
    text = local.read_text()
    pins = dict(m.groups() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, flags=re.M))
    for name in MODEL_DISTRIBUTIONS:
        assert pins.get(name) == version(name), (name, pins.get(name))
    assert "symbiose" not in text
