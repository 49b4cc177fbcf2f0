r"""PRISM's explicit model files (``.tra``, ``.lab``, ``.sta``, ``.srew``, ``.trew``) for MDPs.

The format is the one of the PRISM manual's appendix "Explicit Model Files" (PRISM 4.x):

``.tra`` (transitions)
    First line ``n c m``: number of states, of choices (state-action pairs) and of transitions.
    Then one transition per line, ``i k j x [a]``: source state ``i``, choice index ``k`` of ``i``
    (0-based, the choices of a state numbered ``0 .. k_i - 1``), destination ``j``, probability
    ``x`` and an optional action label ``a`` (the same for every line of the choice).  Storm's
    variant (first line ``mdp``, no counts) is read too.  Lines may come in any order; repeated
    ``(i, k, j)`` lines are an error.
``.lab`` (labels)
    First line ``0="init" 1="deadlock" ...`` declaring label indices; then ``i: l1 l2 ...``, the
    labels of state ``i``.  Storm's variant (``#DECLARATION`` / ``#END`` blocks, then
    ``i name1 name2``) is read too.
``.sta`` (state valuations)
    First line ``(v1,...,vn)``; then ``i:(x1,...,xn)``.  Kept as text (bit-exact round trip).
``.srew`` (state rewards)
    Optional ``#`` comment lines, then ``n m`` (states, non-zero entries), then ``i x``.
    Storm's variant has no header and no comments: lines ``i x`` with strictly increasing
    states and non-negative rewards (Storm's ``SparseStateRewardParser``); an empty file means
    all rewards 0.  The first line decides: a PRISM header starts with the number of states, a
    Storm line with a state index (smaller).
``.trew`` (transition rewards, MDP)
    Optional ``#`` comment lines, then ``n c m``, then ``i k j x``.  Storm's variant: an optional
    format line ``mdp``, then ``i k j x`` lines without counts, sorted by ``(i, k)``
    (Storm's ``NondeterministicSparseTransitionParser``).

Reward semantics (PRISM's for MDPs): the reward collected when choice ``k`` is taken in state
``i`` and the chain moves to ``j`` is ``srew[i] + trew[i, k, j]``; the model's ``R[s, a]`` is its
expectation ``srew[s] + sum_j P[s, a, j] trew[s, a, j]``, ``R_sas`` the per-transition reward.

Files are untrusted: parsed without ``eval``, refused above ``max_bytes``, every error a
:class:`~mdpkit.ModelFileError` naming the file and the 1-based line.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._exceptions import InvalidMDPError, ModelFileError
from ._validation import open_regular_file
from .model import TabularMDP

__all__ = [
    "LabelledMDP",
    "RewardStructure",
    "as_record",
    "build_mdp",
    "check_alloc",
    "fail",
    "finish_record",
    "float_text",
    "load_prism",
    "parse_int",
    "parse_number",
    "read_text",
    "save_prism",
    "transition_lookup",
]

_DEFAULT_MAX_BYTES = 2**30


# ============================================================================ records
@dataclass(frozen=True)
class RewardStructure:
    """One named reward structure, as stored in a file.

    Attributes
    ----------
    state : ndarray float64 (S,)
        Reward collected in a state (on leaving it).
    action : ndarray float64 (S, A)
        Reward of a state-action pair (DRN action rewards; 0 for PRISM files).
    transition : scipy.sparse.csr_matrix (S*A, S) or None
        Reward of a transition (PRISM ``.trew``).
    """

    state: np.ndarray
    action: np.ndarray
    transition: sp.csr_matrix | None = None

    def expected(self, mdp: TabularMDP) -> np.ndarray:
        """``R[s, a] = state[s] + action[s, a] + sum_j P[s, a, j] transition[s*A + a, j]`` (S, A)."""
        R = self.state[:, None] + self.action
        if self.transition is not None:
            P = sp.csr_matrix(mdp.P_rows)
            R = R + np.asarray(P.multiply(self.transition).sum(axis=1)).reshape(mdp.S, mdp.A)
        return np.where(mdp.action_mask, R, 0.0)


@dataclass(frozen=True)
class LabelledMDP:
    """A model read from a model-checker file: the MDP plus what the file says about its states.

    Attributes
    ----------
    mdp : TabularMDP
        ``gamma`` 1.0 (the file has none); ``R`` is the reward structure ``reward_model`` (zero
        when the file has none); ``action_mask`` marks each state's choices ``0 .. k_s - 1``.
    labels : dict str -> ndarray int64
        Named state sets (sorted ids), usable as ``goal=`` with ``labels=``.
    rewards : dict str -> RewardStructure
        Every reward structure of the file, in file order.
    reward_model : str or None
        The one folded into ``mdp.R``.
    initial : ndarray int64
        Initial states (label ``init`` where present).
    state_names : tuple of str or None
        Variable names of the state valuations (``.sta``).
    state_values : ndarray of str (S, n_vars) or None
        Valuations as written in the file.
    action_names : ndarray of object (S, A) or None
        Per-state action labels (None where absent).
    """

    mdp: TabularMDP
    labels: dict = field(default_factory=dict)
    rewards: dict = field(default_factory=dict)
    reward_model: str | None = None
    initial: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    state_names: tuple | None = None
    state_values: np.ndarray | None = None
    action_names: np.ndarray | None = None

    def label_mask(self, name: str) -> np.ndarray:
        """Bool (S,) mask of a label; :class:`~mdpkit.InvalidArgumentError` naming the known ones."""
        from .qualitative import state_set

        return state_set(self.mdp, name, "label", self.labels)


# ============================================================================ helpers (shared with the DRN / Cassandra readers)
def fail(path, msg: str, line: int | None = None) -> ModelFileError:
    """A :class:`ModelFileError` whose message starts with the file name and line."""
    where = os.fspath(path) if line is None else f"{os.fspath(path)}, line {line}"
    return ModelFileError(f"{where}: {msg}")


def read_text(path, max_bytes) -> str:
    """Whole file as UTF-8 text, refused above ``max_bytes`` (None: no limit)."""
    f, st = open_regular_file(path)  # FIFOs, devices and directories refused: nothing can block
    with f:
        if max_bytes is not None:
            size = st.st_size
            if size > max_bytes:
                raise fail(path, f"file is {size:,} bytes, more than max_bytes={max_bytes:,}; pass a larger "
                                 "max_bytes= (or None) if the file is trusted")
            data = f.read(size + 1)  # never f.read(max_bytes): that allocates max_bytes up front
            if len(data) > size:  # the file grew since fstat
                data += f.read(max_bytes + 1 - len(data))
            if len(data) > max_bytes:
                raise fail(path, f"file is more than max_bytes={max_bytes:,} bytes")
        else:
            data = f.read()
    if b"\x00" in data:
        raise fail(path, "NUL byte in a text file", data.count(b"\n", 0, data.index(b"\x00")) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(path, f"not valid UTF-8 ({e.reason})", data.count(b"\n", 0, e.start) + 1) from None


def float_text(x: float) -> str:
    """Shortest text that reads back as the same double (``repr``); integers without ``.0``."""
    x = float(x)
    if x == int(x) and abs(x) < 2**53:
        return str(int(x))
    return repr(x)


_INT = re.compile(r"^[0-9]+$")


def parse_int(path, tok: str, what: str, line: int, limit: int | None = None) -> int:
    if not _INT.match(tok) or len(tok) > 18:
        raise fail(path, f"{what} must be a non-negative integer, got {tok!r}", line)
    v = int(tok)
    if limit is not None and v >= limit:
        raise fail(path, f"{what} {v} is out of range (must be < {limit})", line)
    return v


def parse_number(path, tok: str, what: str, line: int, positive: bool = False) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise fail(path, f"{what} must be a number, got {tok!r}", line) from None
    if not math.isfinite(v) or "_" in tok:
        raise fail(path, f"{what} must be a finite decimal number, got {tok!r}", line)
    if positive and not v > 0:
        raise fail(path, f"{what} must be > 0, got {tok!r}", line)
    return v


def _content_lines(text: str):
    """(1-based line number, stripped text) of non-blank lines."""
    for i, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if s:
            yield i, s


def check_alloc(path, n_states: int, n_pairs: int, max_bytes, line: int) -> None:
    """Refuse declared sizes whose arrays would exceed ``max(max_bytes, 64 MiB)``."""
    if max_bytes is None:
        return
    need = 40 * n_pairs + 16 * n_states
    limit = max(max_bytes, 2**26)
    if need > limit:
        raise fail(path, f"declared sizes (S={n_states}, {n_pairs} choices) would need about {need:,} bytes of arrays, "
                         f"more than the limit {limit:,}; pass a larger max_bytes= if the file is trusted", line)


def build_mdp(path, S: int, kmax: int, src, act, dst, prob, lines, atol, name: str) -> TabularMDP:
    """TabularMDP (CSR) from transition rows; errors name the line (duplicates, bad sums, gaps)."""
    A = max(kmax, 1)
    row = src * A + act
    order = np.lexsort((dst, row))
    r_s, d_s = row[order], dst[order]
    dup = np.flatnonzero((r_s[1:] == r_s[:-1]) & (d_s[1:] == d_s[:-1]))
    if dup.size:
        k = order[dup[0] + 1]
        raise fail(path, f"transition {int(src[k])} {int(act[k])} -> {int(dst[k])} appears twice "
                         f"(first at line {int(lines[order[dup[0]]])})", int(lines[k]))
    mask = np.zeros(S * A, dtype=bool)
    mask[row] = True
    # choices must be 0 .. k_s - 1
    m2 = mask.reshape(S, A)
    n_ch = m2.sum(axis=1)
    gap = m2 != (np.arange(A)[None, :] < n_ch[:, None])
    if gap.any():
        s = int(np.flatnonzero(gap.any(axis=1))[0])
        raise fail(path, f"the choices of state {s} are not numbered 0..{n_ch[s] - 1} without gaps "
                         f"(present: {np.flatnonzero(m2[s]).tolist()})")
    if (n_ch == 0).any():
        s = int(np.flatnonzero(n_ch == 0)[0])
        raise fail(path, f"state {s} has no outgoing transition (every state needs a choice; PRISM adds self-loops "
                         "to deadlock states)")
    sums = np.bincount(row, weights=prob, minlength=S * A)
    bad = mask & (np.abs(sums - 1.0) > atol)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        ln = lines[row == r]
        raise fail(path, f"the probabilities of state {r // A}, choice {r % A} sum to {float(sums[r])!r}, not 1 within "
                         f"atol={atol:g} (lines {', '.join(map(str, ln[:8].tolist()))})", int(ln[0]))
    indptr = np.zeros(S * A + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_s, minlength=S * A), out=indptr[1:])
    P = sp.csr_matrix((prob[order], d_s, indptr), shape=(S * A, S))
    try:
        return TabularMDP(P=P, R=np.zeros((S, A)), gamma=1.0, action_mask=m2, name=name, atol=atol)
    except InvalidMDPError as e:
        raise fail(path, f"the file does not describe a valid MDP: {e}") from None


def transition_lookup(mdp: TabularMDP, src, act, dst) -> np.ndarray:
    """Position in ``mdp.P.data`` (CSR, sorted rows) of each transition ``(src, act, dst)``, -1 if absent."""
    P = mdp.P
    S = mdp.S
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    keys = rows * S + P.indices.astype(np.int64)
    q = (src * mdp.A + act) * S + dst
    pos = np.searchsorted(keys, q)
    pos = np.minimum(pos, max(keys.size - 1, 0))
    ok = (keys.size > 0) & (act < mdp.A) & (keys[pos] == q) if keys.size else np.zeros(q.size, dtype=bool)
    return np.where(ok, pos, -1)


# ============================================================================ .tra
def _read_tra(path, text, max_bytes, atol):
    it = _content_lines(text)
    first = next(it, None)
    if first is None:
        raise fail(path, "empty file; expected the header 'n c m' (states, choices, transitions)", 1)
    ln0, head = first
    toks = head.split()
    storm = toks == ["mdp"]
    if not storm:
        if len(toks) != 3:
            if toks and toks[0] in ("dtmc", "ctmc", "ma", "ctmdp"):
                raise fail(path, f"model type {toks[0]!r} is not an MDP", ln0)
            raise fail(path, f"expected the header 'n c m' (states, choices, transitions), got {head!r}", ln0)
        n, c, m = (parse_int(path, t, w, ln0) for t, w in zip(toks, ("number of states", "number of choices",
                                                                 "number of transitions")))
        if n == 0:
            raise fail(path, "the header declares 0 states", ln0)
        check_alloc(path, n, max(c, m), max_bytes, ln0)
    rows, lines = [], []
    for ln, s in it:
        rows.append(s.split())
        lines.append(ln)
    if not rows:
        raise fail(path, "no transition lines after the header (end of file)", ln0 + 1)
    L = np.asarray(lines, dtype=np.int64)
    lens = np.fromiter(map(len, rows), np.int64, len(rows))
    badlen = np.flatnonzero((lens < 4) | (lens > 5))
    if badlen.size:
        k = int(badlen[0])
        raise fail(path, f"expected 'i k j x' or 'i k j x action', got {' '.join(rows[k])!r}", int(L[k]))
    limit_s = None if storm else n
    fast_ok = False
    try:
        cols = list(zip(*[r[:4] for r in rows]))
        ids_ok = all("".join(cols[k]).isascii() and "".join(cols[k]).isdigit() and max(map(len, cols[k])) <= 18
                     for k in range(3))
        txt = "".join(cols[3])
        if ids_ok and txt.isascii() and "_" not in txt:
            src, act, dst = (np.fromiter(map(int, cols[k]), np.int64, len(rows)) for k in range(3))
            prob = np.fromiter(map(float, cols[3]), np.float64, len(rows))
            fast_ok = bool(np.isfinite(prob).all() and prob.min() > 0)
            if limit_s is not None and max(src.max(), dst.max()) >= limit_s:
                fast_ok = False
    except (ValueError, OverflowError):
        fast_ok = False
    if not fast_ok:  # find the first bad line and name it
        for r, ln in zip(rows, lines):
            parse_int(path, r[0], "source state", ln, limit_s)
            parse_int(path, r[1], "choice index", ln)
            parse_int(path, r[2], "destination state", ln, limit_s)
            parse_number(path, r[3], "probability", ln, positive=True)
        raise fail(path, "malformed transition line")  # pragma: no cover
    if not storm:
        if len(rows) != m:
            raise fail(path, f"the header declares {m} transitions but the file has {len(rows)}", ln0)
        S = n
    else:
        S = int(max(src.max(), dst.max())) + 1
        check_alloc(path, S, len(rows), max_bytes, ln0)
    kmax = int(act.max()) + 1
    check_alloc(path, S, S * kmax, max_bytes, int(L[int(np.argmax(act))]))
    if prob.max() > 1.0 + atol:
        k = int(np.argmax(prob))
        raise fail(path, f"probability {rows[k][3]} is larger than 1", int(L[k]))
    mdp = build_mdp(path, S, kmax, src, act, dst, prob, L, atol, Path(os.fspath(path)).stem)
    if not storm and int(mdp.action_mask.sum()) != c:
        raise fail(path, f"the header declares {c} choices but the transitions use {int(mdp.action_mask.sum())}", ln0)
    names = None
    if (lens == 5).any():
        names = np.full((S, mdp.A), None, dtype=object)
        for r, ln, i, a in zip(rows, lines, src, act):
            lab = r[4] if len(r) == 5 else None
            if names[i, a] is None:
                names[i, a] = lab if lab is not None else ""
            elif names[i, a] != (lab or ""):
                raise fail(path, f"state {i}, choice {a} has two action labels: {names[i, a]!r} and {lab!r}", ln)
        names[names == ""] = None
    return mdp, names


# ============================================================================ .lab
_LABDECL = re.compile(r'^\s*(\d+)="([^"]*)"\s*$')


def _read_lab(path, text, S):
    lines = list(_content_lines(text))
    if not lines:
        raise fail(path, "empty label file; expected a declaration line such as 0=\"init\" 1=\"deadlock\"", 1)
    out: dict[str, list] = {}
    if lines[0][1].startswith("#DECLARATION"):  # Storm's variant
        try:
            end = next(i for i, (_, s) in enumerate(lines) if s == "#END")
        except StopIteration:
            raise fail(path, "#DECLARATION without #END", lines[0][0]) from None
        names = " ".join(s for _, s in lines[1:end]).split()
        for nm in names:
            out.setdefault(nm, [])
        for ln, s in lines[end + 1:]:
            toks = s.split()
            st = parse_int(path, toks[0], "state", ln, S)
            for nm in toks[1:]:
                if nm not in out:
                    raise fail(path, f"label {nm!r} was not declared", ln)
                out[nm].append(st)
    else:
        ln0, decl = lines[0]
        idx: dict[int, str] = {}
        for tok in decl.split():
            mt = _LABDECL.match(tok)
            if not mt:
                raise fail(path, f"expected label declarations like 0=\"init\", got {tok!r}", ln0)
            k, nm = int(mt.group(1)), mt.group(2)
            if k in idx or nm in idx.values():
                raise fail(path, f"label index {k} or name {nm!r} declared twice", ln0)
            idx[k] = nm
            out[nm] = []
        for ln, s in lines[1:]:
            if ":" not in s:
                raise fail(path, f"expected 'state: label indices', got {s!r}", ln)
            head, rest = s.split(":", 1)
            st = parse_int(path, head.strip(), "state", ln, S)
            for tok in rest.split():
                k = parse_int(path, tok, "label index", ln)
                if k not in idx:
                    raise fail(path, f"label index {k} was not declared on the first line", ln)
                out[idx[k]].append(st)
    labels = {}
    for nm, ids in out.items():
        a = np.asarray(ids, dtype=np.int64)
        if np.unique(a).size != a.size:
            raise fail(path, f"state listed twice for label {nm!r}")
        labels[nm] = np.sort(a)
    return labels


def _read_sta(path, text, S):
    lines = list(_content_lines(text))
    if not lines or not (lines[0][1].startswith("(") and lines[0][1].endswith(")")):
        raise fail(path, "expected the first line '(v1,...,vn)'", lines[0][0] if lines else 1)
    names = tuple(x.strip() for x in lines[0][1][1:-1].split(","))
    vals = np.empty((S, len(names)), dtype=object)
    seen = np.zeros(S, dtype=bool)
    for ln, s in lines[1:]:
        mt = re.match(r"^(\d+):\((.*)\)$", s)
        if not mt:
            raise fail(path, f"expected 'i:(x1,...,xn)', got {s!r}", ln)
        st = parse_int(path, mt.group(1), "state", ln, S)
        xs = [x.strip() for x in mt.group(2).split(",")]
        if len(xs) != len(names):
            raise fail(path, f"{len(xs)} values for {len(names)} variables", ln)
        if seen[st]:
            raise fail(path, f"state {st} listed twice", ln)
        seen[st] = True
        vals[st] = xs
    if not seen.all():
        raise fail(path, f"state {int(np.flatnonzero(~seen)[0])} has no valuation")
    return names, vals.astype(str)


def _skip_comments(path, text):
    lines = list(_content_lines(text))
    comments = [s for _, s in lines if s.startswith("#")]
    body = [(ln, s) for ln, s in lines if not s.startswith("#")]
    return comments, body


_REWNAME = re.compile(r'^#\s*Reward structure\s+"([^"]*)"\s*$')


def _reward_name(text):
    for _, s in _content_lines(text):
        if not s.startswith("#"):
            return None
        m = _REWNAME.match(s)
        if m:
            return m.group(1)
    return None


def _is_int(tok: str) -> bool:
    return tok.isdigit()


def _read_srew(path, text, S):
    """PRISM's form (header ``n m``, ``n`` = the number of states) or Storm's headerless form
    (lines ``i x`` with strictly increasing states ``i < n`` and ``x >= 0``, no comments; an empty
    file means all rewards 0).  The forms differ on the first line: a header's first number is
    the number of states, a Storm line's the state index (smaller)."""
    _, body = _skip_comments(path, text)
    if not body:
        if text.strip():
            raise fail(path, "state-reward file with comments only; expected the header 'n m' (PRISM)", 1)
        return np.zeros(S)  # Storm reads an empty file as all-zero rewards
    ln0, head = body[0]
    toks = head.split()
    if len(toks) != 2:
        raise fail(path, f"expected the header 'n m' (PRISM) or a line 'i x' (Storm), got {head!r}", ln0)
    prism = _is_int(toks[1]) and _is_int(toks[0]) and int(toks[0]) >= S
    r = np.zeros(S)
    if prism:
        n = parse_int(path, toks[0], "number of states", ln0)
        m = parse_int(path, toks[1], "number of rewards", ln0)
        if n != S:
            raise fail(path, f"the header declares {n} states, the model has {S}", ln0)
        seen = np.zeros(S, dtype=bool)
        for ln, s in body[1:]:
            t = s.split()
            if len(t) != 2:
                raise fail(path, f"expected 'i x', got {s!r}", ln)
            i = parse_int(path, t[0], "state", ln, S)
            if seen[i]:
                raise fail(path, f"state {i} has two rewards", ln)
            seen[i] = True
            r[i] = parse_number(path, t[1], "reward", ln)
        if len(body) - 1 != m:
            raise fail(path, f"the header declares {m} rewards but the file has {len(body) - 1}", ln0)
        return r
    first_comment = next((ln for ln, s in _content_lines(text) if s.startswith("#")), None)
    if first_comment is not None:
        raise fail(path, "a comment line in a headerless (Storm) state-reward file; Storm's parser reads none "
                         "(PRISM's form needs the header 'n m')", first_comment)
    last = -1
    for ln, s in body:
        t = s.split()
        if len(t) != 2:
            raise fail(path, f"expected 'i x' (Storm's headerless state rewards), got {s!r}", ln)
        i = parse_int(path, t[0], "state", ln, S)
        if i <= last:
            raise fail(path, f"state {i} comes after state {last}; Storm's headerless state rewards list states in "
                             "strictly increasing order", ln)
        x = parse_number(path, t[1], "reward", ln)
        if x < 0:
            raise fail(path, f"negative reward {t[1]} (Storm's headerless state rewards are non-negative)", ln)
        r[i] = x
        last = i
    return r


