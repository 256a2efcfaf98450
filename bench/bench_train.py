"""Training speed and quality against the original training loop, measured in one process.

The reference re-implements the original model and loop exactly: Linear 189->378, ReLU, Linear back,
Adam lr 1e-3, a DataLoader over a TensorDataset (batch 1024, shuffle), 100 epochs, loss MSE + 5 * mean|a|.
Both models see the same standardised training frames (missing entries 0) and are scored with the same
functions on the same two held-out animals. Timings are wall-clock on this machine; compare ratios.

    python bench/bench_train.py            # full comparison (the reference takes about a minute)
    python bench/bench_train.py --epochs 10  # a shorter reference, for a quick look
    python bench/bench_train.py --ensemble   # the seed ensemble against one seed, sequential seeds, the old default
    python bench/bench_train.py --stability  # planted features learned again by another seed (virtual worms 1-3)
    python bench/bench_train.py --contention  # default training on an idle machine and with one core kept busy
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

import wormsae as ws
from wormsae.metrics import STABLE_AT, STABLE_COSINE
from wormsae.dictionary import PCA, NeuronBasis, fit_norm, prepare_inputs
from wormsae.metrics import evaluate, fvu, l0, dead_fraction


def reference_loop(Z, epochs, seed=0):
    "The original training loop, unchanged except for the seed."
    torch.manual_seed(seed)
    n = Z.shape[1]
    enc, dec = torch.nn.Linear(n, 2 * n), torch.nn.Linear(2 * n, n)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(Z)), batch_size=1024, shuffle=True)
    for _ in range(epochs):
        for (xb,) in loader:
            a = torch.relu(enc(xb))
            loss = ((dec(a) - xb) ** 2).mean() + 5 * a.abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return enc, dec


def matmul_gflops(B, N, U, repeat=300):
    "GFLOP/s of a plain (B,N)@(N,U) matmul, the ceiling for this layer size."
    a, b = torch.randn(B, N), torch.randn(N, U)
    for _ in range(20):
        a @ b
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * B * N * U * repeat / (time.perf_counter() - t) / 1e9


def peak_memory_of_default_training() -> float:
    "Peak resident memory (MB) of a fresh process that loads the example and trains with the defaults."
    code = ("import resource, wormsae as ws; c = ws.example(); ws.train_sae(c); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1])


def main(epochs):
    col = ws.example()
    train, val = col.split(n_test=2, seed=0)
    truth = ws.example_ground_truth()

    ws.train_sae(train, val=val, train_cfg=ws.TrainConfig(progress=False, steps=10))  # warm-up (allocations, threads)
    runs = []
    for _ in range(3):  # the whole call: normalisation, training and evaluation; median of three
        t = time.perf_counter()
        res = ws.train_sae(train, val=val, train_cfg=ws.TrainConfig(progress=False))
        runs.append(time.perf_counter() - t)
    ours_s = float(np.median(runs))

    base = NeuronBasis(res.sae.norm)  # identical standardisation for the reference
    Ztr, _, _ = prepare_inputs(base, train)
    Zva, Mva, _ = prepare_inputs(base, val)
    reference_loop(Ztr[:2048], 1)  # warm-up
    t = time.perf_counter()
    enc, dec = reference_loop(Ztr, epochs)
    ref_s = time.perf_counter() - t
    with torch.no_grad():
        A = torch.relu(enc(torch.as_tensor(Zva)))
        ref_fvu, ref_l0, ref_dead = fvu(Zva, dec(A).numpy(), Mva), l0(A.numpy()), dead_fraction(A.numpy())

    # the same comparison at the reference's own sparsity: TopK with k = the reference's L0, default training
    k_ref = max(1, round(ref_l0))
    t = time.perf_counter()
    matched = ws.train_sae(train, ws.SAEConfig(len(col.neurons), k=k_ref), val=val, train_cfg=ws.TrainConfig(progress=False))
    matched_s = time.perf_counter() - t
    # and with a quarter fewer steps: what it takes to stay within a tenth of the reference's time at that sparsity
    t = time.perf_counter()
    short = ws.train_sae(train, ws.SAEConfig(len(col.neurons), k=k_ref), val=val,
                         train_cfg=ws.TrainConfig(progress=False, steps=150))
    short_s = time.perf_counter() - t

    m = res.metrics
    k = max(1, round(m["l0"]))
    pca_fvu = evaluate(PCA(k).fit(train, norm=res.sae.norm), val)["fvu"]
    mcc = evaluate(res.sae, val, truth)["mcc"]
    tc, cfg = res.train_config, res.sae.cfg
    # five matrix products per step (encoder and decoder forward; decoder input and weight gradients; encoder
    # weight gradient), 2*B*N*U flops each
    flops = tc.n_steps(len(Ztr)) * 10 * tc.batch_size * cfg.d_in * cfg.d_sae * tc.n_seeds
    achieved = flops / res.seconds / 1e9
    ceiling = matmul_gflops(tc.batch_size, cfg.d_in, cfg.d_sae)
    out = {
        "reference": {"epochs": epochs, "seconds": ref_s, "val_fvu": ref_fvu, "l0": ref_l0, "dead_fraction": ref_dead},
        "wormsae_default": {"seconds": ours_s, "seconds_runs": runs, "loop_seconds": res.seconds, "val_fvu": m["val_fvu"], "l0": m["l0"],
                            "dead_fraction": m["dead_fraction"], "mcc": mcc, "pca_fvu_same_k": pca_fvu, "pca_k": k},
        "wormsae_at_reference_l0": {"k": k_ref, "seconds": matched_s, "val_fvu": matched.metrics["val_fvu"],
                                    "l0": matched.metrics["l0"], "dead_fraction": matched.metrics["dead_fraction"]},
        "wormsae_at_reference_l0_150_steps": {"k": k_ref, "seconds": short_s, "val_fvu": short.metrics["val_fvu"],
                                              "l0": short.metrics["l0"]},
        "time_ratio_reference_over_ours": ref_s / ours_s,
        "training_gflops": achieved, "plain_matmul_gflops": ceiling, "fraction_of_matmul": achieved / ceiling,
        "peak_memory_mb_default_training": peak_memory_of_default_training(),
    }
    print(json.dumps(out, indent=1))
    print(f"\nreference ({epochs} epochs): {ref_s:.1f} s, held-out FVU {ref_fvu:.3f} at L0 {ref_l0:.1f}")
    print(f"wormsae default:        {ours_s:.1f} s, held-out FVU {m['val_fvu']:.3f} at L0 {m['l0']:.1f} "
          f"(PCA {k}: {pca_fvu:.3f}), MCC {mcc:.2f}, dead {100 * m['dead_fraction']:.1f}%")
    print(f"wormsae at k={k_ref}:        {matched_s:.1f} s, held-out FVU {matched.metrics['val_fvu']:.3f} at L0 "
          f"{matched.metrics['l0']:.1f} (the reference's sparsity; {ref_s / matched_s:.1f}x faster)")
    print(f"  and 150 steps:        {short_s:.1f} s, held-out FVU {short.metrics['val_fvu']:.3f} ({ref_s / short_s:.1f}x faster)")
    print(f"speed-up {ref_s / ours_s:.1f}x; training {achieved:.1f} GFLOP/s = {100 * achieved / ceiling:.0f}% of a plain "
          f"{tc.batch_size}x{cfg.d_in}x{cfg.d_sae} matmul ({ceiling:.1f} GFLOP/s); peak memory "
          f"{out['peak_memory_mb_default_training']:.0f} MB")


def _timed(train, val, cfg, tc, repeats):
    "Median wall time of the whole train_sae call, and the last result."
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = ws.train_sae(train, cfg, tc, val=val)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), res


def ensemble_cost(repeats=3):
    "Default training (3 seeds in one stack) against one seed, three seeds one after another, and the previous default."
    col = ws.example()
    train, val = col.split(n_test=2, seed=0)
    tc = ws.TrainConfig(progress=False)
    ws.train_sae(train, val=val, train_cfg=ws.TrainConfig(progress=False, steps=10))  # warm-up
    old_s, old = _timed(train, val, ws.SAEConfig(len(col.neurons), expansion=2.0, k=16),
                        ws.TrainConfig(progress=False, n_seeds=1, steps=200, lr=1.2e-2), repeats)
    new_s, new = _timed(train, val, None, tc, repeats)
    one_s, one = _timed(train, val, None, ws.TrainConfig(progress=False, n_seeds=1), repeats)
    seq_s = 0.0
    for seed in new.sae.ensemble["seeds"]:
        s_, _ = _timed(train, val, None, ws.TrainConfig(progress=False, n_seeds=1, seed=seed), 1)
        seq_s += s_
    print(f"previous default ({old.sae.n_units} units, k={old.sae.cfg.k}, 200 steps, 1 seed): {old_s:.1f} s, held-out FVU {old.metrics['val_fvu']:.3f}")
    print(f"default ({new.sae!r}, {tc.steps} steps, {tc.n_seeds} seeds in one stack): {new_s:.1f} s "
          f"({new_s / old_s:.2f}x the previous default), held-out FVU {new.metrics['val_fvu']:.3f}, "
          f"{new.metrics['n_stable']} of {new.sae.n_units} units stable")
    print(f"one seed of the default: {one_s:.1f} s (the stack of {tc.n_seeds} costs {new_s / one_s:.2f}x one seed)")
    print(f"{tc.n_seeds} seeds one after another: {seq_s:.1f} s (the stack takes {new_s / seq_s:.2f}x of that)")


def _corr(A, D):
    A = (A - A.mean(0)) / (A.std(0) + 1e-9)
    D = (D - D.mean(0)) / (D.std(0) + 1e-9)
    return D.T @ A / len(A)


def stability(worms=(1, 2, 3), seeds=(0, 1)):
    """For each planted feature of virtual worms other than the default's: do two default trainings from different
    seeds each have a unit correlating >= 0.8 with the planted driver on the held-out animals, with decoders at
    cosine >= 0.9 and both reported stable (stability >= 0.6)?"""
    from wormsae.dictionary import unit_activations
    for w in worms:
        col, truth = ws.virtual_worm(n_animals=8, seed=w)
        train, val = col.split(n_test=2, seed=0)
        D = np.concatenate([truth.drivers[k].to_numpy() for k in val.keys])
        names = list(truth.drivers[val.keys[0]].columns)
        key = np.concatenate([[k] * val[k].n_frames for k in val.keys])
        responds = getattr(truth, "responders", None)  # a virtual worm whose animals differ: judge on responders only
        rows = [np.isin(key, responds(f)) if responds else np.ones(len(key), bool) for f in names]
        fits = []
        for s in seeds:
            res = ws.train_sae(train, val=val, train_cfg=ws.TrainConfig(seed=s, progress=False))
            A = unit_activations(res.sae, val)[0]
            C = np.stack([_corr(A[r], D[r][:, [j]])[0] if r.sum() > 2 else np.full(A.shape[1], np.nan)
                          for j, r in enumerate(rows)])
            W = res.sae.decoder_weights()
            fits.append((res, np.nanmax(C, 1) if np.isfinite(C).any() else C[:, 0], np.nan_to_num(C, nan=-2).argmax(1),
                         W / np.linalg.norm(W, axis=1, keepdims=True)))
        (r0, c0, b0, W0), (r1, c1, b1, W1) = fits
        judged = np.isfinite(c0)
        c0, c1 = np.nan_to_num(c0, nan=-1.0), np.nan_to_num(c1, nan=-1.0)
        found = (c0 >= 0.8) & (c1 >= 0.8)
        agree = found & ((W0[b0] * W1[b1]).sum(1) >= STABLE_COSINE)
        stable = agree & (r0.stability[b0] >= STABLE_AT) & (r1.stability[b1] >= STABLE_AT)
        n = judged.sum()  # features with a responding held-out animal
        print(f"worm {w}: {n} of {len(D.T)} planted features judged; found by both seeds {found.sum() / n:.0%}, decoders "
              f"agree {agree.sum() / n:.0%}, and both reported stable {stable.sum() / n:.0%}; stable units "
              f"{r0.metrics['n_stable']}/{r0.sae.n_units} and {r1.metrics['n_stable']}/{r1.sae.n_units}; held-out FVU "
              f"{r0.metrics['val_fvu']:.3f}, {r1.metrics['val_fvu']:.3f}", flush=True)


def _load() -> str:
    "The load averages (1, 5, 15 min) and the processes running now, from /proc/loadavg."
    try:
        return " ".join(open("/proc/loadavg").read().split()[:4])
    except OSError:
        return "unknown"


def _busy_core():
    "A process spinning on one core (the last this process may use), until killed."
    core = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=pin)
    time.sleep(0.5)  # let it start spinning
    return proc


def contention(repeats=3):
    """Default training on ws.example() with the timed thread policy and with PyTorch's fixed default, each on the
    machine as it is ("idle") and with a busy-loop process on one core, interleaved, medians of `repeats`."""
    col = ws.example()
    fixed = torch.get_num_threads()  # PyTorch's default, what training used before the policy
    policies = {"timed (the default)": ws.TrainConfig(progress=False),
                f"fixed {fixed} threads (the old default)": ws.TrainConfig(progress=False, threads=fixed)}
    ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False, steps=10))  # warm-up
    times, chosen = {}, {}
    for r in range(repeats):
        for busy in (False, True):
            proc = _busy_core() if busy else None
            try:
                print(f"repeat {r + 1}, {'busy core' if busy else 'idle'}: load {_load()}", flush=True)
                for name, tc in policies.items():
                    t = time.perf_counter()
                    res = ws.train_sae(col, train_cfg=tc)
                    times.setdefault((name, busy), []).append(time.perf_counter() - t)
                    chosen.setdefault((name, busy), []).append(res.threads)
                    print(f"  {name}: {times[name, busy][-1]:.1f} s, threads {res.threads}", flush=True)
            finally:
                if proc is not None:
                    proc.kill()
                    proc.wait()
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"\ndefault training on ws.example(), medians of {repeats} (load at the end {_load()}, {os.cpu_count()} cores):")
    for name in policies:
        print(f"  {name}: idle {med[name, False]:.1f} s, one core busy {med[name, True]:.1f} s "
              f"({med[name, True] / med[name, False]:.2f}x idle)")
    timed, old = list(policies)
    print(f"one core busy, timed policy: {med[timed, True] / med[old, False]:.2f}x the old default on the idle machine; "
          f"the old default with one core busy: {med[old, True] / med[timed, True]:.1f}x the timed policy")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--ensemble", action="store_true", help="only the cost of the seed ensemble")
    p.add_argument("--stability", action="store_true", help="only seed stability of the planted features (worms 1-3)")
    p.add_argument("--contention", action="store_true", help="only default training, idle and with one core busy")
    p.add_argument("--repeats", type=int, default=3, help="repeats of each timing in --contention")
    a = p.parse_args()
    if a.contention:
        contention(a.repeats)
    elif a.ensemble:
        ensemble_cost()
    elif a.stability:
        stability()
    else:
        main(a.epochs)
