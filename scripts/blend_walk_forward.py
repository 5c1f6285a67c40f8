"""Tune a blend of three classic rules under walk-forward, and compare it with its parts.

The blend's sub-rule parameters and its weights train together on each train window; the hard
blend trades the next test window. The same folds then run each part alone, so the table says
whether blending helped out of sample. Run it from a shell:

    python scripts/blend_walk_forward.py           # 20 bundled stocks, 5-year train windows
    python scripts/blend_walk_forward.py --quick   # 2 stocks, 2002-2005, tiny fits

It prints the comparison and writes ``blend_walk_forward.png`` (``--out``, default the current
folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import stratopt


def parts() -> dict[str, stratopt.Rule]:
    return {
        "trend": stratopt.MACrossover(fast=20, slow=100),
        "momentum": stratopt.Momentum(lookback=120),
        "reversion": stratopt.MeanReversion(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 stocks, 2002-2005, tiny fits")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the figure")
    args = parser.parse_args()

    if args.quick:
        prices = stratopt.load_prices("sp500", tickers=["AAPL", "KO"], start="2002-01-01", end="2005-12-31")
        split, settings = {"train": "2Y", "test": "1Y"}, {"epochs": 1, "n_starts": 1, "screen": 0}
    else:
        prices = stratopt.load_prices("sp500")
        split, settings = {"train": "5Y", "test": "1Y"}, {"epochs": 100, "n_starts": 4}
    loss = stratopt.LossSpec(cost_bps=5, position_mode="long_only")
    blend = stratopt.Tuner(stratopt.Blend(parts()), loss=loss, seed=0, **settings)
    rules = {
        "blend": blend,
        **{name: stratopt.Tuner(rule, loss=loss, seed=0, **settings) for name, rule in parts().items()},
    }
    result = stratopt.compare_rules(rules, prices, **split)
    print(result.summary())
    weights = result.results["blend"].folds.filter(like="w_")
    print("\nblend weights per fold:\n" + weights.to_string(float_format=lambda v: f"{v:.2f}"))
    args.out.mkdir(parents=True, exist_ok=True)
    result.plot().savefig(args.out / "blend_walk_forward.png", dpi=110)


if __name__ == "__main__":
    main()
