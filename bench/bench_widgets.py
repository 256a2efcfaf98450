"""How fast the explorers redraw, at full size: 8 animals x 4979 frames, 189 neurons, a 378-unit SAE, 10 stimuli.

Each interaction is timed the way the browser triggers it (setting a control's value runs the callback, which
recomputes and renders the PNGs), wall-clock and CPU, on first visits (nothing cached) and on revisits.
The baseline is rendering an empty figure to PNG in the same process (`figure_png`), so ratios are comparable
across machines. The target is a redraw under 0.3 s on 2 cores.

Then, in a real Jupyter kernel (jupyter_client, no browser): the time from a control change arriving as a comm
message to the new image leaving the kernel, with the explorers' prefetching on and off: jumps to arbitrary units
and stimuli 0.25 s after the previous image arrived (nothing prefetched can help), and steps to the next unit or
repeat after 2 s of looking at the last one (what prefetching is for).

Last, with `--browser`, the interactive explorers (`wormsae.interactive`) in a real browser: JupyterLab and Debian's
chromium, first visits of units and windows timed in the page, today's beside those of `--baseline` (default: the
commit before issue 17's speed work), taking turns in one page; the ratio is today's over the baseline's. That part
is `bench/bench_explorers_browser.py`, run from here.

    python bench/bench_widgets.py              # trains the SAE first (about 20-60 s)
    python bench/bench_widgets.py --steps 100  # a less trained SAE, same sizes
    python bench/bench_widgets.py --no-kernel  # skip the kernel measurement
    python bench/bench_widgets.py --browser --no-kernel --n 4   # and the browser medians (about 3 minutes)
"""
import argparse
import ast
import os
import statistics
import sys
import tempfile
import time

from wormsae.interp import interpret
from wormsae.plots import figure_png, new_figure
from wormsae.sae import SAEConfig
from wormsae.train import TrainConfig, train_sae
from wormsae.virtual import virtual_worm
from wormsae.widgets import UnitExplorer, WindowExplorer

TARGET_S = 0.3


def timed(action) -> tuple[float, float]:
    "Wall and CPU seconds of one call."
    w, c = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - w, time.process_time() - c


def baseline(n: int = 20) -> float:
    "Median seconds to render an empty figure to PNG."
    return statistics.median(timed(lambda: figure_png(new_figure(6, 3, layout=None)))[0] for _ in range(n))


