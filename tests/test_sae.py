"Contract tests of the SAE over every activation, and checkpoint safety."
import json
import shutil

import numpy as np
import pytest
import torch

import wormsae as ws
from wormsae.data import NormStats
from wormsae.sae import ACTIVATIONS, CheckpointError, loss_terms

N = 12


def traces(seed=0, T=80, missing=0.1):
    rng = np.random.default_rng(seed)
    X = (3 + rng.normal(size=(T, N))).astype(np.float32)
    X[rng.random(X.shape) < missing] = np.nan
    return X


def model(activation, seed=0, per_recording=False):
    rng = np.random.default_rng(seed)
    norm = NormStats([f"n{i}" for i in range(N)], (3 + rng.normal(size=N)).astype(np.float32),
                     (0.5 + rng.random(N)).astype(np.float32), per_recording)
    return ws.SAE(ws.SAEConfig(N, activation=activation, k=3, threshold=0.01, neurons=norm.neurons), norm, seed=seed).eval()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_is_decode_of_encode(activation):
    sae, X = model(activation), traces()
    out = sae(X)
    np.testing.assert_allclose(out.x_hat.detach().numpy(), sae.decode(sae.encode(X)), atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_missing_entries_change_neither_code_nor_loss(activation):
    sae, X = model(activation), traces()
    out = sae(X)
    garbage = torch.where(out.mask, out.z, torch.full_like(out.z, -77.0))
    assert torch.allclose(sae.encode_t(garbage, out.mask), sae.encode_t(out.z, out.mask))
    assert torch.isclose(loss_terms(sae, garbage, out.mask)["loss"], loss_terms(sae, out.z, out.mask)["loss"])
    # and a NaN in the raw traces is treated exactly like an unobserved entry
    X2 = X.copy()
    X2[np.isnan(X)] = 1e6
    np.testing.assert_allclose(sae.encode(X), sae.encode(X2, mask=~np.isnan(X)), atol=1e-6)


def test_topk_keeps_exactly_k_units_when_k_are_positive():
    sae = model("topk")
    with torch.no_grad():
        sae.b_enc += 100  # every pre-activation positive
    assert ((sae.encode(np.nan_to_num(traces())) > 0).sum(1) == 3).all()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_save_load_round_trip_gives_identical_outputs(tmp_path, activation):
    sae, X = model(activation, per_recording=True), traces()
    sae.save(tmp_path / "m")
    back = ws.SAE.load(tmp_path / "m")
    np.testing.assert_array_equal(back.encode(X), sae.encode(X))
    assert back.norm.to_dict() == sae.norm.to_dict()
    assert json.loads((tmp_path / "m" / "cfg.json").read_text())["sae"]["activation"] == activation


def test_checkpoint_mismatches_are_explained(tmp_path):
    model("topk").save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "m", bad)
    cfg["sae"]["d_in"] = N + 1
    cfg["sae"]["neurons"] = cfg["sae"]["neurons"] + ["extra"]
    (bad / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"tensor 'W_enc' has shape \(12, 6\), but cfg.json"):
        ws.SAE.load(bad)
    (bad / "cfg.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ws.SAE.load(bad)
    (bad / "cfg.json").write_text(json.dumps({**cfg, "sae": {**cfg["sae"], "colour": 1}}))
    with pytest.raises(CheckpointError, match="unknown configuration keys"):
        ws.SAE.load(bad)
    (bad / "sae.safetensors").write_bytes(b"\x00" * 10)
    (bad / "cfg.json").write_text(json.dumps(json.loads((tmp_path / "m" / "cfg.json").read_text())))
    with pytest.raises(CheckpointError, match="unreadable safetensors"):
        ws.SAE.load(bad)
    with pytest.raises(CheckpointError, match="not a wormsae checkpoint"):
        ws.SAE.load(tmp_path / "nowhere")


def test_checkpoint_is_not_a_pickle(tmp_path):
    model("relu").save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["cfg.json", "sae.safetensors"]
    assert not (tmp_path / "m" / "sae.safetensors").read_bytes().startswith(b"\x80")  # no pickle protocol header


def test_crash_during_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    old = model("topk", seed=1)
    old.save(tmp_path / "m")
    import safetensors.torch
    monkeypatch.setattr(safetensors.torch, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        model("topk", seed=2).save(tmp_path / "m")
    np.testing.assert_array_equal(ws.SAE.load(tmp_path / "m").encode(np.nan_to_num(traces())), old.encode(np.nan_to_num(traces())))
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_encode_aligns_nothing_silently():
    with pytest.raises(ValueError, match=r"expected traces of shape \(frames, 12\)"):
        model("topk").encode(np.zeros((5, N + 1), np.float32))


def test_config_validation():
    with pytest.raises(ValueError, match="activation must be one of"):
        ws.SAEConfig(10, activation="gelu")
    with pytest.raises(ValueError, match="k must be in"):
        ws.SAEConfig(10, k=0)
    assert ws.SAEConfig(10, expansion=3).d_sae == 30


def _config_change(key_path, value):
    "A change to cfg.json: set the entry at `key_path` (a tuple of keys) to `value`, or delete it when value is ..."
    def change(meta, tensors):
        *parents, last = key_path
        for k in parents:
            meta = meta[k]
        meta.pop(last) if value is ... else meta.__setitem__(last, value)
    return change


def _tensor_change(name, f):
    def change(meta, tensors):
        tensors[name] = f(tensors[name])
    return change


DAMAGE = {  # what is wrong -> (the change, words the error must contain)
    "d_in a string": (_config_change(("sae", "d_in"), "12"), "d_in must be a whole number"),
    "k a float": (_config_change(("sae", "k"), 2.5), "k must be a whole number"),
    "activation a list": (_config_change(("sae", "activation"), ["topk"]), "activation must be one of"),
    "l1 null": (_config_change(("sae", "l1"), None), "l1 must be a finite number"),
    "neurons a number": (_config_change(("sae", "neurons"), 12), "neurons must be a list of names"),
    "d_in missing": (_config_change(("sae", "d_in"), ...), "d_in"),
    "sae a list": (_config_change(("sae",), []), "'sae' and 'norm' objects expected"),
    "norm missing": (_config_change(("norm",), ...), "'sae' and 'norm' objects expected"),
    "norm neurons missing": (_config_change(("norm", "neurons"), ...), "norm.neurons must be"),
    "norm neurons renamed": (_config_change(("norm", "neurons"), [f"m{i}" for i in range(N)]), "norm.neurons must be"),
    "per_recording a string": (_config_change(("norm", "per_recording"), "yes"), "per_recording must be true or false"),
    "NaN weight": (_tensor_change("W_enc", lambda t: t.index_fill(0, torch.tensor([0]), float("nan"))), "'W_enc' holds NaN"),
    "inf bias": (_tensor_change("b_dec", lambda t: t + float("inf")), "'b_dec' holds NaN or infinite"),
    "NaN mean": (_tensor_change("norm_mean", lambda t: t * float("nan")), "'norm_mean' holds NaN"),
    "zero std": (_tensor_change("norm_std", torch.zeros_like), "'norm_std' holds standard deviations <= 0"),
    "negative std": (_tensor_change("norm_std", lambda t: -t), "'norm_std' holds standard deviations <= 0"),
    "integer weights": (_tensor_change("W_dec", lambda t: t.long()), "'W_dec' holds torch.int64"),
    "bool threshold": (_tensor_change("threshold", lambda t: t > 0), "'threshold' holds torch.bool"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_checkpoint_is_a_checkpoint_error_naming_file_and_problem(tmp_path, damage):
    from safetensors.torch import load_file, save_file
    change, words = DAMAGE[damage]
    folder = model("topk").save(tmp_path / "m")
    meta, tensors = json.loads((folder / "cfg.json").read_text()), load_file(str(folder / "sae.safetensors"))
    change(meta, tensors)
    (folder / "cfg.json").write_text(json.dumps(meta))
    save_file(tensors, str(folder / "sae.safetensors"))
    with pytest.raises(CheckpointError) as e:  # not a TypeError, KeyError or RecursionError
        ws.SAE.load(folder)
    assert str(folder) in str(e.value) and words in str(e.value), str(e.value)


def test_a_deeply_nested_config_is_a_checkpoint_error(tmp_path):
    folder = model("topk").save(tmp_path / "m")
    (folder / "cfg.json").write_text('{"format_version": 1, "sae": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(CheckpointError, match="nested too deeply"):
        ws.SAE.load(folder)