def _read_trew(path, text, mdp):
    """PRISM's form (header ``n c m``) or Storm's (an optional format line such as ``mdp``, then
    ``i k j x`` lines, no counts, ``(i, k)`` non-decreasing)."""
    _, body = _skip_comments(path, text)
    if not body:
        raise fail(path, "empty transition-reward file; expected the header 'n c m' (PRISM) or 'i k j x' lines (Storm)", 1)
    ln0, head = body[0]
    toks = head.split()
    storm = len(toks) == 4 or (len(toks) == 1 and not toks[0][:1].isdigit())
    if len(toks) == 1 and storm:
        if toks[0] != "mdp":
            raise fail(path, f"format line {toks[0]!r}: only 'mdp' transition rewards are read", ln0)
        body = body[1:]
        if not body:
            raise fail(path, "no transition-reward lines after the format line (Storm refuses an empty file)", ln0 + 1)
    elif not storm:
        if len(toks) != 3:
            raise fail(path, f"expected the header 'n c m' (PRISM) or a line 'i k j x' (Storm), got {head!r}", ln0)
        n, c, m = (parse_int(path, t, "count", ln0) for t in toks)
        if n != mdp.S or c != int(mdp.action_mask.sum()):
            raise fail(path, f"the header declares {n} states and {c} choices; the model has {mdp.S} and "
                             f"{int(mdp.action_mask.sum())}", ln0)
        body = body[1:]
    src, act, dst, val, lns = [], [], [], [], []
    for ln, s in body:
        t = s.split()
        if len(t) != 4:
            raise fail(path, f"expected 'i k j x', got {s!r}", ln)
        src.append(parse_int(path, t[0], "source state", ln, mdp.S))
        act.append(parse_int(path, t[1], "choice index", ln, mdp.A))
        dst.append(parse_int(path, t[2], "destination state", ln, mdp.S))
        val.append(parse_number(path, t[3], "reward", ln))
        lns.append(ln)
        if storm and len(src) > 1 and (src[-1], act[-1]) < (src[-2], act[-2]):
            raise fail(path, f"choice {src[-1]} {act[-1]} comes after {src[-2]} {act[-2]}; Storm's transition rewards "
                             "are sorted by state and choice", ln)
    if not storm and len(src) != m:
        raise fail(path, f"the header declares {m} rewards but the file has {len(src)}", ln0)
    src, act, dst = (np.asarray(x, dtype=np.int64) for x in (src, act, dst))
    pos = transition_lookup(mdp, src, act, dst)
    if (pos < 0).any():
        k = int(np.flatnonzero(pos < 0)[0])
        raise fail(path, f"reward for transition {src[k]} {act[k]} -> {dst[k]}, which the model does not have", lns[k])
    if np.unique(pos).size != pos.size:
        k = int(np.flatnonzero(np.bincount(pos) > 1)[0])
        raise fail(path, "a transition has two rewards", lns[int(np.flatnonzero(pos == k)[1])])
    data = np.zeros(mdp.P.nnz)
    data[pos] = np.asarray(val, dtype=np.float64)
    T = sp.csr_matrix((data, mdp.P.indices.copy(), mdp.P.indptr.copy()), shape=mdp.P.shape)
    return T


