"""Registered theorem checks for robust dynamic programming (sa-rectangular sets)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from mdpkit import bounds
from mdpkit.solvers.robust import robust_bellman_operator, robust_value_iteration

from ._core import Observation, Theorem, register
from ._dp import slack, start_vector, sup_norm, wrong_gamma
from ._instances import discounted_mdps, optimal_value, value_scale

KINDS = ("l1", "linf", "l2", "chi2", "kl")


def _random_set(rng, radius=None):
    from mdpkit.uncertainty import parse_uncertainty

    kind = KINDS[int(rng.integers(len(KINDS)))]
    r = float(rng.choice([0.0, 0.01, 0.1, 0.5, 2.0])) if radius is None else radius
    return parse_uncertainty(f"{kind}:{r}")


def robust_T(mdp, v, uncertainty):
    """Default subject: the robust Bellman operator ``(mdp, v, U) -> T_U v``."""
    return robust_bellman_operator(mdp, v, uncertainty).v


def robust_T_wrong_discount(mdp, v, uncertainty):
    """Negative control: the robust operator with discount (1+gamma)/2."""
    return robust_bellman_operator(wrong_gamma(mdp), v, uncertainty).v


DAMPING = 0.5  #: weight of the damped robust operator used as a negative control


def robust_T_damped(mdp, v, uncertainty):
    """Negative control: damped robust operator v + (T_U v - v)/2: same fixed point, modulus (1 + gamma)/2
    (exactly, on the shifted pair u, u + c)."""
    v = np.asarray(v, dtype=float)
    return v + DAMPING * (robust_bellman_operator(mdp, v, uncertainty).v - v)


def _run_contraction(mdp, rng, T):
    U = _random_set(rng)
    obs, bnd = [], []
    u0 = start_vector(mdp, rng)
    pairs = [(start_vector(mdp, rng), start_vector(mdp, rng)) for _ in range(4)]
    pairs.append((u0, u0 + float(rng.uniform(0.5, 2.0)) * value_scale(mdp)))  # T(u + c) = T u + gamma c: tight
    for u, v in pairs:
        obs.append(sup_norm(np.asarray(T(mdp, u, U)) - np.asarray(T(mdp, v, U))))
        bnd.append(bounds.vi_contraction_bound(mdp.gamma, 1, sup_norm(u - v)).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), info={"set": str(U)})


register(Theorem(
    name="robust-contraction",
    statement="||T_U u - T_U v||_inf <= gamma ||u - v||_inf for the sa-rectangular robust Bellman operator",
    source="Iyengar (2005), Math. Oper. Res. 30(2); Nilim & El Ghaoui (2005), Oper. Res. 53(5)",
    compare="bound",
    subject=robust_T, subject_doc="T(mdp, v, uncertainty) -> (S,) array, the robust Bellman operator",
    run=_run_contraction, family=discounted_mdps,
    negative=robust_T_damped, negative_doc="damped robust operator v + (T_U v - v)/2: modulus (1+gamma)/2",
    zoo=("machine_replacement",), plot="ratio",
))


def robust_vi_best_case(mdp, uncertainty, **kw):
    """Negative control: lets nature help (solves the model with negated rewards and negates back)."""
    from mdpkit.model import TabularMDP

    neg = TabularMDP(mdp.P, -mdp.R, mdp.gamma, action_mask=mdp.action_mask)
    res = robust_value_iteration(neg, uncertainty, **kw)
    return SimpleNamespace(v_policy_robust=-np.asarray(res.v_policy_robust), error_bound=res.error_bound,
                           v_policy_robust_error_bound=res.v_policy_robust_error_bound)


def _run_set_monotone(mdp, rng, solver):
    vstar = optimal_value(mdp)
    U0 = _random_set(rng, radius=0.0)
    eps = 1e-8 * max(1.0, sup_norm(mdp.R[mdp.action_mask]))
    radii = [0.0, 0.05, 0.2, 1.0]
    res = [solver(mdp, U0.with_radius(r), epsilon=eps) for r in radii]
    vals = [np.asarray(x.v_policy_robust, dtype=float) for x in res]
    # radius 0 is the nominal problem; larger sets give lower robust values:
    # v_pol(r2) <= v*_U(r2) <= v*_U(r1) <= v_pol(r1) + error_bound(r1)
    obs = [np.abs(vals[0] - vstar)] + [vals[j + 1] - vals[j] for j in range(len(radii) - 1)]
    bnd = [np.full(mdp.S, res[0].error_bound)] + [np.full(mdp.S, res[j].error_bound) for j in range(len(radii) - 1)]
    return Observation(np.concatenate(obs), np.concatenate(bnd), atol=slack(mdp), info={"set": U0.kind})


register(Theorem(
    name="robust-set-monotone",
    statement="radius 0 gives the nominal v*, and a larger uncertainty set gives a lower robust optimal value",
    source="Iyengar (2005); Wiesemann, Kuhn & Rustem (2013), Math. Oper. Res. 38(1)",
    compare="bound", mutation=False,  # an order claim: the 'bound' is the solver's certified error, not a constant
    subject=robust_value_iteration, subject_doc="solver(mdp, uncertainty, epsilon=) -> RobustResult "
                                                "(.v_policy_robust robust value of the policy, .error_bound)",
    run=_run_set_monotone, family=discounted_mdps,
    negative=robust_vi_best_case, negative_doc="robust VI where nature maximizes instead of minimizing",
    zoo=("machine_replacement", "riverswim:gamma=0.9"), plot="ratio",
))


# ----------------------------------------------------------------------------- every robust operator
#: one spec per operator family (sa sets of every kind, penalties, nested CVaR, s-rectangular L1)
ALL_OPERATORS = ("l1:{r}", "l1:{r},support=simplex", "linf:{r}", "l2:{r}", "chi2:{r}", "kl:{r}",
                 "wasserstein:{r}", "cvar:{a}", "tv_penalty:{b}", "kl_penalty:{b}", "l1:{r},rect=s")


def random_operator_set(rng):
    """A random uncertainty set among :data:`ALL_OPERATORS` (radius, level or penalty drawn)."""
    from mdpkit.uncertainty import parse_uncertainty

    spec = ALL_OPERATORS[int(rng.integers(len(ALL_OPERATORS)))]
    return parse_uncertainty(spec.format(r=float(rng.choice([0.0, 0.05, 0.3, 1.0, 2.5])),
                                         a=float(rng.choice([0.1, 0.5, 1.0])), b=float(rng.choice([0.2, 1.0, 5.0]))))


def operator_property_residuals(T, mdp, u, v, c, uncertainty):
    """Monotonicity and gamma-translation residuals of ``T(mdp, v, U)``.

    Returns ``(mono, trans)``: ``mono = max(0, max(T u, T v) - T max(u, v))`` (nonpositive for a
    monotone operator, as ``max(u, v)`` dominates both) and ``trans = |T(v + c) - T v - gamma c|``
    (zero for a gamma-translation-equivariant operator).  Shared with ``tests/robust``.
    """
    Tu = np.asarray(T(mdp, u, uncertainty), dtype=float)
    Tv = np.asarray(T(mdp, v, uncertainty), dtype=float)
    Tw = np.asarray(T(mdp, np.maximum(u, v), uncertainty), dtype=float)
    Tc = np.asarray(T(mdp, v + c, uncertainty), dtype=float)
    mono = np.maximum(0.0, np.maximum(Tu, Tv) - Tw)
    trans = np.abs(Tc - Tv - mdp.gamma * c)
    return mono, trans


def robust_T_non_monotone(mdp, v, uncertainty):
    """Negative control: T_U v - 2 (v - mean v): still gamma-translation equivariant, not monotone."""
    v = np.asarray(v, dtype=float)
    return robust_bellman_operator(mdp, v, uncertainty).v - 2.0 * (v - v.mean())


def robust_T_not_translation(mdp, v, uncertainty):
    """Negative control: T_U v + mean(v)/10: still monotone, not gamma-translation equivariant."""
    v = np.asarray(v, dtype=float)
    return robust_bellman_operator(mdp, v, uncertainty).v + 0.1 * v.mean()


def _run_mono_trans(mdp, rng, T):
    U = random_operator_set(rng)
    obs = []
    for _ in range(3):
        u, v = start_vector(mdp, rng), start_vector(mdp, rng)
        c = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0) * value_scale(mdp))
        mono, trans = operator_property_residuals(T, mdp, u, v, c, U)
        obs.extend([mono, trans])
    part = np.concatenate([np.full(x.size, j % 2) for j, x in enumerate(obs)])
    obs = np.concatenate(obs)
    return Observation(obs, np.zeros_like(obs), atol=slack(mdp), info={"set": str(U)}, part=part)


register(Theorem(
    name="robust-monotone-translation",
    statement="every robust Bellman operator is monotone (u <= v => T_U u <= T_U v) and gamma-translation "
              "equivariant (T_U(v + c 1) = T_U v + gamma c 1)",
    source="Iyengar (2005), Math. Oper. Res. 30(2), Sec. 3-4; Wiesemann, Kuhn & Rustem (2013) (s-rectangular)",
    compare="identity",
    subject=robust_T, subject_doc="T(mdp, v, uncertainty) -> (S,) array, the robust Bellman operator",
    run=_run_mono_trans, family=discounted_mdps,
    negative=robust_T_non_monotone, negative_doc="T_U v - 2 (v - mean v): translation equivariant, not monotone",
    controls=(("T_U v + mean(v)/10: monotone, not translation equivariant", robust_T_not_translation),),
    zoo=("machine_replacement",), plot="ratio", parts=("monotone", "gamma-translation"),
))


# ----------------------------------------------------------------------------- no duality gap
def l1_ball_vertices(q, kappa):
    """Vertices of ``{p in simplex: ||p - q||_1 <= kappa, p << q}``, by HiGHS LPs over every ordering.

    A linear objective is minimised at a vertex and every vertex minimises some strict ordering
    of the costs, so solving one LP per permutation of the support finds them all (n! LPs: keep
    the support small).  Returns an array (m, n) of distinct vertices (zeros off the support).
    """
    import itertools

    from scipy.optimize import linprog

    q = np.asarray(q, dtype=float)
    idx = np.flatnonzero(q > 0)
    n = idx.size
    out = []
    I = np.eye(n)
    A_ub = np.block([[I, -I], [-I, -I], [np.zeros((1, n)), np.ones((1, n))]])
    b_ub = np.concatenate([q[idx], -q[idx], [kappa]])
    A_eq = np.concatenate([np.ones(n), np.zeros(n)])[None]
    for perm in itertools.permutations(range(n)):
        z = np.empty(n)
        z[list(perm)] = np.arange(n, dtype=float)
        res = linprog(np.concatenate([z, np.zeros(n)]), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0],
                      bounds=[(0, None)] * (2 * n), method="highs")
        p = np.zeros(q.size)
        p[idx] = res.x[:n]
        out.append(np.round(p, 13))
    return np.unique(np.array(out), axis=0)


def static_maxmin_value(mdp, kappa):
    """``max_pi min_{P in K} v^pi_P`` over deterministic pi and the finite set K of static kernels
    whose rows are vertices of the sa-rectangular L1 balls (dense linear solves; tiny models only)."""
    import itertools

    S, A = mdp.S, mdp.A
    P = mdp.P_dense()
    verts = [[l1_ball_vertices(P[s, a], kappa) if mdp.action_mask[s, a] else None for a in range(A)]
             for s in range(S)]
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(S)]):
        rows = [verts[s][pol[s]] for s in range(S)]
        r = mdp.R[np.arange(S), list(pol)]
        worst = np.full(S, np.inf)
        for choice in itertools.product(*[range(len(x)) for x in rows]):
            Pp = np.array([rows[s][choice[s]] for s in range(S)])
            worst = np.minimum(worst, np.linalg.solve(np.eye(S) - mdp.gamma * Pp, r))
        best = np.maximum(best, worst)
    return best


def _tiny_mdps():
    from mdpkit.testing.strategies import mdps

    return mdps(n_states=(2, 3), n_actions=(1, 2), gamma=(0.5, 0.9), sparse=False, masked=True, max_weight=2)


def _run_duality(mdp, rng, solver):
    from mdpkit.model import TabularMDP

    kappa = float(rng.choice([0.1, 0.4, 1.0]))
    eps = 1e-9 * value_scale(mdp)
    res = solver(mdp, f"l1:{kappa}", epsilon=eps)
    v_rob = np.asarray(res.v_policy_robust, dtype=float)
    maxmin = static_maxmin_value(mdp, kappa)
    # nature's kernel returned by the solver is one static kernel: its nominal optimum is a
    # min-max upper value, and it must come down to the max-min value (no duality gap)
    Pw = getattr(res, "P_worst", None)
    obs = [np.abs(v_rob - maxmin)]
    if Pw is not None:
        Pw = Pw.toarray().reshape(mdp.S, mdp.A, mdp.S) if hasattr(Pw, "toarray") else np.asarray(Pw)
        Pw = np.where(mdp.action_mask[..., None], Pw, mdp.P_dense())
        obs.append(np.abs(optimal_value(TabularMDP(Pw, mdp.R, mdp.gamma, action_mask=mdp.action_mask)) - maxmin))
    obs = np.concatenate(obs)
    bnd = np.full(obs.size, float(res.error_bound))
    return Observation(obs, bnd, atol=slack(mdp), info={"kappa": kappa})


register(Theorem(
    name="robust-no-duality-gap",
    statement="sa-rectangular L1: v*_U = max_pi min_{P in K} v^pi_P over the finite set K of static kernels with "
              "vertex rows, and the nominal optimum on nature's returned kernel equals it (max-min = min-max)",
    source="Iyengar (2005), Math. Oper. Res. 30(2); Nilim & El Ghaoui (2005), Oper. Res. 53(5); "
           "Wiesemann, Kuhn & Rustem (2013), Math. Oper. Res. 38(1)",
    compare="bound", mutation=False,  # an identity up to the solver's certified error (no constant to halve)
    subject=robust_value_iteration, subject_doc="solver(mdp, uncertainty, epsilon=) -> SolveResult "
                                                "(.v_policy_robust robust value of the policy, .error_bound, .P_worst)",
    run=_run_duality, family=_tiny_mdps,
    negative=robust_vi_best_case, negative_doc="robust VI where nature maximizes instead of minimizing",
    zoo=(), plot="ratio",
))


# ----------------------------------------------------------------------------- certified stopping
def robust_reference_value(mdp, uncertainty):
    """High-precision robust optimal value by robust policy iteration (Iyengar form), certified.

    Raises ``RuntimeError`` if the certificate of :func:`mdpkit.solvers.robust_policy_iteration`
    does not reach ``1e-8`` times the value scale.
    """
    from mdpkit.solvers.robust import robust_policy_iteration

    res = robust_policy_iteration(mdp, uncertainty, eval_rtol=1e-12)
    if not (res.converged and res.v_error_bound <= 1e-8 * value_scale(mdp)):
        raise RuntimeError(f"reference robust PI did not certify v*_U (bound {res.v_error_bound:g})")
    return np.asarray(res.v, dtype=float), float(res.v_error_bound)


def l1_vertex_sets(mdp, kappa):
    """``{(s, a): vertices (m, S)}`` of every available row's L1 ball (HiGHS LPs, :func:`l1_ball_vertices`)."""
    P = mdp.P_dense()
    return {(s, a): l1_ball_vertices(P[s, a], kappa) for s in range(mdp.S) for a in range(mdp.A)
            if mdp.action_mask[s, a]}


