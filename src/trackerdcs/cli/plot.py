"""Draw a history series into a PNG: time axis, field and unit on the value axis."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from trackerdcs.archive.backend import Query, Series
from trackerdcs.contract.payloads import FIELD_UNITS


def plot_series(series: Series, query: Query, path: Path, marks: tuple[float, float] | None = None) -> None:
    """``marks``: a run's start and stop, drawn as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")  # no screen on a lab server
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    numeric = [(datetime.fromtimestamp(t), float(v)) for t, v in series if not isinstance(v, str)]
    figure, axes = plt.subplots(figsize=(10, 4), layout="constrained")
    if numeric:
        times, values = zip(*numeric, strict=True)
        axes.plot(times, values, marker="." if len(numeric) < 200 else None, linewidth=1)
    for ts, label in zip(marks or (), ("run start", "run stop"), strict=False):
        when = mdates.date2num(datetime.fromtimestamp(ts))  # type: ignore[no-untyped-call]
        axes.axvline(when, color="tab:red", linestyle="--", linewidth=1, label=label)
    if marks:
        axes.legend(loc="best")
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    unit = FIELD_UNITS.get(query.field)
    axes.set_ylabel(f"{query.field} [{unit}]" if unit else query.field)
    axes.set_xlabel("local time")
    channel = f" channel {query.channel}" if query.channel is not None else ""
    axes.set_title(f"{query.device}{channel}: {query.field} ({len(numeric)} values)")
    axes.grid(True, alpha=0.3)
    figure.savefig(path, dpi=100)
    plt.close(figure)
