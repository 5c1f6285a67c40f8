"""Tables, charts and the generated README section of the peer benchmark."""

from __future__ import annotations

import math
import platform
import re
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
ORDER = ["stratopt fit", "grid", "random search", "optuna TPE", "optuna CMA-ES", "vectorbt", "backtesting.py"]
COLORS = dict(zip(ORDER, ["C3", "C7", "C0", "C2", "C4", "C1", "C5"]))
PROBLEM_TITLES = {
    "crossover": "MACrossover",
    "voltarget": "VolTarget(MACrossover)",
    "blend": "Blend(MA + Momentum + RSI)",
    "mlp": "MLPPolicy 5-4-1",
    "per-asset": "crossover per stock",
}


def machine() -> str:
    """CPU model, cores, OS, and the versions that matter."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for pkg in ("stratopt", "torch", "numpy", "pandas", "optuna", "cmaes", "vectorbt", "backtesting"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} not installed")
    return (
        f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
        + ", ".join(versions)
    )


def _tools(frame: pd.DataFrame) -> list[str]:
    return [t for t in ORDER if t in set(frame["tool"])]


def _cell(values: pd.Series) -> str:
    v = values.dropna()
    if v.empty:
        return "-"
    if len(v) == 1 or v.max() - v.min() < 5e-4:
        return f"{v.median():.3f}"
    return f"{v.median():.3f} ({v.min():.2f}–{v.max():.2f})"


def budget_table(table: pd.DataFrame, ttt: pd.DataFrame, budgets: list[float]) -> str:
    """Markdown: per problem and tool, the in-sample Sharpe at each budget (median of seeds,
    range in brackets), evaluations and CPU time at the largest budget, time to target, peak
    memory and out-of-sample Sharpe at the largest budget."""
    top = max(budgets)
    head = (
        ["problem (k)", "tool"]
        + [f"in-sample @ {b:g}x" for b in budgets]
        + [f"evals @ {top:g}x", f"OOS @ {top:g}x", "time to target", "peak MB"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for problem in [p for p in PROBLEM_TITLES if p in set(table["problem"])]:
        block = table[table["problem"] == problem]
        k = block["k"].iloc[0]
        best = {b: block[block["budget"] == b].groupby("tool")["in_sample"].median().max() for b in budgets}
        for tool in _tools(block):
            rows = block[block["tool"] == tool]
            cells = []
            for b in budgets:
                at = rows[rows["budget"] == b]["in_sample"]
                text = _cell(at)
                if not at.dropna().empty and abs(at.median() - best[b]) < 5e-4:
                    text = f"**{text}**"
                cells.append(text)
            at_top = rows[rows["budget"] == rows["budget"].max()]
            t = ttt[(ttt["problem"] == problem) & (ttt["tool"] == tool)]["time_x"]
            reached = t.dropna()
            ttt_text = (
                "not reached"
                if reached.empty
                else f"{reached.median():.1f}x" + (f" ({len(reached)}/{len(t)} seeds)" if len(reached) < len(t) else "")
            )
            evals = f"{int(at_top['evals'].median()):,}" + (
                "" if at_top["budget"].max() == top else f" (@{at_top['budget'].max():g}x)"
            )
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{PROBLEM_TITLES[problem]} ({k})",
                        tool,
                        *cells,
                        evals,
                        _cell(at_top["oos"]),
                        ttt_text,
                        f"{rows['peak_mb'].median():.0f}",
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def oos_table(summary: pd.DataFrame) -> str:
    head = ["problem", "tool", "stitched OOS Sharpe", "PSR", "DSR (N = tools)", "PBO (4 best per fold)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for problem, block in summary.groupby("problem", sort=False):
        best = block["oos_sharpe"].max()
        for _, r in block.set_index("tool").loc[_tools(block)].reset_index().iterrows():
            sharpe = f"{r['oos_sharpe']:.3f}"
            lines.append(
                f"| {PROBLEM_TITLES.get(problem, problem)} | {r['tool']} | "
                + (f"**{sharpe}**" if r["oos_sharpe"] == best else sharpe)
                + f" | {r['psr']:.3f} | {r['dsr']:.3f} | {r['pbo']:.2f} |"
            )
    return "\n".join(lines)


def scaling_table(frame: pd.DataFrame) -> str:
    head = [
        "axis",
        "days x assets",
        "data",
        "fit CPU s",
        "fit peak MB",
        "256 evaluations CPU s",
        "256 evaluations peak MB",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (axis, _), block in frame.groupby(["axis", "size"], sort=False):
        f = block[block["tool"].str.startswith("stratopt")].iloc[0]
        e = block[~block["tool"].str.startswith("stratopt")].iloc[0]
        lines.append(
            f"| {axis} | {int(f['days']):,} x {int(f['assets'])} | {'synthetic' if f['synthetic'] else 'real'} | "
            f"{f['cpu_s']:.1f} | {max(f['peak_mb'], 0):.0f} | {e['cpu_s']:.1f} | {max(e['peak_mb'], 0):.0f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- charts
def budget_chart(table: pd.DataFrame, traces: pd.DataFrame, path: Path) -> None:
    """One panel per problem: best in-sample Sharpe against CPU time in units of T (median of
    seeds, band = range), from the improvement traces."""
    problems = [p for p in PROBLEM_TITLES if p in set(table["problem"])]
    fig, axes = plt.subplots(1, len(problems), figsize=(4.0 * len(problems), 3.8), squeeze=False)
    top = table["budget"].max()
    grid = np.geomspace(0.25, top, 60)
    for ax, problem in zip(axes[0], problems):
        tr = traces[traces["problem"] == problem]
        for tool in _tools(tr):
            curves = []
            for _, s in tr[tr["tool"] == tool].groupby("seed"):
                x = (s["cpu_s"] / s["unit_s"]).to_numpy()
                y = s["in_sample"].to_numpy()
                idx = np.searchsorted(x, grid, side="right") - 1
                curves.append(np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan))
            c = np.array(curves)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # before a tool's first result: all NaN
                med, lo, hi = np.nanmedian(c, axis=0), np.nanmin(c, 0), np.nanmax(c, 0)
            ax.step(grid, med, where="post", color=COLORS[tool], label=tool, lw=2 if tool == "stratopt fit" else 1.2)
            if len(c) > 1:
                ax.fill_between(grid, lo, hi, step="post", color=COLORS[tool], alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_xticks([b for b in (0.25, 1, 4, 16) if b <= top])
        ax.set_xticklabels([f"{b:g}x" for b in (0.25, 1, 4, 16) if b <= top])
        k = table[table["problem"] == problem]["k"].iloc[0]
        ax.set_title(f"{PROBLEM_TITLES[problem]}\n{k} parameters", fontsize=10)
        ax.set_xlabel("CPU time / stratopt's default fit")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best in-sample hard Sharpe")
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles[lab] = h
    fig.legend([handles[t] for t in ORDER if t in handles], [t for t in ORDER if t in handles],
               loc="lower center", ncol=len(handles), frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def oos_chart(summary: pd.DataFrame, path: Path) -> None:
    problems = list(dict.fromkeys(summary["problem"]))
    fig, axes = plt.subplots(1, len(problems), figsize=(6.0 * len(problems), 3.8), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        block = (
            summary[summary["problem"] == problem].set_index("tool").loc[_tools(summary[summary["problem"] == problem])]
        )
        x = np.arange(len(block))
        ax.bar(x, block["oos_sharpe"], color=[COLORS[t] for t in block.index])
        for i, (s, pbo) in enumerate(zip(block["oos_sharpe"], block["pbo"])):
            ax.annotate(f"PBO {pbo:.2f}", (i, s), ha="center", va="bottom" if s >= 0 else "top", fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels(block.index, rotation=25, ha="right", fontsize=8)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(f"{PROBLEM_TITLES.get(problem, problem)}: stitched out-of-sample Sharpe", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling_chart(frame: pd.DataFrame, path: Path) -> None:
    """CPU seconds (top) and peak extra memory (bottom) against days and against assets."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex="col")
    colors = {"stratopt fit (default)": COLORS["stratopt fit"], "256 evaluations (batched)": COLORS["random search"]}
    for col, axis in enumerate(("days", "assets")):
        block = frame[frame["axis"] == axis]
        for row, (metric, label) in enumerate((("cpu_s", "CPU seconds"), ("peak_mb", "peak extra MB"))):
            ax = axes[row][col]
            for tool, s in block.groupby("tool"):
                ax.plot(s["size"], s[metric].clip(lower=0.01), marker="o", color=colors.get(tool), label=tool)
            if block["synthetic"].any():
                real = block[~block["synthetic"]]["size"].max()
                ax.axvspan(real, block["size"].max(), color="0.92", zorder=0, label="synthetic prices")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            if col == 0:
                ax.set_ylabel(label)
        axes[1][col].set_xlabel("days (1 stock)" if axis == "days" else "assets (1,000 days)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- README
def findings(table: pd.DataFrame | None, summary: pd.DataFrame | None, scaling: pd.DataFrame | None) -> str:
    """Plain sentences on where stratopt wins and loses, read off the tables."""
    out = []
    table = table if table is not None else pd.DataFrame(columns=["problem", "budget", "tool", "in_sample", "k"])
    budgets = sorted(table["budget"].unique())
    for problem in [p for p in PROBLEM_TITLES if p in set(table["problem"])]:
        block = table[table["problem"] == problem]
        med = block.groupby(["budget", "tool"])["in_sample"].median().unstack()
        parts = []
        for b in budgets:
            row = med.loc[b].dropna()
            if "stratopt fit" not in row:
                continue
            ours, others = row["stratopt fit"], row.drop("stratopt fit")
            rival = others.idxmax()
            verdict = "wins" if ours >= others.max() - 5e-4 else "loses"
            parts.append(f"{b:g}x {verdict} ({ours:.3f} vs {rival} {others.max():.3f})")
        k = block["k"].iloc[0]
        out.append(f"- **{PROBLEM_TITLES[problem]} ({k} parameters)**: stratopt " + "; ".join(parts) + ".")
    if summary is not None and len(summary):
        for problem, block in summary.groupby("problem"):
            s = block.set_index("tool")
            ours = s.loc["stratopt fit"]
            best_other = s.drop("stratopt fit")["oos_sharpe"].idxmax()
            out.append(
                f"- **Out of sample, {PROBLEM_TITLES.get(problem, problem)}** ({int(ours['folds'])} folds from "
                f"{ours['first_test']}): stratopt {ours['oos_sharpe']:.3f} (PBO {ours['pbo']:.2f}) against the best other tool, "
                f"{best_other}, {s.loc[best_other, 'oos_sharpe']:.3f} (PBO {s.loc[best_other, 'pbo']:.2f}); "
                f"the lowest PBO is {s['pbo'].idxmin()}'s ({s['pbo'].min():.2f})."
            )
    if scaling is not None and len(scaling):
        for axis in ("days", "assets"):
            block = scaling[scaling["axis"] == axis].sort_values("size")
            if len(block["size"].unique()) < 2:
                continue
            growth = []
            for tool, s in block.groupby("tool"):
                lo, hi = s.iloc[0], s.iloc[-1]
                slope = math.log(max(hi["cpu_s"], 1e-3) / max(lo["cpu_s"], 1e-3)) / math.log(hi["size"] / lo["size"])
                growth.append(
                    f"{tool} {lo['cpu_s']:.1f} s -> {hi['cpu_s']:.1f} s (about size^{slope:.2f}), "
                    f"peak {hi['peak_mb']:.0f} MB"
                )
            out.append(
                f"- **Cost against {axis}** ({int(block['size'].min()):,} to {int(block['size'].max()):,}): "
                + "; ".join(growth)
                + "."
            )
    return "\n".join(out)


def write_readme(readme: Path, section: str) -> None:
    """Replace the text between the peers markers (insert the block before the first ``##``
    section if the markers are missing); everything else in the file is kept."""
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        at = text.find("\n## ")
        text = text + "\n" + block + "\n" if at < 0 else text[: at + 1] + block + "\n" + text[at:]
    readme.write_text(text)
