"""Tune one rule on each of many stocks by walk-forward and tabulate the out-of-sample results.

Each stock gets its own walk-forward (refit every year on the previous five, trade the next
one), so every number in the table is out of sample. Run it from a shell:

    python scripts/tune_across_tickers.py              # 20 bundled stocks, a few minutes a stock
    python scripts/tune_across_tickers.py --quick      # 2 stocks, 4 years, tiny fits: a smoke test

It prints the table and writes it as CSV (``--out``, default the current folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import stratopt

RULE = stratopt.MACrossover  # any rule class works here
LOSS = stratopt.LossSpec(cost_bps=5, position_mode="long_only")


def tune_one(prices: pd.DataFrame, *, quick: bool) -> dict[str, float]:
    """Walk-forward of the rule on one stock's prices: out-of-sample Sharpe against buy-and-hold."""
    tuner = stratopt.Tuner(RULE(), loss=LOSS, epochs=2 if quick else 100, n_starts=1 if quick else 4, seed=0)
    split = {"train": "2Y", "test": "1Y"} if quick else {"train": "5Y", "test": "1Y"}
    result = stratopt.walk_forward(tuner, prices, **split)
    table = result.baseline_metrics()
    return {
        "oos_sharpe": table.loc["sharpe", "walk-forward"],
        "buy_and_hold_sharpe": table.loc["sharpe", "buy_and_hold"],
        "untuned_sharpe": table.loc["sharpe", "untuned"],
        "max_drawdown": table.loc["max_drawdown", "walk-forward"],
        "psr": result.psr,
        "folds": len(result.folds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 stocks, 2002-2005, tiny fits")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the CSV table")
    args = parser.parse_args()

    if args.quick:
        prices = stratopt.load_prices("sp500", tickers=["AAPL", "KO"], start="2002-01-01", end="2005-12-31")
    else:
        prices = stratopt.load_prices("sp500")
    rows = {}
    for ticker in prices.columns:
        one = prices[[ticker]].dropna()
        rows[ticker] = tune_one(one, quick=args.quick)
        print(f"{ticker}: out-of-sample Sharpe {rows[ticker]['oos_sharpe']:.2f}", flush=True)
    table = pd.DataFrame(rows).T.sort_values("oos_sharpe", ascending=False)
    table["folds"] = table["folds"].astype(int)
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    beat = (table["oos_sharpe"] > table["buy_and_hold_sharpe"]).mean()
    print(f"\nthe tuned rule beat buy-and-hold out of sample on {beat:.0%} of the stocks")
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "tune_across_tickers.csv")


if __name__ == "__main__":
    main()