def _sibling(tra: Path, ext: str):
    p = tra.with_suffix(ext)
    return p if p.exists() else None


def load_prism(
    tra,
    *,
    lab="auto",
    sta="auto",
    srew="auto",
    trew="auto",
    reward_model: str | None = None,
    max_bytes: int | None = _DEFAULT_MAX_BYTES,
    atol: float = 1e-8,
) -> LabelledMDP:
    r"""Read an MDP from PRISM explicit files.

    Parameters
    ----------
    tra : path
        The ``.tra`` file.
    lab, sta, srew, trew : path, None or "auto"
        The other files; ``"auto"`` takes the file with the same stem and that extension when it
        exists; None skips it.  ``srew`` / ``trew`` may also be lists of paths (several reward
        structures, named by the file stems).
    reward_model : str, optional
        Which reward structure goes into ``mdp.R`` (default the first).
    max_bytes : int or None, default 1 GiB
        Per-file size limit, and limit on the arrays the header may make the reader allocate.
    atol : float, default 1e-8
        Tolerance on each choice's probability sum (PRISM writes 12-17 significant digits).

    Returns
    -------
    LabelledMDP

    Raises
    ------
    ModelFileError
        Naming the file and line: bad header, counts that disagree with the body, a malformed or
        duplicated line, an id out of range, a non-positive or non-finite probability, choices not
        numbered ``0..k-1``, probabilities not summing to 1, a state without a choice, undeclared
        labels, rewards on transitions that do not exist, a file larger than ``max_bytes``.
    OSError
        Missing files.
    """
    tra = Path(os.fspath(tra))
    mdp, names = _read_tra(tra, read_text(tra, max_bytes), max_bytes, atol)
    S = mdp.S
    lab_p = _sibling(tra, ".lab") if lab == "auto" else lab
    sta_p = _sibling(tra, ".sta") if sta == "auto" else sta
    labels = _read_lab(lab_p, read_text(lab_p, max_bytes), S) if lab_p is not None else {}
    st_names, st_vals = (None, None)
    if sta_p is not None:
        st_names, st_vals = _read_sta(sta_p, read_text(sta_p, max_bytes), S)
    sr = [_sibling(tra, ".srew")] if srew == "auto" else ([] if srew is None else ([srew] if not isinstance(srew, (list, tuple)) else list(srew)))
    tr = [_sibling(tra, ".trew")] if trew == "auto" else ([] if trew is None else ([trew] if not isinstance(trew, (list, tuple)) else list(trew)))
    sr = [p for p in sr if p is not None]
    tr = [p for p in tr if p is not None]
    if srew == "auto" and trew == "auto" and not sr and not tr:
        # several structures written by save_prism: stem.<name>.srew / stem.<name>.trew
        rnames = sorted({q.name[len(tra.stem) + 1:].rsplit(".", 1)[0] for q in tra.parent.glob(tra.stem + ".*.*rew")})
        for nm in rnames:
            sr.append(tra.parent / f"{tra.stem}.{nm}.srew")
            tr.append(tra.parent / f"{tra.stem}.{nm}.trew")
        pairs = [(a if a.exists() else None, b if b.exists() else None) for a, b in zip(sr, tr)]
        sr = [a for a, _ in pairs]
        tr = [b for _, b in pairs]
    rewards: dict[str, RewardStructure] = {}
    for i in range(max(len(sr), len(tr))):
        ps = sr[i] if i < len(sr) else None
        pt = tr[i] if i < len(tr) else None
        if ps is None and pt is None:
            continue
        ts = read_text(ps, max_bytes) if ps is not None else None
        tt = read_text(pt, max_bytes) if pt is not None else None
        state = _read_srew(ps, ts, S) if ps is not None else np.zeros(S)
        trans = _read_trew(pt, tt, mdp) if pt is not None else None
        nm = _reward_name(ts) if ts is not None else None
        nm = nm or (_reward_name(tt) if tt is not None else None)
        if nm is None:
            nm = Path(os.fspath(ps if ps is not None else pt)).stem
            if nm == tra.stem:
                nm = "default" if i == 0 else f"r{i}"
            elif nm.startswith(tra.stem + "."):  # stem.<name>.srew (several structures, no comment naming them)
                nm = nm[len(tra.stem) + 1:]
        if nm in rewards:
            raise fail(ps if ps is not None else pt, f"reward structure {nm!r} given twice")
        rewards[nm] = RewardStructure(state=state, action=np.zeros((S, mdp.A)), transition=trans)
    return finish_record(tra, mdp, labels, rewards, reward_model, st_names, st_vals, names)