def vertex_robust_values(mdp, kappa, policy=None, tol=1e-13, max_iter=20_000, verts=None):
    """Robust optimal value (or robust value of a deterministic ``policy``) for sa-rectangular L1 balls.

    An independent route: the vertices of every ball are enumerated by HiGHS LPs
    (:func:`l1_ball_vertices`), nature's inner minimum of a linear function is attained at a vertex,
    and plain numpy value iteration over ``max_a r + gamma min_vertex p.v`` runs to ``tol`` times
    the value scale (a posteriori error ``gamma/(1-gamma)`` times the last step).
    Returns ``(v, error_bound)``.
    """
    S, A = mdp.S, mdp.A
    if verts is None:
        verts = l1_vertex_sets(mdp, kappa)
    v = np.zeros(S)
    g = mdp.gamma
    for _ in range(max_iter):
        q = np.full((S, A), -np.inf)
        for (s, a), V in verts.items():
            if policy is None or a == int(policy[s]):
                q[s, a] = mdp.R[s, a] + g * float(np.min(V @ v))
        v_new = q.max(axis=1)
        step = float(np.max(np.abs(v_new - v)))
        v = v_new
        if step * g / (1.0 - g) <= tol * value_scale(mdp):
            break
    return v, step * g / (1.0 - g) + 1e-12 * value_scale(mdp)


