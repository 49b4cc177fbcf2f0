"""Kernel hygiene: every numba dispatcher of ``mdpkit._kernels.distributional`` is compiled for one
type signature only (DESIGN.md, Kernels: arrays are normalised at the Python boundary, so the
on-disk cache holds one entry per function).

The solvers run on dense and CSR models, with read-only and writable user inputs (policy, support,
initial laws), and every public entry point that reaches a kernel is exercised; then no dispatcher
may hold more than one signature.
"""

import warnings

import numpy as np
from numba.core.registry import CPUDispatcher

from mdpkit import ConvergenceWarning, TabularMDP
from mdpkit._kernels import distributional as dk
from mdpkit.distributions import categorical_projection
from mdpkit.generators import garnet
from mdpkit.solvers.distributional import (
    categorical_bellman_operator,
    categorical_policy_evaluation,
    categorical_value_iteration,
    distributional_policy_iteration,
    quantile_bellman_operator,
    quantile_policy_evaluation,
    quantile_value_iteration,
)


def _variant(a, readonly):
    a = np.array(a, copy=True)
    a.flags.writeable = not readonly
    return a


def _models():
    dense = garnet(6, 2, 3, gamma=0.8, rng=0)
    sas = TabularMDP(np.asarray(dense.P), None, 0.8, R_sas=np.random.default_rng(1).integers(-2, 3, (6, 2, 6)).astype(float))
    return [dense, dense.to_sparse(), sas, sas.to_sparse()]


def _exercise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for mdp in _models():
            S, A = mdp.S, mdp.A
            for readonly in (False, True):
                pol = _variant(np.zeros(S, dtype=np.int64), readonly)
                spol = _variant(np.full((S, A), 1.0 / A), readonly)
                z = _variant(np.linspace(-20.0, 20.0, 9), readonly)
                eta0 = _variant(np.full((S, 9), 1.0 / 9), readonly)
                theta0 = _variant(np.zeros((S, 4)), readonly)
                for p in (pol, spol, pol.astype(np.int32)):
                    categorical_policy_evaluation(mdp, p, n_atoms=7, max_iter=20)
                    categorical_policy_evaluation(mdp, p, support=z, eta0=eta0, max_iter=20)
                    quantile_policy_evaluation(mdp, p, n_quantiles=4, theta0=theta0, max_iter=20)
                    quantile_policy_evaluation(mdp, p, n_quantiles=3, max_iter=20)
                    categorical_bellman_operator(mdp, p, z, eta0)
                    quantile_bellman_operator(mdp, p, theta0)
                categorical_value_iteration(mdp, n_atoms=5, max_iter=20, evaluate_returns=True)
                categorical_value_iteration(mdp, support=z, eta0=eta0, max_iter=20, evaluate_returns=False)
                quantile_value_iteration(mdp, n_quantiles=4, theta0=theta0, max_iter=20)
                distributional_policy_iteration(mdp, n_atoms=7, policy0=pol, max_iter=3)
                categorical_projection(_variant([0.5, 1.5], readonly), _variant([0.25, 0.75], readonly), z)
                categorical_projection(np.array([[0.5, 1.5]] * 2, dtype=np.float32), np.array([[0.25, 0.75]] * 2), z)
                dk.sup_cramer(eta0, eta0, z)


def test_every_distributional_kernel_has_one_signature():
    _exercise()
    dispatchers = {name: obj for name, obj in vars(dk).items() if isinstance(obj, CPUDispatcher)}
    assert len(dispatchers) >= 20  # the module's kernels were found
    many = {name: [str(s) for s in d.signatures] for name, d in dispatchers.items() if len(d.signatures) > 1}
    assert not many, many
    used = [name for name, d in dispatchers.items() if len(d.signatures) == 1]
    assert {"categorical_evaluation_loop", "quantile_evaluation_loop", "categorical_value_iteration_loop",
            "quantile_value_iteration_loop", "categorical_control_sweep", "categorical_project"} <= set(used)