def finish_record(path, mdp, labels, rewards, reward_model, st_names=None, st_vals=None, names=None) -> LabelledMDP:
    """Fold the chosen reward structure into ``mdp.R`` and assemble the record."""
    if reward_model is not None and reward_model not in rewards:
        raise fail(path, f"no reward structure {reward_model!r}; the file has {', '.join(rewards) or 'none'}")
    chosen = reward_model if reward_model is not None else (next(iter(rewards)) if rewards else None)
    if chosen is not None:
        rs = rewards[chosen]
        R = rs.expected(mdp)
        kw = {}
        if rs.transition is not None:
            base = (rs.state[:, None] + rs.action).reshape(-1)
            prow = np.repeat(np.arange(mdp.S * mdp.A), np.diff(mdp.P.indptr))
            kw["R_sas"] = sp.csr_matrix((base[prow] + rs.transition.data, mdp.P.indices, mdp.P.indptr), shape=mdp.P.shape)
            R = None
        try:
            # P was validated by build_mdp with the caller's atol; only the rewards are new here
            mdp = TabularMDP(P=mdp.P, R=R, gamma=1.0, action_mask=mdp.action_mask, name=mdp.name, atol=0.25, **kw)
        except InvalidMDPError as e:
            raise fail(path, f"the rewards do not fit the model: {e}") from None
    initial = labels.get("init", np.zeros(0, dtype=np.int64))
    return LabelledMDP(mdp=mdp, labels=labels, rewards=rewards, reward_model=chosen, initial=initial,
                       state_names=st_names, state_values=st_vals, action_names=names)