def _run_certified(mdp, rng, solver):
    kappa = float(rng.choice([0.05, 0.3, 1.0]))
    eps = float(rng.choice([1e-1, 1e-2, 1e-3])) * value_scale(mdp) * (1 - mdp.gamma)
    max_iter = int(rng.choice([3, 10, 10_000]))  # early stops give loose brackets, where the certificate matters
    res = solver(mdp, f"l1:{kappa}", epsilon=eps, max_iter=max_iter)
    verts = l1_vertex_sets(mdp, kappa)
    v_star, e1 = vertex_robust_values(mdp, kappa, verts=verts)
    v_pol, e2 = vertex_robust_values(mdp, kappa, policy=np.asarray(res.policy), verts=verts)
    # value: |v - v*_U| <= v_error_bound;  policy: v*_U - v^pi_U <= certificate
    obs = np.concatenate([np.abs(np.asarray(res.v) - v_star), v_star - v_pol])
    bnd = np.concatenate([np.full(mdp.S, float(res.v_error_bound)), np.full(mdp.S, float(res.certificate.value))])
    part = np.repeat([0, 1], mdp.S)
    return Observation(obs, bnd, atol=slack(mdp) + e1 + e2, part=part,
                       info={"kappa": kappa, "epsilon": eps, "max_iter": max_iter})


