"""stratopt's fit against the black boxes and backtesters people would pick instead.

Kept as a script for old instructions: ``python benchmarks/bench_peers.py [options]`` is
``python -m benchmarks [options]`` (see :mod:`benchmarks.peers`), which regenerates the peer
section of ``benchmarks/README.md``, its results in ``benchmarks/results/peers_*.csv`` and its
charts in ``benchmarks/figures/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.peers.run import main

    raise SystemExit(main())