# ============================================================================ writers
def as_record(model) -> LabelledMDP:
    """A LabelledMDP for the writers; a model's ``R`` with no reward structure becomes the action
    rewards of a structure ``default`` (none when ``R`` is zero)."""
    if isinstance(model, LabelledMDP):
        if not model.rewards and np.any(np.where(model.mdp.action_mask, model.mdp.R, 0.0)):
            m = model.mdp
            rs = RewardStructure(np.zeros(m.S), np.where(m.action_mask, m.R, 0.0), None)
            return LabelledMDP(mdp=m, labels=model.labels, rewards={"default": rs}, reward_model="default",
                               initial=model.initial, state_names=model.state_names, state_values=model.state_values,
                               action_names=model.action_names)
        return model
    if isinstance(model, TabularMDP):
        S = model.S
        R = np.where(model.action_mask, model.R, 0.0)
        rew = {} if not np.any(R) else {"default": RewardStructure(np.zeros(S), R.copy(), None)}
        return LabelledMDP(mdp=model, rewards=rew, reward_model=next(iter(rew), None))
    raise TypeError(f"expected a TabularMDP or LabelledMDP, got {type(model).__name__}")


def save_prism(model, stem, *, variant: str = "prism") -> list:
    """Write PRISM explicit files ``stem.tra`` (+ ``.lab``, ``.sta``, ``.srew``, ``.trew`` when present).

    ``variant="storm"`` writes Storm's forms instead: ``.tra`` with the first line ``mdp``, labels
    in a ``#DECLARATION`` block, headerless ``.srew`` (``i x``, non-zero entries; rewards must be
    non-negative) and ``.trew`` (``i k j x``) without comments (the reward structure is named by
    the file name: ``stem.<name>.srew`` with several structures, else ``default``); a reward
    structure whose transition part is all zero gets no ``.trew`` (Storm refuses an empty one).

    Numbers are written as the shortest decimal that reads back as the same double, so
    ``load_prism(save_prism(m))`` returns the same ``P``, labels and reward arrays bit for bit.
    A :class:`~mdpkit.TabularMDP` without a record has its ``R`` written as transition rewards
    (``.trew``, per choice: every transition of choice ``a`` carries ``R[s, a]``), since PRISM's
    files have no action rewards.  With several reward structures, each goes to
    ``stem.<name>.srew`` / ``stem.<name>.trew``.  Every file is written atomically.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from .io import atomic_write

    from ._exceptions import InvalidArgumentError

    if variant not in ("prism", "storm"):
        raise InvalidArgumentError(f"variant must be 'prism' or 'storm', got {variant!r}")
    storm = variant == "storm"
    rec = as_record(model)
    mdp = rec.mdp
    S, A = mdp.S, mdp.A
    P = sp.csr_matrix(mdp.P_rows)
    stem = Path(os.fspath(stem))
    if stem.suffix == ".tra":
        stem = stem.with_suffix("")
    written = []
    rows = np.repeat(np.arange(S * A), np.diff(P.indptr))
    nz = P.data > 0
    out = ["mdp\n" if storm else f"{S} {int(mdp.action_mask.sum())} {int(nz.sum())}\n"]
    for r, j, x in zip(rows[nz].tolist(), P.indices[nz].tolist(), P.data[nz].tolist()):
        s, a = divmod(r, A)
        nm = rec.action_names[s, a] if rec.action_names is not None else None
        out.append(f"{s} {a} {j} {float_text(x)}" + (f" {nm}\n" if nm else "\n"))
    p = stem.with_suffix(".tra")
    atomic_write(p, "".join(out))
    written.append(p)
    if rec.labels:
        names = list(rec.labels)
        per = [[] for _ in range(S)]
        for i, n in enumerate(names):
            for s in rec.labels[n].tolist():
                per[s].append(i)
        if storm:
            if any(not n or any(ch.isspace() for ch in n) or n.startswith("#") for n in names):
                raise InvalidArgumentError("Storm's label files separate names by whitespace: label names must be "
                                           "non-empty, without whitespace and not start with '#'")
            head = "#DECLARATION\n" + " ".join(names) + "\n#END\n"
            body = "".join(f"{s} {' '.join(names[k] for k in ks)}\n" for s, ks in enumerate(per) if ks)
        else:
            head = " ".join(f'{i}="{n}"' for i, n in enumerate(names)) + "\n"
            body = "".join(f"{s}: {' '.join(map(str, ks))}\n" for s, ks in enumerate(per) if ks)
        p = stem.with_suffix(".lab")
        atomic_write(p, head + body)
        written.append(p)
    if rec.state_names is not None:
        body = "(" + ",".join(rec.state_names) + ")\n" + "".join(
            f"{s}:({','.join(rec.state_values[s])})\n" for s in range(S))
        p = stem.with_suffix(".sta")
        atomic_write(p, body)
        written.append(p)
    multi = len(rec.rewards) > 1
    for nm, rs in rec.rewards.items():
        base = Path(f"{stem}.{nm}") if multi else stem
        trans = rs.transition
        if np.any(rs.action):
            act = sp.csr_matrix((rs.action.reshape(-1)[rows], P.indices, P.indptr), shape=P.shape)
            trans = act if trans is None else sp.csr_matrix(trans + act)
        if storm and (np.any(rs.state < 0) or (trans is not None and np.any(sp.csr_matrix(trans).data < 0))):
            raise InvalidArgumentError(f"reward structure {nm!r} has negative rewards; Storm's explicit reward files "
                                       "hold non-negative rewards")
        if storm and trans is not None and not np.any(sp.csr_matrix(trans).data):
            trans = None
        if np.any(rs.state) or trans is None:
            nzs = np.flatnonzero(rs.state)
            head = "" if storm else f'# Reward structure "{nm}"\n# State rewards\n{S} {nzs.size}\n'
            body = head + "".join(f"{s} {float_text(rs.state[s])}\n" for s in nzs.tolist())
            p = Path(f"{base}.srew")
            atomic_write(p, body)
            written.append(p)
        if trans is not None:
            T = sp.csr_matrix(trans, copy=True)
            T.sort_indices()  # Storm reads each choice's entries in column order
            trow = np.repeat(np.arange(S * A), np.diff(T.indptr))
            keep = T.data != 0
            lines = [] if storm else [f'# Reward structure "{nm}"\n# Transition rewards\n{S} {int(mdp.action_mask.sum())} {int(keep.sum())}\n']
            for r, j, x in zip(trow[keep].tolist(), T.indices[keep].tolist(), T.data[keep].tolist()):
                s, a = divmod(r, A)
                lines.append(f"{s} {a} {j} {float_text(x)}\n")
            p = Path(f"{base}.trew")
            atomic_write(p, "".join(lines))
            written.append(p)
    return written
