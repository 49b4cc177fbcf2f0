r"""Cassandra's ``.mdp`` text format (the MDP part of the ``.pomdp`` format of pomdp-solve).

Grammar accepted (A. R. Cassandra, "POMDP file format", pomdp.org; the MDP subset)::

    # comments run to the end of the line
    discount: 0.95
    values: reward            (or cost: rewards are negated)
    states: 3                 (or a list of names)
    actions: 2                (or a list of names)
    start: ...                (optional; a distribution, "uniform", or a state; gives mu0)
    T: a : s : s' p           one entry
    T: a : s                  a row of S probabilities (or "uniform")
    T: a                      an S x S matrix (or "identity" / "uniform")
    R: a : s : s' : o r       one reward entry (the observation field must be "*")
    R: a : s : s' r           the same without an observation field

``a``, ``s`` and ``s'`` are indices, names, or ``*`` (every one).  Later entries override earlier
ones, as in pomdp-solve.  A file that declares ``observations`` or has ``O:`` entries (a POMDP)
is refused.  The reward of ``(s, a, s')`` is ``R_sas``; ``R(s, a) = sum_s' P R_sas``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from . import _io_prism as _px
from ._exceptions import InvalidMDPError
from .model import TabularMDP

__all__ = ["load_cassandra", "save_cassandra"]

_TOKEN = re.compile(r":|[^\s:]+")
_KEYS = ("discount", "values", "states", "actions", "observations", "start", "T", "R", "O", "E")


def _tokens(text):
    out = []
    for ln, raw in enumerate(text.splitlines(), 1):
        body = raw.split("#", 1)[0]
        for m in _TOKEN.finditer(body):
            out.append((m.group(0), ln))
    return out


def load_cassandra(path, *, max_bytes: int | None = 2**30, atol: float = 1e-8) -> _px.LabelledMDP:
    """Read a Cassandra ``.mdp`` file.

    Returns
    -------
    LabelledMDP
        ``mdp`` dense, ``gamma`` the file's discount, ``state_labels`` / ``action_labels`` when
        the file names them, ``mu0`` from ``start:`` (uniform otherwise); no labels.

    Raises
    ------
    ModelFileError
        Naming the line: a missing or repeated header, an unknown keyword, an index or name out
        of range, a malformed number, a row of the wrong length, observations (a POMDP), rows not
        summing to 1 (named state, action), a file over ``max_bytes``.
    """
    text = _px.read_text(path, max_bytes)
    toks = _tokens(text)
    pos = 0
    n = len(toks)

    def peek():
        return toks[pos] if pos < n else (None, toks[-1][1] if toks else 1)

    def take(what):
        nonlocal pos
        if pos >= n:
            raise _px.fail(path, f"unexpected end of file: expected {what}", toks[-1][1] if toks else 1)
        pos += 1
        return toks[pos - 1]

    def colon():
        t, ln = take("':'")
        if t != ":":
            raise _px.fail(path, f"expected ':', got {t!r}", ln)

    def header_values(ln0):
        vals = []
        while pos < n and toks[pos][1] == ln0 and toks[pos][0] != ":":
            vals.append(take("a value")[0])
        return vals

    gamma = None
    values = "reward"
    snames = anames = None
    S = A = None
    start_spec = None
    entries = []  # (kind, line, fields, numbers)
    while pos < n:
        t, ln = take("a keyword")
        if t not in _KEYS:
            raise _px.fail(path, f"unknown keyword {t!r} (expected one of {', '.join(_KEYS)})", ln)
        colon()
        if t in ("discount", "values", "states", "actions", "observations", "start") and entries:
            raise _px.fail(path, f"'{t}:' must come before the T: and R: entries", ln)
        if t == "discount":
            gamma = _px.parse_number(path, take("the discount")[0], "discount", ln)
        elif t == "values":
            v, l2 = take("reward or cost")
            if v not in ("reward", "cost"):
                raise _px.fail(path, f"values must be 'reward' or 'cost', got {v!r}", l2)
            values = v
        elif t in ("states", "actions"):
            vals = header_values(ln)
            if not vals:
                raise _px.fail(path, f"'{t}:' needs a count or a list of names", ln)
            if len(vals) == 1 and vals[0].isdigit():
                k = _px.parse_int(path, vals[0], f"number of {t}", ln)
                names = None
            else:
                names = tuple(vals)
                k = len(names)
                if len(set(names)) != k:
                    raise _px.fail(path, f"a name is repeated in '{t}:'", ln)
            if k == 0:
                raise _px.fail(path, f"'{t}:' declares none", ln)
            if t == "states":
                S, snames = k, names
            else:
                A, anames = k, names
        elif t in ("observations", "O"):
            raise _px.fail(path, "observations (a POMDP) are not supported; only the MDP part of the format is read", ln)
        elif t == "E":
            raise _px.fail(path, "'E:' entries are not supported", ln)
        elif t == "start":
            start_spec = (ln, header_values(ln))
        else:  # T or R
            if S is None or A is None:
                raise _px.fail(path, f"'{t}:' before 'states:' and 'actions:'", ln)
            fields = [take("an action")]
            while pos < n and toks[pos][0] == ":":
                pos += 1
                fields.append(take("an index"))
            nums = []
            while pos < n and toks[pos][0] not in _KEYS:
                nums.append(take("a number"))
            entries.append((t, ln, fields, nums))
    if S is None or A is None:
        raise _px.fail(path, "missing 'states:' or 'actions:'", toks[-1][1] if toks else 1)
    if gamma is None:
        raise _px.fail(path, "missing 'discount:'", 1)
    _px.check_alloc(path, S, S * A * S // 4 + 1, max_bytes, 1)

    def index(tok, names, k, what):
        t, ln = tok
        if t == "*":
            return slice(None)
        if t.isdigit():
            return _px.parse_int(path, t, what, ln, k)
        if names is not None and t in names:
            return names.index(t)
        raise _px.fail(path, f"unknown {what} {t!r}", ln)

    P = np.zeros((S, A, S))
    Rsas = np.zeros((S, A, S))
    for kind, ln, fields, nums in entries:
        a = index(fields[0], anames, A, "action")
        if kind == "T":
            if len(fields) == 3:
                s, s2 = index(fields[1], snames, S, "state"), index(fields[2], snames, S, "state")
                if len(nums) != 1:
                    raise _px.fail(path, f"T: a : s : s' takes one probability, got {len(nums)} values", ln)
                P[s, a, s2] = _px.parse_number(path, nums[0][0], "probability", nums[0][1])
            elif len(fields) == 2:
                s = index(fields[1], snames, S, "state")
                if len(nums) == 1 and nums[0][0] == "uniform":
                    row = np.full(S, 1.0 / S)
                else:
                    if len(nums) != S:
                        raise _px.fail(path, f"T: a : s takes a row of {S} probabilities, got {len(nums)}", ln)
                    row = np.array([_px.parse_number(path, x, "probability", l2) for x, l2 in nums])
                P[s, a, :] = row
            elif len(fields) == 1:
                if len(nums) == 1 and nums[0][0] in ("identity", "uniform"):
                    M = np.eye(S) if nums[0][0] == "identity" else np.full((S, S), 1.0 / S)
                else:
                    if len(nums) != S * S:
                        raise _px.fail(path, f"T: a takes an {S}x{S} matrix, got {len(nums)} values", ln)
                    M = np.array([_px.parse_number(path, x, "probability", l2) for x, l2 in nums]).reshape(S, S)
                P[:, a, :] = M[:, None, :] if isinstance(a, slice) else M
            else:
                raise _px.fail(path, "T: takes at most 'a : s : s''", ln)
        else:
            if len(fields) == 4:
                if fields[3][0] != "*":
                    raise _px.fail(path, f"the observation field of an MDP reward must be '*', got {fields[3][0]!r}", ln)
                fields = fields[:3]
            if len(fields) != 3 or len(nums) != 1:
                raise _px.fail(path, "expected 'R: a : s : s' : * r' or 'R: a : s : s' r' (one value)", ln)
            s, s2 = index(fields[1], snames, S, "state"), index(fields[2], snames, S, "state")
            r = _px.parse_number(path, nums[0][0], "reward", nums[0][1])
            Rsas[s, a, s2] = -r if values == "cost" else r
    if np.any(P < 0):
        s, a, s2 = map(int, np.argwhere(P < 0)[0])
        raise _px.fail(path, f"negative probability P[{s}, {a}, {s2}] = {float(P[s, a, s2])!r}")
    sums = P.sum(axis=2)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        s, a = map(int, np.argwhere(bad)[0])
        raise _px.fail(path, f"the probabilities of state {s}, action {a} sum to {float(sums[s, a])!r}, not 1 "
                             f"(every state-action pair needs a full row)")
    mu0 = None
    if start_spec is not None:
        ln, vals = start_spec
        if vals == ["uniform"]:
            mu0 = None
        elif len(vals) == S and all(v.replace(".", "", 1).replace("e-", "", 1).isdigit() for v in vals):
            mu0 = np.array([_px.parse_number(path, v, "start probability", ln) for v in vals])
        elif len(vals) == 1:
            mu0 = np.zeros(S)
            i = index((vals[0], ln), snames, S, "state")
            mu0[i] = 1.0
        else:
            raise _px.fail(path, "start: must be 'uniform', a state, or S probabilities", ln)
    try:
        mdp = TabularMDP(P=P, R=None, R_sas=np.where(P > 0, Rsas, 0.0), gamma=_px.parse_number(path, repr(gamma), "discount", 1),
                         mu0=mu0, state_labels=snames, action_labels=anames, name=Path(os.fspath(path)).stem, atol=atol)
    except InvalidMDPError as e:
        raise _px.fail(path, f"the file does not describe a valid MDP: {e}") from None
    return _px.LabelledMDP(mdp=mdp)


def save_cassandra(model, path) -> None:
    """Write a :class:`~mdpkit.TabularMDP` (or the ``mdp`` of a LabelledMDP) as a Cassandra ``.mdp``
    file (atomically): ``discount``, ``values: reward``, ``states``/``actions`` (names when the
    model has labels), ``start`` (when ``mu0`` is not uniform), one ``T:`` line per positive
    probability and one ``R: a : s : s' : *`` line per non-zero realised reward (``R_sas``, or
    ``R: a : s : * : *`` with ``R(s, a)`` when the model has none), numbers in shortest round-trip
    form.  Masked actions have no row in the format and are refused.

    Raises
    ------
    InvalidArgumentError
        A model with masked actions, or names containing whitespace, ``:`` or ``#``.
    """
    from ._exceptions import InvalidArgumentError
    from .io import atomic_write

    mdp = model.mdp if isinstance(model, _px.LabelledMDP) else model
    if not mdp.action_mask.all():
        raise InvalidArgumentError("the Cassandra format has no masked actions: every action needs a row in every state")
    for names in (mdp.state_labels, mdp.action_labels):
        if names is not None and any((not n) or re.search(r"[\s:#*]", n) or n.isdigit() for n in names):
            raise InvalidArgumentError("state/action names must be non-empty, non-numeric and free of whitespace, ':', '#', '*'")
    S, A = mdp.S, mdp.A
    P = mdp.P_dense()
    ft = _px.float_text
    out = [f"discount: {ft(mdp.gamma)}\n", "values: reward\n",
           "states: " + (" ".join(mdp.state_labels) if mdp.state_labels else str(S)) + "\n",
           "actions: " + (" ".join(mdp.action_labels) if mdp.action_labels else str(A)) + "\n"]
    if not np.all(mdp.mu0 == mdp.mu0[0]):
        out.append("start: " + " ".join(ft(x) for x in mdp.mu0) + "\n")
    for s, a, s2 in zip(*np.nonzero(P)):
        out.append(f"T: {a} : {s} : {s2} {ft(P[s, a, s2])}\n")
    Rs = mdp.R_sas_dense()
    if Rs is not None:
        for s, a, s2 in zip(*np.nonzero(np.where(P > 0, Rs, 0.0))):
            out.append(f"R: {a} : {s} : {s2} : * {ft(Rs[s, a, s2])}\n")
    else:
        for s, a in zip(*np.nonzero(mdp.R)):
            out.append(f"R: {a} : {s} : * : * {ft(mdp.R[s, a])}\n")
    atomic_write(path, "".join(out))
