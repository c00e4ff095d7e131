"""The rush's plot: throughput and p95 per step over time, stages marked (matplotlib PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.loadtest.report import P95_LIMIT_MS, STEPS, Sample, Stage, percentile

BUCKET_S = 10.0


def _buckets(samples: Sequence[Sample], start: float) -> dict[int, list[Sample]]:
    buckets: dict[int, list[Sample]] = {}
    for s in samples:
        buckets.setdefault(int((s.at - start) // BUCKET_S), []).append(s)
    return buckets


def plot(stages: Sequence[Stage], path: Path) -> None:
    """Draw requests/s (all, and per step) on top and p95 per step below, in 10 s buckets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [s for stage in stages for s in stage.samples]
    if not samples:
        return
    start = min(s.at for s in samples)
    names = [n for n in STEPS if any(s.step == n for s in samples)]
    names += sorted({s.step for s in samples} - set(names))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    colors = plt.get_cmap("tab20")
    every = _buckets(samples, start)
    xs = sorted(every)
    top.plot(
        [x * BUCKET_S + BUCKET_S / 2 for x in xs],
        [len(every[x]) / BUCKET_S for x in xs],
        color="black",
        linewidth=2,
        label="all requests",
    )
    for i, name in enumerate(names):
        buckets = _buckets([s for s in samples if s.step == name], start)
        xs = sorted(buckets)
        times = [x * BUCKET_S + BUCKET_S / 2 for x in xs]
        color = colors(i % 20)
        top.plot(times, [len(buckets[x]) / BUCKET_S for x in xs], color=color, label=name)
        bottom.plot(times, [percentile([s.ms for s in buckets[x]], 95) for x in xs], color=color)
    for stage in stages:
        if stage.samples:
            at = min(s.at for s in stage.samples) - start
            for ax in (top, bottom):
                ax.axvline(at, color="grey", linestyle=":", linewidth=0.8)
            top.annotate(
                f"{stage.users} shoppers",
                (at, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color="grey",
            )
    bottom.axhline(P95_LIMIT_MS, color="red", linestyle="--", linewidth=1, label="2 s")
    top.set_ylabel("requests/s (10 s buckets)")
    bottom.set_ylabel("p95 (ms, 10 s buckets)")
    bottom.set_xlabel("seconds since the rush began")
    bottom.set_yscale("log")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    top.set_title("A sale-day rush: throughput and p95 per step")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
