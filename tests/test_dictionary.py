"SAE, PCA and NeuronBasis all satisfy the Dictionary protocol that metrics, interpretation and reports rely on."
import numpy as np
import pytest

from wormsae.data import Recording
from wormsae.dictionary import PCA, Dictionary, NeuronBasis, fit_norm, prepare_inputs
from wormsae.sae import SAE, SAEConfig


@pytest.fixture(scope="module")
def rec():
    traces = np.random.default_rng(0).normal(size=(60, 5))
    traces[::7, 1] = np.nan  # some unobserved entries
    return Recording.from_array(traces, [f"n{i}" for i in range(5)], fps=1.0, key="toy")


def dictionaries(rec):
    norm = fit_norm(rec)
    return {"sae": SAE(SAEConfig(d_in=5, d_sae=8, neurons=list(norm.neurons)), norm), "pca": PCA(3).fit(rec),
            "neurons": NeuronBasis(norm)}


def test_all_three_are_dictionaries(rec):
    for kind, model in dictionaries(rec).items():
        assert isinstance(model, Dictionary), kind
        assert model.kind == kind
        Z, M, _ = prepare_inputs(model, rec)  # the protocol's members are what this uses
        A = np.asarray(model.encode_z(Z, M))
        assert A.shape == (len(Z), model.n_units) and len(model.unit_names()) == model.n_units
        assert np.asarray(model.decode_z(A)).shape == Z.shape
        assert np.asarray(model.decoder_weights()).shape == (model.n_units, len(model.neurons))
        assert np.asarray(model.encoder_weights()).shape == (model.n_units, len(model.neurons))


def test_declared_by_pca_and_neuron_basis():
    assert Dictionary in PCA.__mro__ and Dictionary in NeuronBasis.__mro__  # issubclass() refuses protocols with data members


def test_an_object_without_the_members_is_not_one():
    class Partial:
        kind, neurons, norm, n_units = "x", [], None, 0
        def encode_z(self, Z, M): return Z
    assert not isinstance(Partial(), Dictionary)
