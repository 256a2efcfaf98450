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


def test_the_sweep_table_is_what_training_each_configuration_alone_gives():
    "The grid is trained in stacks of configurations; every row must be what that configuration's own training gives."
    import numpy as np
    import pandas as pd
    import wormsae as ws
    from wormsae.data import Collection, Recording
    from wormsae.train import TrainConfig

    rng = np.random.default_rng(1)
    basis = rng.normal(size=(4, 8))
    animals = Collection([Recording.from_array(rng.exponential(size=(400, 4)) @ basis + 0.1 * rng.normal(size=(400, 8)),
                                               [f"n{j}" for j in range(8)], fps=1, key=f"a{i}") for i in range(4)])
    tc = TrainConfig(steps=30, batch_size=64, n_seeds=2, threads=1)  # one thread: see tests/test_train.py
    table = ws.sweep(animals, activations=("topk", "relu"), sparsity={"k": (1, 2, 3), "l1": (0.01, 0.3)}, n_val=1,
                     n_jobs=1, pca=False, train_cfg=tc, progress=False).table
    train, val = animals.split(n_test=1, seed=0)
    alone = TrainConfig(steps=30, batch_size=64, n_seeds=2, threads=1, progress=False, n_val=0)
    rows = []
    for act, field, values in (("topk", "k", (1, 2, 3)), ("relu", "l1", (0.01, 0.3))):
        for v in values:
            m = ws.train_sae(train, ws.SAEConfig(8, expansion=2.0, activation=act, **{field: v}), alone, val=val).metrics
            rows.append({"activation": act, "expansion": 2.0, field: v, "d_sae": 16,
                         **{c: m[c] for c in ("fvu", "l0", "dead_fraction", "train_fvu", "n_stable", "mean_stability")}})
    expected = pd.DataFrame(rows)
    assert (table.seconds > 0).all()
    pd.testing.assert_frame_equal(table[expected.columns], expected, check_dtype=False)