def robust_vi_best_case_full(mdp, uncertainty, **kw):
    """Negative control: robust VI where nature helps (negated rewards), with its own bracket and certificate."""
    from mdpkit.model import TabularMDP

    neg = TabularMDP(mdp.P, -mdp.R, mdp.gamma, action_mask=mdp.action_mask)
    res = robust_value_iteration(neg, uncertainty, **kw)
    return SimpleNamespace(v=-np.asarray(res.v), v_error_bound=res.v_error_bound, certificate=res.certificate,
                           policy=res.policy)


register(Theorem(
    name="robust-vi-certified",
    statement="robust VI's bracket and certificate hold: |v - v*_U| <= v_error_bound and v*_U - v^pi_U <= "
              "certificate, with v*_U and v^pi_U computed by an independent route (HiGHS vertex enumeration of "
              "every sa-rectangular L1 ball, numpy value iteration over the vertices)",
    source="Iyengar (2005), Math. Oper. Res. 30(2) (robust VI); bracket and certificate of MacQueen (1966) / "
           "Puterman (1994) Sec. 6.6.2 for monotone gamma-translation operators",
    compare="bound",
    subject=robust_value_iteration, subject_doc="solver(mdp, uncertainty, epsilon=, max_iter=) -> RobustResult "
                                                "(.v, .v_error_bound, .policy, .certificate)",
    run=_run_certified, family=_tiny_mdps,
    negative=robust_vi_best_case_full, negative_doc="robust VI where nature maximizes instead of minimizing",
    zoo=(), plot="ratio", parts=("value in bracket", "policy certificate"),
))


