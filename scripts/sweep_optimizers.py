"""Sweep optimisers and learning rates on one rule and save the comparison figure.

Every (optimiser, learning rate) pair trains the same rule from the same start; the table gives
each a verdict (good, too_slow, oscillating, diverged) and the figure shows the loss curves,
one row of panels per optimiser. Run it from a shell:

    python scripts/sweep_optimizers.py           # 300 epochs on the 20 bundled stocks
    python scripts/sweep_optimizers.py --quick   # one stock, two years, 10 epochs

It prints the table and writes ``sweep_optimizers.png`` and ``.csv`` (``--out``, default the
current folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import stratopt

OPTIMIZERS = ("sgd", "momentum", "adam")
LEARNING_RATES = [1e-3, 1e-2, 1e-1, 1.0, 10.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one stock, 2009-2010, 10 epochs")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the figure and table")
    args = parser.parse_args()

    if args.quick:
        prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2009-01-01", end="2010-12-31")
    else:
        prices = stratopt.load_prices("sp500")
    result = stratopt.compare_learning_rates(
        stratopt.MACrossover(),
        prices,
        LEARNING_RATES,
        optimizers=OPTIMIZERS,
        epochs=10 if args.quick else 300,
        loss=stratopt.LossSpec(cost_bps=5),
    )
    print(result.summary())
    args.out.mkdir(parents=True, exist_ok=True)
    result.plot().savefig(args.out / "sweep_optimizers.png", dpi=110)
    result.runs.to_csv(args.out / "sweep_optimizers.csv", index=False)


if __name__ == "__main__":
    main()
