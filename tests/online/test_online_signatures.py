"""One Numba type signature per online kernel (DESIGN.md "Kernels"), whatever the model."""

import numpy as np
from numba.core.registry import CPUDispatcher

from mdpkit import TabularMDP
from mdpkit._kernels import online as K
from mdpkit.generators import make
from mdpkit.solvers.online import orchestrated_q_learning, q_learning, run_episodes, ucrl2


def test_each_online_kernel_has_one_signature():
    river = make("riverswim:convention=osband")  # has R_sas
    rng = np.random.default_rng(0)
    plain = TabularMDP(rng.dirichlet(np.ones(3), size=(3, 2)), rng.uniform(0, 1, (3, 2)), 0.7)  # R only
    masked = TabularMDP(np.full((3, 2, 3), 1 / 3), np.full((3, 2), 0.5), 0.7,
                        action_mask=np.array([[True, False], [True, True], [True, True]]))
    for m in (river, plain, masked):
        for alg in ("ucbvi-ch", "ucbvi-bf", "ucb-h", "ucb-b", "psrl"):
            run_episodes(alg, m, horizon=2, n_episodes=3)
        ucrl2(m, n_steps=20)
        q_learning(m.with_gamma(0.7), n_iter=5)
        q_learning(m.with_gamma(0.7), n_iter=5, mode="trajectory", schedule="constant")
        orchestrated_q_learning(m.with_gamma(0.7), n_iter=5)
        orchestrated_q_learning(m.with_gamma(0.7), n_iter=5, mapping="identity")
    many = {name: len(d.signatures) for name, d in vars(K).items()
            if isinstance(d, CPUDispatcher) and len(d.signatures) > 1}
    assert not many, many