# ----------------------------------------------------------------------------- inner problems
def _rows_and_values(mdp, rng, k=3):
    P = mdp.P_dense()
    out = []
    for _ in range(k):
        s = int(rng.integers(mdp.S))
        a = int(rng.choice(np.flatnonzero(mdp.action_mask[s])))
        z = rng.uniform(-1.0, 1.0, mdp.S) * value_scale(mdp)
        out.append((P[s, a], z))
    return out


def inner_radius_doubled(q, z, uset):
    """Negative control: nature's inner problem solved over the ball of twice the radius."""
    from mdpkit.uncertainty import worst_case

    return worst_case(q, z, uset.with_radius(2.0 * float(uset.radius)))


def _inner_subject(q, z, uset):
    from mdpkit.uncertainty import worst_case

    return worst_case(q, z, uset)


def _run_inner_cvxpy(mdp, rng, inner):
    from mdpkit.uncertainty import cvxpy_inner

    obs = []
    sets = []
    for q, z in _rows_and_values(mdp, rng, k=2):
        U = random_operator_set(rng)
        if U.rectangularity == "s":
            U = U.with_radius(U.radius)  # s-rectangular sets have no per-row inner problem: use the sa ball
            U = type(U)(U.kind, U.radius, U.support)
        _, val = inner(q, z, U)
        _, ref = cvxpy_inner(q, z, U)
        obs.append(abs(val - ref))
        sets.append(str(U))
    obs = np.array(obs)
    return Observation(obs, np.zeros_like(obs), atol=1e-7 * value_scale(mdp), info={"sets": ", ".join(sets)})