def report(name, times, base):
    "One line: median and worst wall time, median CPU time, ratio to the baseline, and the verdict."
    wall, cpu = [t[0] for t in times], [t[1] for t in times]
    med, worst = statistics.median(wall), max(wall)
    verdict = "ok" if med < TARGET_S else "SLOW"
    print(f"  {name:44s} n={len(times):3d}  median {med:.3f} s  max {worst:.3f} s  cpu median {statistics.median(cpu):.3f}"
          f" max {max(cpu):.3f} s"
          f"  = {med / base:5.0f} x baseline  [{verdict}]")
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="SAE training steps")
    ap.add_argument("--n", type=int, default=12, help="interactions timed per kind")
    ap.add_argument("--n-null", type=int, default=200, help="null samples in interpret")
    ap.add_argument("--no-kernel", action="store_true", help="skip the measurement in a Jupyter kernel")
    ap.add_argument("--browser", action="store_true", help="also time the interactive explorers in JupyterLab and chromium")
    ap.add_argument("--baseline", default=None, help="the commit the browser medians are compared with "
                                                     "(default: bench_explorers_browser.BASELINE)")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}")
    t = time.perf_counter()
    col, _ = virtual_worm(n_animals=8, seed=0)
    res = train_sae(col, SAEConfig(d_in=len(col.neurons), d_sae=378, activation="topk", k=16),
                    TrainConfig(steps=args.steps, progress=False))
    it = interpret(res.sae, col, n_null=args.n_null, progress=False)
    print(f"setup {time.perf_counter() - t:.0f} s: {it}")

    figure_png(new_figure(6, 3, layout=None))  # warm up fonts
    base = baseline()
    print(f"baseline: empty figure to PNG {1000 * base:.1f} ms")
    results = {}

    t0 = timed(lambda: globals().update(ex=UnitExplorer(it)))
    ex = globals()["ex"]
    print(f"UnitExplorer: built in {t0[0]:.2f} s ({len(ex.options)} units listed)")
    units = [u for _, u in ex.options[1:args.n + 1]]
    results["unit (first visit)"] = report("switch unit, first visit", [timed(lambda: setattr(ex.unit_select, "value", u))
                                                                        for u in units], base)
    results["unit (revisit)"] = report("switch unit, revisit (cached)", [timed(lambda: setattr(ex.unit_select, "value", u))
                                                                          for u in units], base)
    parts = {k: [] for k in ("card", "psth", "activation")}
    for u in [v for _, v in ex.options[args.n + 1:2 * args.n + 1]]:
        ex.unit_select.value = u
        for k in parts:
            parts[k].append(ex.timings[k])
    print("    parts of a first visit (median): " + ", ".join(f"{k} {statistics.median(v):.3f} s" for k, v in parts.items()))
    animals = [r % len(col) for r in range(1, args.n + 1)]
    results["animal"] = report("switch animal (activation only)", [timed(lambda: setattr(ex.animal, "value", r))
                                                                     for r in animals], base)
    results["filter"] = report("filter by neuron ('ASH', 'AVA', 'AWC'...)",
                               [timed(lambda: setattr(ex.neuron_filter, "value", p))
                                for p in ["ASH", "AVA", "AWC", "RIA", "", "AIB", "SMD", ""]], base)
    results["stimulus filter"] = report("filter by stimulus", [timed(lambda: setattr(ex.stimulus_filter, "value", s))
                                                               for s in it.stimuli], base)

    t0 = timed(lambda: globals().update(wx=WindowExplorer(it)))
    wx = globals()["wx"]
    print(f"WindowExplorer: built in {t0[0]:.2f} s")
    stimuli = list(it.stimuli)
    first = [x for x in stimuli if x != wx.stimulus]
    results["stimulus"] = report("switch stimulus, first visit", [timed(lambda: setattr(wx.stimulus_select, "value", s))
                                                                  for s in first], base)
    results["window (revisit)"] = report("switch stimulus, revisit (cached)",
                                         [timed(lambda: setattr(wx.stimulus_select, "value", s)) for s in first], base)
    results["window animal"] = report("switch animal, first visit", [timed(lambda: setattr(wx.animal, "value", r))
                                                                     for r in range(1, len(col))], base)
    results["repeat"] = report("switch repeat, first visit", [timed(lambda: setattr(wx.repeat_select, "value", k))
                                                              for k in (1, 2)], base)
    neurons = list(wx.shown["neurons"])
    results["traces"] = report("choose trace neurons (window data cached)",
                               [timed(lambda: setattr(wx.trace_select, "value", tuple(neurons[i:i + 2])))
                                for i in range(min(args.n, len(neurons) - 1))], base)
    slow = [k for k, v in results.items() if v >= TARGET_S]
    print(f"\nall medians under {TARGET_S} s" if not slow else f"\nover {TARGET_S} s: {slow}")
    if not args.no_kernel:
        with tempfile.TemporaryDirectory() as tmp:
            res.sae.save(tmp)
            kernel_latency(tmp, args.n_null, args.n)
    if args.browser:
        browser_medians(args.baseline)


def browser_medians(baseline: str | None = None):
    "First visits of the interactive explorers in JupyterLab and chromium, and their ratio to `baseline`'s (bench_explorers_browser.py)."
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_explorers_browser as beb
    print(f"\nIn a real browser (JupyterLab + chromium; bench_explorers_browser.py), {beb.uptime()}")
    beb.report(beb.measure(baseline or beb.BASELINE))


