r"""Storm's explicit DRN format (``.drn``) for MDPs: reader and writer.

The format, as written by Storm's ``DirectEncodingExporter`` (Storm 1.x / 2.0)::

    // comment lines start with //
    @type: MDP
    @value_type: double          (optional)
    @parameters
    <empty line: no parameters>
    @reward_models
    name1 name2                  (space-separated; empty line if none)
    @nr_states
    13
    @nr_choices
    25
    @model
    state 0 [1, 0] init goal     (id, state rewards per reward model, labels)
    	action 0 [0.5, 2]        (action name, action rewards per reward model)
    		1 : 0.5          (destination : probability)
    		2 : 0.5

States must appear in order ``0 .. nr_states-1``; a state's actions become actions
``0 .. k_s - 1`` of the :class:`~mdpkit.TabularMDP` (``action_mask`` marks them); their names are
kept per state in :attr:`LabelledMDP.action_names`.  ``@type: DTMC`` files (one action per
state, no ``action`` lines) are read as one-action MDPs.  Parametric, interval and partially
observable models are refused with a named error.  The reward of taking action ``a`` in ``s`` is
``state_reward[s] + action_reward[s, a]`` (Storm's semantics for expected total reward).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import _io_prism as _px

__all__ = ["load_drn", "save_drn"]


def _rewards(path, tok: str, n: int, ln: int) -> list[float]:
    if not (tok.startswith("[") and tok.endswith("]")):
        raise _px.fail(path, f"expected a reward vector like [1, 0], got {tok!r}", ln)
    parts = [p.strip() for p in tok[1:-1].split(",")]
    if len(parts) != n:
        raise _px.fail(path, f"{len(parts)} rewards for {n} reward models", ln)
    return [_px.parse_number(path, p, "reward", ln) for p in parts]


def load_drn(path, *, reward_model: str | None = None, max_bytes: int | None = 2**30, atol: float = 1e-8) -> _px.LabelledMDP:
    """Read a Storm DRN file.

    Parameters
    ----------
    path : path
    reward_model : str, optional
        Reward model folded into ``mdp.R`` (default the first declared).
    max_bytes : int or None, default 1 GiB
        File size limit, and limit on the arrays ``@nr_states`` / ``@nr_choices`` may make the
        reader allocate.
    atol : float, default 1e-8
        Tolerance on each action's probability sum.

    Returns
    -------
    LabelledMDP
        ``labels`` from the state lines, ``rewards`` one :class:`RewardStructure` per declared
        reward model, ``initial`` the states labelled ``init``.

    Raises
    ------
    ModelFileError
        Naming the line: unknown or missing section, a model type other than MDP / DTMC, parameters,
        a state out of order, an action without transitions, a bad number, a destination out of
        range, a duplicated destination, probabilities not summing to 1, counts that disagree
        with ``@nr_states`` / ``@nr_choices``, a file over ``max_bytes``.
    """
    text = _px.read_text(path, max_bytes)
    lines = text.splitlines()
    header: dict[str, tuple[int, str]] = {}
    i = 0
    n_lines = len(lines)
    model_line = None
    while i < n_lines:
        raw = lines[i].strip()
        ln = i + 1
        i += 1
        if not raw or raw.startswith("//"):
            continue
        if raw.startswith("@type:"):
            header["type"] = (ln, raw[6:].strip())
        elif raw.startswith("@value_type:"):
            header["value_type"] = (ln, raw[12:].strip())
        elif raw in ("@parameters", "@reward_models", "@nr_states", "@nr_choices", "@placeholders"):
            nxt = lines[i].strip() if i < n_lines else None
            if nxt is None:
                raise _px.fail(path, f"{raw} is the last line; its value is missing", ln)
            header[raw[1:]] = (ln + 1, nxt)
            i += 1
        elif raw == "@model":
            model_line = ln
            break
        else:
            raise _px.fail(path, f"unexpected line before @model: {raw!r}", ln)
    if model_line is None:
        raise _px.fail(path, "no @model section", n_lines)
    if "type" not in header:
        raise _px.fail(path, "missing @type", 1)
    tl, typ = header["type"]
    if typ not in ("MDP", "DTMC"):
        raise _px.fail(path, f"model type {typ!r} is not supported (only MDP and DTMC)", tl)
    if "value_type" in header and header["value_type"][1] != "double":
        raise _px.fail(path, f"value type {header['value_type'][1]!r} is not supported (only double)", header["value_type"][0])
    if header.get("parameters", (0, ""))[1]:
        raise _px.fail(path, "parametric models are not supported", header["parameters"][0])
    if "placeholders" in header:
        raise _px.fail(path, "placeholders are not supported", header["placeholders"][0] - 1)
    for key in ("nr_states",) + (("nr_choices",) if typ == "MDP" else ()):
        if key not in header:
            raise _px.fail(path, f"missing @{key}", model_line)
    S = _px.parse_int(path, header["nr_states"][1], "@nr_states", header["nr_states"][0])
    if S == 0:
        raise _px.fail(path, "@nr_states is 0", header["nr_states"][0])
    n_choices = _px.parse_int(path, header["nr_choices"][1], "@nr_choices", header["nr_choices"][0]) if typ == "MDP" else S
    _px.check_alloc(path, S, n_choices, max_bytes, header["nr_states"][0])
    rnames = header.get("reward_models", (0, ""))[1].split()
    if len(set(rnames)) != len(rnames):
        raise _px.fail(path, "a reward model is declared twice", header["reward_models"][0])
    nr = len(rnames)

    st_rew = np.zeros((S, nr))
    labels: dict[str, list] = {}
    src, act, dst, prob, tlines = [], [], [], [], []
    act_rew: list[list[float]] = []
    act_names: list[tuple[int, int, str]] = []
    kcount = np.zeros(S, dtype=np.int64)
    cur_s = -1
    cur_a = -1
    a_has_t = True
    seen_dst: set = set()
    for j in range(i, n_lines):
        raw = lines[j]
        s = raw.strip()
        ln = j + 1
        if not s or s.startswith("//"):
            continue
        toks = s.split()
        if toks[0] == "state":
            if not a_has_t:
                raise _px.fail(path, f"state {cur_s}, action {cur_a} has no transitions", ln)
            if cur_s >= 0 and kcount[cur_s] == 0 and typ == "MDP":
                raise _px.fail(path, f"state {cur_s} has no action", ln)
            if len(toks) < 2:
                raise _px.fail(path, "state line without an id", ln)
            sid = _px.parse_int(path, toks[1], "state id", ln, S)
            if sid != cur_s + 1:
                raise _px.fail(path, f"state {sid} out of order: expected state {cur_s + 1}", ln)
            cur_s = sid
            rest = s.split(None, 2)[2] if len(toks) > 2 else ""
            if nr:
                if not rest.startswith("["):
                    raise _px.fail(path, f"state {sid}: expected its {nr} reward(s) in brackets after the id", ln)
                end = rest.index("]") if "]" in rest else -1
                if end < 0:
                    raise _px.fail(path, "unterminated reward vector", ln)
                st_rew[sid] = _rewards(path, rest[: end + 1], nr, ln)
                rest = rest[end + 1:]
            if rest.strip().startswith(("{", "<", "[")):
                raise _px.fail(path, f"unsupported state annotation {rest.strip()[:20]!r} (observations, valuations)", ln)
            for nm in rest.split():
                lst = labels.setdefault(nm, [])
                if lst and lst[-1] == sid:
                    raise _px.fail(path, f"label {nm!r} given twice", ln)
                lst.append(sid)
            cur_a = -1
            if typ == "DTMC":
                cur_a = 0
                kcount[sid] = 1
                act_rew.append([0.0] * nr)
                a_has_t = False
                seen_dst = set()
            continue
        if cur_s < 0:
            raise _px.fail(path, f"expected a 'state' line after @model, got {s!r}", ln)
        if toks[0] == "action":
            if typ == "DTMC":
                raise _px.fail(path, "a DTMC has no action lines", ln)
            if not a_has_t:
                raise _px.fail(path, f"state {cur_s}, action {cur_a} has no transitions", ln)
            if len(toks) < 2:
                raise _px.fail(path, "action line without a name", ln)
            name = toks[1]
            rest = s.split(None, 2)[2] if len(toks) > 2 else ""
            r = [0.0] * nr
            if nr:
                if not rest.startswith("["):
                    raise _px.fail(path, f"action {name!r}: expected its {nr} reward(s) in brackets", ln)
                r = _rewards(path, rest.strip(), nr, ln)
            elif rest:
                raise _px.fail(path, f"unexpected text after the action name: {rest!r}", ln)
            cur_a = int(kcount[cur_s])
            kcount[cur_s] += 1
            act_rew.append(r)
            act_names.append((cur_s, cur_a, name))
            a_has_t = False
            seen_dst = set()
            continue
        # a transition "t : p"
        if cur_a < 0:
            raise _px.fail(path, f"transition before any action of state {cur_s}: {s!r}", ln)
        parts = s.split(":")
        if len(parts) != 2:
            raise _px.fail(path, f"expected 'destination : probability', got {s!r}", ln)
        t = _px.parse_int(path, parts[0].strip(), "destination state", ln, S)
        if t in seen_dst:
            raise _px.fail(path, f"destination {t} listed twice for state {cur_s}, action {cur_a}", ln)
        seen_dst.add(t)
        src.append(cur_s)
        act.append(cur_a)
        dst.append(t)
        prob.append(_px.parse_number(path, parts[1].strip(), "probability", ln, positive=True))
        tlines.append(ln)
        a_has_t = True
    if not a_has_t:
        raise _px.fail(path, f"state {cur_s}, action {cur_a} has no transitions", n_lines)
    if cur_s != S - 1:
        raise _px.fail(path, f"@nr_states is {S} but the file lists {cur_s + 1} states", n_lines)
    if typ == "MDP" and kcount[cur_s] == 0:
        raise _px.fail(path, f"state {cur_s} has no action", n_lines)
    if int(kcount.sum()) != n_choices:
        raise _px.fail(path, f"@nr_choices is {n_choices} but the file has {int(kcount.sum())} actions",
                       header.get("nr_choices", (model_line, ""))[0])
    src, act, dst = (np.asarray(x, dtype=np.int64) for x in (src, act, dst))
    prob = np.asarray(prob, dtype=np.float64)
    kmax = int(kcount.max())
    mdp = _px.build_mdp(path, S, kmax, src, act, dst, prob, np.asarray(tlines, dtype=np.int64), atol, Path(os.fspath(path)).stem)
    A = mdp.A
    ar = np.zeros((S * A, nr))
    if nr:
        pair_ids = np.concatenate([np.arange(k) + s * A for s, k in enumerate(kcount.tolist())])
        ar[pair_ids] = np.asarray(act_rew, dtype=np.float64).reshape(-1, nr)
    rewards = {nm: _px.RewardStructure(state=st_rew[:, k].copy(), action=ar[:, k].reshape(S, A).copy(), transition=None)
               for k, nm in enumerate(rnames)}
    names = None
    if act_names:
        names = np.full((S, A), None, dtype=object)
        for s_, a_, nm in act_names:
            names[s_, a_] = nm
    labs = {nm: np.asarray(v, dtype=np.int64) for nm, v in labels.items()}
    return _px.finish_record(path, mdp, labs, rewards, reward_model, None, None, names)


def save_drn(model, path) -> None:
    """Write a :class:`~mdpkit.TabularMDP` or :class:`LabelledMDP` as a DRN file (atomically).

    Probabilities and rewards are written as the shortest decimals that read back as the same
    doubles, so :func:`load_drn` returns the same ``P``, labels and rewards bit for bit.  A plain
    ``TabularMDP`` gets its ``R`` as the action rewards of a reward model ``default`` (none when
    ``R`` is zero) and actions named by their index.  Transition rewards (PRISM ``.trew``) have no
    DRN form and are refused.

    Raises
    ------
    InvalidArgumentError
        A reward structure with transition rewards, or a label name containing whitespace.
    """
    from ._exceptions import InvalidArgumentError
    from .io import atomic_write

    rec = _px.as_record(model)
    mdp = rec.mdp
    S, A = mdp.S, mdp.A
    for nm, rs in rec.rewards.items():
        if rs.transition is not None and rs.transition.nnz and np.any(rs.transition.data):
            raise InvalidArgumentError(f"reward structure {nm!r} has transition rewards, which DRN cannot store")
    for nm in list(rec.labels) + list(rec.rewards):
        if not nm or any(c.isspace() for c in nm) or nm.startswith(("[", "{", "<")):
            raise InvalidArgumentError(f"name {nm!r} cannot be written to DRN (empty, whitespace or a bracket)")
    P = sp.csr_matrix(mdp.P_rows)
    rnames = list(rec.rewards)
    per_state: list[list[str]] = [[] for _ in range(S)]
    for nm, ids in rec.labels.items():
        for s in ids.tolist():
            per_state[s].append(nm)
    out = ["// Exported by mdpkit\n", "@type: MDP\n", "@value_type: double\n", "@parameters\n", "\n",
           "@reward_models\n", " ".join(rnames) + "\n", "@nr_states\n", f"{S}\n",
           "@nr_choices\n", f"{int(mdp.action_mask.sum())}\n", "@model\n"]
    mask = mdp.action_mask
    for s in range(S):
        rv = ""
        if rnames:
            rv = " [" + ", ".join(_px.float_text(rec.rewards[nm].state[s]) for nm in rnames) + "]"
        lab = (" " + " ".join(per_state[s])) if per_state[s] else ""
        out.append(f"state {s}{rv}{lab}\n")
        for a in np.flatnonzero(mask[s]).tolist():
            nm = rec.action_names[s, a] if rec.action_names is not None and rec.action_names[s, a] else str(a)
            av = ""
            if rnames:
                av = " [" + ", ".join(_px.float_text(rec.rewards[n].action[s, a]) for n in rnames) + "]"
            out.append(f"\taction {nm}{av}\n")
            r = s * A + a
            lo, hi = P.indptr[r], P.indptr[r + 1]
            for j, x in zip(P.indices[lo:hi].tolist(), P.data[lo:hi].tolist()):
                if x > 0:
                    out.append(f"\t\t{j} : {_px.float_text(x)}\n")
    atomic_write(path, "".join(out))