register(Theorem(
    name="robust-inner-cvxpy",
    statement="each Numba inner problem min_{p in U(q)} p.z (+ penalty) equals the cvxpy (Clarabel) optimum",
    source="Ho, Petrik & Wiesemann (2018) (L1); Nilim & El Ghaoui (2005) (KL dual); convex duality for the others",
    compare="identity",
    subject=_inner_subject, subject_doc="inner(q, z, uncertainty_set) -> (p_worst, value)",
    run=_run_inner_cvxpy, family=discounted_mdps,
    negative=inner_radius_doubled, negative_doc="inner problem over the ball of twice the radius",
    zoo=(), plot="ratio", default=False,
))


def _run_closed_form(mdp, rng, inner):
    from mdpkit.bounds.robust import norm_ball_closed_form
    from mdpkit.uncertainty import UncertaintySet

    obs = []
    n_slack = 0
    for q, z in _rows_and_values(mdp, rng, k=4):
        idx = np.flatnonzero(q > 0)
        for kind in ("l1", "l2", "chi2"):
            r = float(rng.choice([0.01, 0.1, 0.5, 1.5]))
            _, val = inner(q, z, UncertaintySet(kind, r))
            cf, slack = norm_ball_closed_form(q[idx], z[idx], r, kind)
            # equality when the simplex constraint is slack, else the relaxation is a lower bound
            obs.append(abs(val - cf) if slack else max(0.0, cf - val))
            n_slack += slack
    obs = np.array(obs)
    return Observation(obs, np.zeros_like(obs), atol=1e-10 * value_scale(mdp), info={"n_slack": n_slack})


register(Theorem(
    name="robust-norm-closed-form",
    statement="L1/L2/chi2 balls: min p.z = q.z - (kappa/2) sp(z) | q.z - kappa ||z - mean z||_2 | "
              "q.z - sqrt(kappa Var_q z) when p >= 0 is slack, and >= that value otherwise",
    source="Lagrangian of the relaxed problem (Hoelder); cf. Nilim & El Ghaoui (2005), Iyengar (2005)",
    compare="bound",
    subject=_inner_subject, subject_doc="inner(q, z, uncertainty_set) -> (p_worst, value)",
    run=_run_closed_form, family=discounted_mdps,
    negative=inner_radius_doubled, negative_doc="inner problem over the ball of twice the radius",
    zoo=(), plot="ratio",
))


# ----------------------------------------------------------------------------- inner problems by LP (default set)
LP_KINDS = ("l1", "linf", "cvar", "tv_penalty")


