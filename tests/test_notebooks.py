"""Every notebook in ``NOTEBOOKS`` runs top to bottom without a cell error.

Each notebook runs in a fresh kernel of this interpreter (a kernel spec pointing at
``sys.executable`` is put first on ``JUPYTER_PATH``), in a temporary working directory, with
the environment its entry asks for. Notebooks are stored with the outputs of one clean run.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class NotebookCase:
    """A notebook to execute: its file, environment variables (name -> fixture giving the value)
    and how many figures it must draw."""

    name: str
    env_from_fixtures: dict[str, str] = field(default_factory=dict)
    min_figures: int = 0


NOTEBOOKS = [
    NotebookCase("explore_data.ipynb", env_from_fixtures={"SYMBIOSE_DATA_DIR": "small_data_dir"},
                 min_figures=4),
    NotebookCase("retraining_walkthrough.ipynb", env_from_fixtures={"SYMBIOSE_DATA_DIR": "small_data_dir"},
                 min_figures=1),
]


@pytest.fixture(scope="module")
def kernel_spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data directory whose ``python3`` kernel is this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor} (tests)",
            "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


def _ids(cases: list[NotebookCase]) -> list[str]:
    return [case.name for case in cases]


def test_every_notebook_in_the_folder_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(_ids(NOTEBOOKS))


@pytest.mark.parametrize("case", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_with_the_outputs_of_a_clean_run(case: NotebookCase) -> None:
    """Stored after one run top to bottom on its own small sample: cells numbered 1, 2, 3, ...,
    no error, its figures there, and tables shown in full (no cell cut to "...")."""
    import nbformat

    nb = nbformat.read(NOTEBOOK_DIR / case.name, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code cells"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert _count_outputs(code, lambda o: "image/png" in o.get("data", {})) >= case.min_figures
    tables = [o["data"]["text/html"] for cell in code for o in cell.outputs if "text/html" in o.get("data", {})]
    assert not [t for t in tables if re.search(r"<td>[^<]*\.\.\.</td>", t)]


@pytest.mark.parametrize("case", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_without_errors(case: NotebookCase, tmp_path: Path,
                                      kernel_spec_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      request: pytest.FixtureRequest) -> None:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        [str(kernel_spec_path), *filter(None, [os.environ.get("JUPYTER_PATH")])]))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name, fixture in case.env_from_fixtures.items():
        monkeypatch.setenv(name, str(request.getfixturevalue(fixture)))
    assert KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv[0] == sys.executable

    nb = nbformat.read(NOTEBOOK_DIR / case.name, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_SECONDS,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert _count_outputs(code, lambda o: "image/png" in o.get("data", {})) >= case.min_figures


def _count_outputs(cells: list, matches: Callable[[dict], bool]) -> int:
    return sum(1 for cell in cells for output in cell.outputs if matches(output))
