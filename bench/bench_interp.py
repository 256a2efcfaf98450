"""Autointerpretation: speed of the full analysis, and its error rates against planted truth.

Speed: the full corrected analysis of the default data (`ws.example()`: 8 animals x 4979 frames, 10 stimuli x
3 repeats, 2 windows, the default 378-unit SAE, 1000 null samples), next to the original analysis (cycle-window
Cohen's d, `seed_table`) timed in the same process as the baseline.

Error rates (`--seeds N`): for N fresh virtual worms (8 animals each, seeds 0..N-1), train the default SAE,
interpret it, and count (1) planted stimulus responses found by a significant unit whose activation correlates
>= 0.8 with the planted driver in the animals that responded (the ground truth says which; a non-responder has
no response to track, so its frames are left out; the count over all animals is printed beside it), (2) significant tests on the null stimuli (Control, Fluorescein), and (3) placebo
draws (`Interpretation.calibrate`, 10 per worm) with any significant test.

Scaling (`--scaling`): the default SAE interprets N animals made from the 8 of the example (each copy's
activity rotated by a different number of frames, so no two are alike): the time for 16 and for 64 animals
in one process (linear in the animals would be 4x), and the peak resident memory of a fresh process
interpreting 128.

Floor (`--floor`): the default interpretation against the least memory traffic its shift null needs, timed
in the same process with plain numpy: one pass making the cumulative sums of the activations, and gathering
every animal's interval boundaries for each of the 1000 draws.

Threads (`--threads`): the default interpretation with BLAS and PyTorch on one thread (the default) and on
two, on an idle machine and with another process keeping one core busy.

    python bench/bench_interp.py              # speed only (about a minute)
    python bench/bench_interp.py --seeds 10   # plus error rates over 10 virtual worms (about 5 minutes)
    python bench/bench_interp.py --scaling --floor --threads
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import wormsae as ws
from wormsae.dictionary import unit_activations
from wormsae.interp import seed_table


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def speed():
    col = ws.example()
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False))
    A, index = unit_activations(res.sae, col)
    acts = [A[(index.key == r.key).to_numpy()] for r in col]
    seed_table(acts, col)  # warm-up
    _, original_s = timed(lambda: seed_table(acts, col))
    it, full_s = timed(lambda: ws.interpret(res.sae, col, n_null=1000, progress=False))
    n_tests = len(it.selectivity)
    print(f"full analysis: {full_s:.1f} s for {n_tests} tests ({res.sae.n_units} units x "
          f"{it.selectivity.stimulus.nunique()} stimuli x {it.selectivity.window.nunique()} windows), 1000 null samples")
    print(f"original analysis (cycle-window d, no null): {original_s:.2f} s; ratio full/original {full_s / original_s:.0f}x")
    print(f"significant: {it.selectivity.significant.sum()} tests in {it.significant().unit.nunique()} units")
    return full_s


def planted_recovery(col, truth, sae, it, responders_only=True):
    "Per planted stimulus: the best correlation of a significant unit with its planted driver (responding animals)."
    A, index = unit_activations(sae, col)
    D = np.concatenate([truth.drivers[k].to_numpy() for k in col.keys])
    names = list(truth.drivers[col.keys[0]].columns)
    out = {}
    for s in truth.selective_stimuli:
        f = truth.primary(s)
        rows = index.key.isin(truth.responders(f) if responders_only else col.keys).to_numpy()
        d = D[rows, names.index(f)]
        units = it.significant(stimulus=s).unit.unique()
        out[s] = max((np.corrcoef(A[rows, u], d)[0, 1] for u in units), default=np.nan)
    return out


def error_rates(n_seeds):
    rows = []
    for seed in range(n_seeds):
        col, truth = ws.virtual_worm(n_animals=8, seed=seed)
        res = ws.train_sae(col, train_cfg=ws.TrainConfig(seed=seed, progress=False))
        it = ws.interpret(res.sae, col, n_null=1000, seed=seed, progress=False)
        best = planted_recovery(col, truth, res.sae, it)
        best_all = planted_recovery(col, truth, res.sae, it, responders_only=False)
        placebo = it.calibrate(n_draws=10, seed=seed)
        sel = it.selectivity
        null = sel[sel.stimulus.isin(truth.null_stimuli)]
        rows.append({"seed": seed, "planted_found": int(sum(v >= 0.8 for v in best.values())), "planted": len(best),
                     "found_all_animals": int(sum(v >= 0.8 for v in best_all.values())),
                     "missed": ", ".join(f"{s} ({v:.2f})" for s, v in best.items() if not v >= 0.8) or "-",
                     "null_tests": len(null), "null_significant": int(null.significant.sum()),
                     "significant": int(sel.significant.sum()),
                     "placebo_draws_with_a_call": f"{int((placebo.significant > 0).sum())}/{len(placebo)}"})
        print(rows[-1], flush=True)
    t = pd.DataFrame(rows)
    print(t.to_string(index=False))
    print(f"\nplanted responses found: {t.planted_found.sum()}/{t.planted.sum()} (responding animals; over all animals "
          f"{t.found_all_animals.sum()}); "
          f"null-stimulus tests called significant: {t.null_significant.sum()}/{t.null_tests.sum()} "
          f"({t.null_significant.sum() / t.null_tests.sum():.2e}); seeds with any: {(t.null_significant > 0).sum()}/{len(t)}")


def tiled(col, n_animals):
    "n_animals made from col's: copy c of animal a is a's activity rotated by 397 c frames (schedules kept)."
    recs = []
    for i in range(n_animals):
        rec, copy = col[i % len(col)], i // len(col)
        recs.append(ws.Recording.from_array(np.roll(rec.traces, 397 * copy, axis=0), rec.neurons, fps=rec.fps,
                                            key=f"{rec.key}-{copy}", schedule=rec.schedule, behaviour=rec.behaviour))
    return ws.Collection(recs, neurons=col.neurons)


def scaling(sizes=(16, 64), memory_at=128):
    col = ws.example()
    sae = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False)).sae
    seconds = {}
    for n in sizes:
        data = tiled(col, n)
        _, seconds[n] = timed(lambda: ws.interpret(sae, data, progress=False))
        print(f"{n:4d} animals: {seconds[n]:.1f} s ({seconds[n] / n:.2f} s per animal)", flush=True)
    a, b = sizes
    print(f"{b} / {a} animals: {seconds[b] / seconds[a]:.2f}x the time (linear: {b / a:.0f}x)")
    with tempfile.TemporaryDirectory() as folder:
        sae.save(Path(folder) / "model")
        out = subprocess.run([sys.executable, __file__, "--memory-phase", str(memory_at), "--folder", folder],
                             capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{memory_at} animals in a fresh process: peak {r['peak_mb']:.0f} MB (after loading the data: "
          f"{r['built_mb']:.0f} MB; the traces alone {r['data_mb']:.0f} MB), {r['seconds']:.0f} s")


def memory_phase(n_animals, folder):
    "Interpret n_animals in this process and print a JSON line with its peak memory."
    data = tiled(ws.example(), n_animals)
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sae = ws.SAE.load(Path(folder) / "model")
    _, seconds = timed(lambda: ws.interpret(sae, data, progress=False))
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "built_mb": built,
                      "data_mb": sum(r.traces.nbytes for r in data) / 2 ** 20, "seconds": seconds}))


def floor():
    from wormsae.interp import DEFAULT_BASELINE, DEFAULT_WINDOWS, _doubled_cumsum, activations_by_recording, window_table
    col = ws.example()
    sae = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False)).sae
    acts = activations_by_recording(sae, col)
    wt = window_table(col, DEFAULT_WINDOWS, DEFAULT_BASELINE)
    bounds = [np.unique(wt[wt.recording == r][["start", "end", "base_start", "base_end"]].to_numpy()) for r in range(len(col))]
    rng = np.random.default_rng(0)

    def least_traffic():
        for A, b in zip(acts, bounds):
            C, C2 = _doubled_cumsum(A)
            rows = b[None, :] - rng.integers(0, len(A), size=1000)[:, None] + len(A)
            C[rows], C2[rows]
    least_traffic()
    floor_s = min(timed(least_traffic)[1] for _ in range(3))
    full_s = min(timed(lambda: ws.interpret(sae, col, progress=False))[1] for _ in range(3))
    print(f"default interpretation {full_s:.2f} s; memory-bound floor of its shift null {floor_s:.2f} s; "
          f"ratio {full_s / floor_s:.1f}x (best of 3 each)")


def busy_core():
    "A process that keeps one core busy until killed."
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def threads():
    import contextlib
    import torch
    from threadpoolctl import threadpool_limits
    import wormsae.interp as interp_module
    col = ws.example()
    sae = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False)).sae
    policy = interp_module.one_thread

    def once(n_threads):
        interp_module.one_thread = contextlib.nullcontext  # without the policy, so the limits below decide
        torch.set_num_threads(n_threads)
        try:
            with threadpool_limits(n_threads, user_api="blas"):
                return timed(lambda: ws.interpret(sae, col, progress=False))[1]
        finally:
            interp_module.one_thread = policy
    once(1)
    rows = {}
    for load in ("idle", "one core busy"):
        other = busy_core() if load != "idle" else None
        try:
            for n_threads in (1, 2):
                rows[load, n_threads] = min(once(n_threads) for _ in range(3))
        finally:
            if other:
                other.kill()
    for (load, n), s in rows.items():
        print(f"{load:14s} {n} thread(s) (BLAS and torch): {s:.2f} s ({s / rows['idle', 1]:.2f}x idle, one thread)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=0, help="also measure error rates over this many virtual worms")
    p.add_argument("--scaling", action="store_true", help="time 16 and 64 animals, peak memory at 128")
    p.add_argument("--floor", action="store_true", help="the default interpretation against its memory-bound floor")
    p.add_argument("--threads", action="store_true", help="one or two BLAS threads, idle and with one core busy")
    p.add_argument("--memory-phase", type=int, help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_phase:
        memory_phase(args.memory_phase, args.folder)
        raise SystemExit
    if not (args.scaling or args.floor or args.threads):
        speed()
    if args.seeds:
        error_rates(args.seeds)
    if args.scaling:
        scaling()
    if args.floor:
        floor()
    if args.threads:
        threads()