def lp_inner(q, z, kind, r, support="nominal"):
    """min p.z (+ penalty) over an LP-representable set around q, by scipy's HiGHS (the independent oracle).

    Variables (p, t) with t >= |p - q|; l1: sum t <= r; linf: t <= r; cvar: p <= q/r;
    tv_penalty: objective p.z + (r/2) sum t.  ``support="nominal"`` fixes p = 0 off supp(q).
    """
    from scipy.optimize import linprog

    q = np.asarray(q, dtype=float)
    z = np.asarray(z, dtype=float)
    n = q.size
    I = np.eye(n)
    A_ub = [np.hstack([I, -I]), np.hstack([-I, -I])]
    b_ub = [q, -q]
    c = np.concatenate([z, np.zeros(n)])
    ub = [(0, None)] * n
    if support == "nominal" or kind == "cvar":
        ub = [(0, None) if q[i] > 0 else (0, 0) for i in range(n)]
    if kind == "l1":
        A_ub.append(np.concatenate([np.zeros(n), np.ones(n)])[None])
        b_ub.append([r])
    elif kind == "linf":
        A_ub.append(np.hstack([np.zeros((n, n)), I]))
        b_ub.append(np.full(n, r))
    elif kind == "cvar":
        ub = [(0, q[i] / r) for i in range(n)]
    elif kind == "tv_penalty":
        c = np.concatenate([z, np.full(n, 0.5 * r)])
    res = linprog(c, A_ub=np.vstack(A_ub), b_ub=np.concatenate(b_ub), A_eq=np.concatenate([np.ones(n), np.zeros(n)])[None],
                  b_eq=[1.0], bounds=ub + [(0, None)] * n, method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS could not solve the {kind} inner problem: {res.message}")
    return float(res.fun)


def inner_set_enlarged(q, z, uset):
    """Negative control: nature's inner problem over a larger set (radius doubled; CVaR level and penalty halved)."""
    from mdpkit.uncertainty import UncertaintySet, worst_case

    r = float(uset.radius)
    r2 = r / 2.0 if uset.kind in ("cvar", "tv_penalty", "kl_penalty") else 2.0 * r
    return worst_case(q, z, UncertaintySet(uset.kind, r2, support=uset.support))


def _run_inner_lp(mdp, rng, inner):
    from mdpkit.uncertainty import UncertaintySet

    obs, sets = [], []
    for q, z in _rows_and_values(mdp, rng, k=2):
        for kind in LP_KINDS:
            r = {"cvar": float(rng.choice([0.1, 0.5, 1.0])), "tv_penalty": float(rng.choice([0.2, 1.0, 5.0]))}.get(
                kind, float(rng.choice([0.0, 0.05, 0.3, 1.0, 2.5])))
            support = "nominal" if kind == "cvar" or rng.random() < 0.5 else "simplex"
            _, val = inner(q, z, UncertaintySet(kind, r, support=support))
            obs.append(abs(val - lp_inner(q, z, kind, r, support)))
            sets.append(f"{kind}:{r:g}/{support}")
    obs = np.array(obs)
    return Observation(obs, np.zeros_like(obs), atol=1e-8 * value_scale(mdp), info={"sets": ", ".join(sets)})


register(Theorem(
    name="robust-inner-lp",
    statement="the Numba inner problems min_{p in U(q)} p.z (+ penalty) of the LP-representable sets (L1, Linf, "
              "nested-CVaR, TV penalty; nominal and simplex support) equal the HiGHS LP optimum",
    source="Ho, Petrik & Wiesemann (2018) (L1); LP duality for the others (fast default subset of robust-inner-cvxpy)",
    compare="identity",
    subject=_inner_subject, subject_doc="inner(q, z, uncertainty_set) -> (p_worst, value)",
    run=_run_inner_lp, family=discounted_mdps,
    negative=inner_set_enlarged, negative_doc="inner problem over a larger set (radius x2, CVaR level / 2, penalty / 2)",
    zoo=(), plot="ratio",
))


# ----------------------------------------------------------------------------- s-rectangular sets
def s_rect_randomization_example(gamma=0.9):
    """State 0 has two identical actions reaching state 1 (reward 1 forever) or state 2 (reward 0) with
    probability 1/2 each.  Under the s-rectangular L1 set of budget kappa = 0.4 a deterministic policy lets
    nature move 0.2 of the mass of its row: v(0) = gamma * 0.3 * 10 = 2.7 (gamma = 0.9); the uniform
    randomized policy splits nature's budget: v(0) = 4.5 - 0.9 = 3.6 (Wiesemann, Kuhn & Rustem 2013)."""
    from mdpkit.model import TabularMDP

    P = np.zeros((3, 2, 3))
    P[0, :, 1] = P[0, :, 2] = 0.5
    P[1, :, 1] = P[2, :, 2] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    return TabularMDP(P, R, gamma, name=f"s-rect-randomization(gamma={gamma:g})")


def _run_s_rect(mdp, rng, solver):
    """v*_s (s-rectangular L1, randomized policies) >= the robust value of every deterministic policy (vertex
    enumeration), and v*_s is the robust value of the solver's randomized policy."""
    import itertools

    kappa = 0.4 if mdp.name.startswith("s-rect") else float(rng.choice([0.1, 0.4, 1.0]))
    res = solver(mdp, f"l1:{kappa},rect=s", epsilon=1e-9 * value_scale(mdp))
    v = np.asarray(res.v, dtype=float)
    best_det, err = np.full(mdp.S, -np.inf), 0.0
    verts = l1_vertex_sets(mdp, kappa)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(mdp.S)]):
        vd, e = vertex_robust_values(mdp, kappa, policy=np.array(pol), verts=verts)
        best_det = np.maximum(best_det, vd)
        err = max(err, e)
    v_pol = np.asarray(res.v_policy_robust, dtype=float)
    obs = np.concatenate([best_det - v, np.abs(v - v_pol)])
    b = float(res.v_error_bound)
    bnd = np.concatenate([np.full(mdp.S, b), np.full(mdp.S, b + float(res.v_policy_robust_error_bound))])
    return Observation(obs, bnd, atol=slack(mdp) + err, part=np.repeat([0, 1], mdp.S),
                       info={"kappa": kappa, "gain_from_randomizing": float(np.max(v - best_det))})