KERNEL_SETUP = """
import warnings; warnings.simplefilter('ignore')
from wormsae.virtual import virtual_worm
from wormsae.sae import SAE
from wormsae.interp import interpret
import wormsae.widgets as wg
col, _ = virtual_worm(n_animals=8, seed=0)
it = interpret(SAE.load({path!r}), col, n_null={n_null}, progress=False)
ux, wx = wg.UnitExplorer(it), wg.WindowExplorer(it)
ids = dict(unit=ux.unit_select.comm.comm_id, act=ux.activation_image.comm.comm_id, units=[u for _, u in ux.options],
           stim=wx.stimulus_select.comm.comm_id, win=wx.image.comm.comm_id, rep=wx.repeat_select.comm.comm_id)
"""


def kernel_latency(sae_dir, n_null, n):
    "Control change (a comm message) to the new image leaving the kernel, with prefetching on and off."
    from jupyter_client.manager import start_new_kernel
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}")
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        def run(code):
            msg_id, out = kc.execute(code), []
            while True:
                m = kc.get_iopub_msg(timeout=600)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                if m["msg_type"] == "stream":
                    out.append(m["content"]["text"])
                if m["msg_type"] == "error":
                    raise RuntimeError("\n".join(m["content"]["traceback"]))
                if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    return "".join(out)

        def latency(control, index, image, think_s=0.25):
            "Seconds from picking option `index` of `control` to the kernel sending the new value of `image`."
            time.sleep(think_s)  # a user looks at the last figure before the next click (the kernel collects garbage)
            # the unit list's browser side sends the unit picked (widgets.UnitSelect); a Dropdown sends the position
            state = {"value": ids["units"][index]} if control == ids["unit"] else {"index": index}
            t = time.perf_counter()
            kc.session.send(kc.shell_channel.socket, "comm_msg", content={
                "comm_id": control, "data": {"method": "update", "state": state, "buffer_paths": []}})
            while True:
                m = kc.get_iopub_msg(timeout=60)
                c = m["content"]
                if m["msg_type"] == "comm_msg" and c["comm_id"] == image and ["value"] in c["data"].get("buffer_paths", []):
                    return time.perf_counter() - t

        run(KERNEL_SETUP.format(path=str(sae_dir), n_null=n_null))
        ids = ast.literal_eval(run("print(repr(ids))").strip())
        n_units, n_stim = ast.literal_eval(run("print(repr((len(ux.options), len(wx.stimuli))))").strip())
        print(f"\nIn a Jupyter kernel: control change -> new image sent ({n_units} units, {n_stim} stimuli)")
        for prefetch in (False, True):
            run(f"wg.PREFETCH = {prefetch}; ux._images.items.clear(); wx._images.items.clear(); wx._data.items.clear()")
            rows = {"jump to another unit (0.25 s after the last)":
                    [latency(ids["unit"], (37 * i) % n_units, ids["act"]) for i in range(1, n + 1)],
                    "next unit in the list (2 s after the last)":
                    [latency(ids["unit"], i, ids["act"], think_s=2.0) for i in range(200, 200 + n)],
                    "jump to another stimulus (0.25 s after the last)": [], "next repeat (2 s after the last)": []}
            for r in (1, 2, 3):
                cur = int(run(f"wx.select(recording={r}, repeat=0); print(wx.stimulus_select.index)").strip())
                others = [i for i in range(n_stim) if i != cur][:n // 3 + 1]
                rows["jump to another stimulus (0.25 s after the last)"] += [latency(ids["stim"], i, ids["win"])
                                                                             for i in others]
                for stim in range(3):
                    run(f"wx.select(stimulus=wx.stimuli[{stim}], repeat=0)")
                    rows["next repeat (2 s after the last)"].append(latency(ids["rep"], 1, ids["win"], think_s=2.0))
            for name, xs in rows.items():
                xs = sorted(xs)
                print(f"  prefetch={prefetch!s:5}  {name:50s} n={len(xs):3d}  median {statistics.median(xs):.3f} s"
                      f"  p90 {xs[int(0.9 * (len(xs) - 1))]:.3f} s  max {xs[-1]:.3f} s")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
