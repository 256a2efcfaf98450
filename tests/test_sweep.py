"Sweeps with worker processes, started from scripts in a fresh Python (what a user's script does)."
import os
import subprocess
import sys
import textwrap

from conftest import ROOT

SETUP = """
import numpy as np
import wormsae as ws
from wormsae.data import Collection, Recording
from wormsae.train import TrainConfig

rng = np.random.default_rng(0)
animals = Collection([Recording.from_array(rng.normal(size=(300, 6)), [f"n{j}" for j in range(6)], fps=1, key=f"a{i}")
                      for i in range(3)])


def run_sweep():
    result = ws.sweep(animals, activations=("topk",), sparsity={"k": (1, 2)}, n_val=1, n_jobs=2, pca=False,
                      train_cfg=TrainConfig(steps=5, batch_size=64), progress=False)
    print("rows:", len(result.table))
"""


def run_script(tmp_path, body: str, timeout: float) -> subprocess.CompletedProcess:
    script = tmp_path / "my_sweep.py"
    script.write_text(textwrap.dedent(SETUP) + textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=tmp_path)


def test_a_script_without_main_guard_stops_with_what_to_do(tmp_path):
    out = run_script(tmp_path, "run_sweep()\n", timeout=120)  # before the check, this waited forever
    assert out.returncode != 0
    assert 'must be under `if __name__ == "__main__":`' in out.stderr, out.stderr[-2000:]
    assert "my_sweep.py, line" in out.stderr and "n_jobs=1" in out.stderr
    assert "rows:" not in out.stdout


def test_a_guarded_script_runs_its_workers(tmp_path):
    out = run_script(tmp_path, 'if __name__ == "__main__":\n    run_sweep()\n', timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "rows: 2" in out.stdout