def s_rect_double_budget(mdp, uncertainty, **kw):
    """Negative control: s-rectangular robust VI with twice the budget (a larger set)."""
    from mdpkit.uncertainty import parse_uncertainty

    U = parse_uncertainty(uncertainty) if isinstance(uncertainty, str) else uncertainty
    res = robust_value_iteration(mdp, U.with_radius(2.0 * float(U.radius)), **kw)
    return SimpleNamespace(v=res.v, v_error_bound=res.v_error_bound, v_policy_robust=res.v,
                           v_policy_robust_error_bound=res.v_error_bound)


register(Theorem(
    name="s-rect-randomized",
    statement="s-rectangular L1 sets: the optimal robust value over randomized policies is >= the robust value of "
              "every deterministic policy (strictly on the randomization example: 3.6 vs 2.7), and equals the robust "
              "value of the solver's randomized policy",
    source="Wiesemann, Kuhn & Rustem (2013), Math. Oper. Res. 38(1); Ho, Petrik & Wiesemann (2018), Sec. 4",
    compare="bound", mutation=False,  # an order claim and an identity, up to the solver's certified error
    subject=robust_value_iteration, subject_doc="solver(mdp, uncertainty, epsilon=) -> RobustResult (.v, .v_error_bound, "
                                                ".v_policy_robust, .v_policy_robust_error_bound)",
    run=_run_s_rect, family=_tiny_mdps,
    negative=s_rect_double_budget, negative_doc="s-rectangular robust VI with twice the budget",
    zoo=(), plot="ratio", parts=("randomized >= deterministic", "value of its randomized policy"),
    tight=lambda: [s_rect_randomization_example(0.9)],
))


# ----------------------------------------------------------------------------- native s-rectangular Linf / L2 / KL
SRECT_KINDS = ("linf", "l2", "kl")


def _srect_mdps():
    """Discounted MDPs with at least two actions (with one action an s-rectangular set is an sa one)."""
    return discounted_mdps(n_actions=(2, 3))


def sa_rect_T(mdp, v, uncertainty):
    """Negative control: the sa-rectangular backup of the same kind and radius (every action gets the
    whole budget instead of sharing it): a larger set, so a lower value wherever nature's budget binds."""
    from mdpkit.uncertainty import UncertaintySet

    sa = UncertaintySet(uncertainty.kind, uncertainty.radius, support=uncertainty.support)
    return robust_bellman_operator(mdp, v, sa).v


def _run_srect_cvxpy(mdp, rng, T):
    from mdpkit.uncertainty import UncertaintySet, s_rect_bellman_cvxpy

    P = mdp.P_dense()
    obs, sets = [], []
    for kind in SRECT_KINDS:
        kappa = float(rng.choice([0.05, 0.2, 0.6]))
        U = UncertaintySet(kind, kappa, rectangularity="s")
        v = rng.uniform(-1.0, 1.0, mdp.S) * value_scale(mdp)
        Tv = np.asarray(T(mdp, v, U), dtype=float)
        for s in rng.choice(mdp.S, size=min(mdp.S, 2), replace=False):
            av = np.flatnonzero(mdp.action_mask[s])
            val = s_rect_bellman_cvxpy(mdp.R[s, av], P[s, av], v, mdp.gamma, kappa, kind=kind)[0]
            obs.append(abs(Tv[s] - val))
        sets.append(f"{kind}:{kappa:g}")
    obs = np.array(obs)
    return Observation(obs, np.zeros_like(obs), atol=1e-6 * value_scale(mdp), info={"sets": ", ".join(sets)})


register(Theorem(
    name="robust-s-rect-cvxpy",
    statement="the native s-rectangular robust Bellman update for Linf, L2 and KL sets, "
              "max_{pi in Delta_A} min_{sum_a d(p_a, q_a) <= kappa} sum_a pi_a (R_a + gamma p_a.v), equals the "
              "cvxpy (Clarabel) optimum of the epigraph program at every state",
    source="Wiesemann, Kuhn & Rustem (2013), Math. Oper. Res. 38(1) (s-rectangular sets, minimax); "
           "Ho, Petrik & Wiesemann (2022) (theorem numbers not checked against the text)",
    compare="identity",
    subject=robust_T, subject_doc="T(mdp, v, uncertainty) -> (S,) array, the robust Bellman operator",
    run=_run_srect_cvxpy, family=_srect_mdps,
    negative=sa_rect_T, negative_doc="the sa-rectangular update of the same kind and radius (budget not shared)",
    zoo=(), plot="ratio", default=False,
))
