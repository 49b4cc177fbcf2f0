"""Shared plumbing of the policy-optimization examples: argument parsing with ``--out``, the Agg
backend, and saving a figure to ``OUT/NAME`` (not an example itself)."""

import argparse
import os


def setup(argv, **int_args):
    """Parse ``--out DIR`` plus one ``--name`` int option per keyword (its default); select the Agg
    backend.  Returns ``(args, pyplot)``."""
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="figures")
    for name, default in int_args.items():
        p.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return args, plt


def save(fig, plt, out, name):
    """tight_layout, write ``out/name`` at 110 dpi, close, print and return the path."""
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)
    return path
