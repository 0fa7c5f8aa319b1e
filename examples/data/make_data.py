"""Writes the examples' data files (run from the repository root: ``python examples/data/make_data.py``).

- ``prices/<SYMBOL>.csv``: three years of daily bars of eight fictional stocks, in Yahoo's CSV layout
  (``Date,Open,High,Low,Close,Adj Close,Volume``), from ``ml4t.datasets.synthetic_bars`` (seed 2024).
- ``predictions.csv``: a model's 5-day return forecasts (``ts_event, symbol, prediction``), each published 30
  minutes after the close it describes. The model is ordinary least squares on two momentum features, fitted
  once on 2021 with the labels known by 2021-12-31 (its training cut-off); it predicts 2022 and 2023 only,
  starting after a 5-day embargo, so the file holds out-of-sample forecasts only.

The files are committed; ``tests/config/test_examples.py`` checks this script still writes them byte for byte.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl

from ml4t.data import load_bars
from ml4t.datasets import synthetic_bars

SYMBOLS = ["ALFA", "BRVO", "CHRL", "DLTA", "ECHO", "FXTR", "GOLF", "HTEL"]
TRAIN_END = dt.datetime(2021, 12, 31, 23, 59, tzinfo=dt.UTC)
EMBARGO = dt.timedelta(days=5)


def prices() -> pl.DataFrame:
    """The long frame of the eight stocks (ticker names instead of A000...)."""
    bars = synthetic_bars(n_assets=len(SYMBOLS), n_bars=756, seed=2024, start="2021-01-04")
    names = dict(zip(bars.symbols, SYMBOLS, strict=True))
    return bars.frame.with_columns(pl.col("symbol").replace_strict(names))


def predictions(frame: pl.DataFrame) -> pl.DataFrame:
    """OLS forecasts of the 5-day forward return from 20- and 5-day momentum, fitted on 2021 only."""
    close = pl.col("close")
    featured = frame.sort("symbol", "ts_event").with_columns(
        (close / close.shift(20) - 1).over("symbol").alias("mom"),
        (close / close.shift(5) - 1).over("symbol").alias("rev"),
        # the label: the return over the next 5 bars, known 5 bars later (used for fitting on 2021 only)
        (close.shift(-5) / close - 1).over("symbol").alias("label"),  # ml4t: ignore[PIT001]
        pl.col("ts_event").shift(-5).over("symbol").alias("label_known"),  # ml4t: ignore[PIT001]
    )
    train = featured.filter(pl.col("label_known") <= TRAIN_END).drop_nulls(["mom", "rev", "label"])
    design = np.column_stack([np.ones(train.height), train["mom"].to_numpy(), train["rev"].to_numpy()])
    coef = np.linalg.lstsq(design, train["label"].to_numpy(), rcond=None)[0]
    test = featured.filter(pl.col("ts_event") > TRAIN_END + EMBARGO).drop_nulls(["mom", "rev"])
    forecast = coef[0] + coef[1] * test["mom"].to_numpy() + coef[2] * test["rev"].to_numpy()
    return test.select("ts_event", "symbol").with_columns(pl.Series("prediction", np.round(forecast, 8)))


def yahoo(frame: pl.DataFrame, symbol: str) -> pl.DataFrame:
    one = frame.filter(pl.col("symbol") == symbol).sort("ts_event")
    return one.select(
        pl.col("ts_event").dt.convert_time_zone("America/New_York").dt.date().alias("Date"),
        pl.col("open").round(4).alias("Open"),
        pl.col("high").round(4).alias("High"),
        pl.col("low").round(4).alias("Low"),
        pl.col("close").round(4).alias("Close"),
        pl.col("close").round(4).alias("Adj Close"),
        pl.col("volume").round(0).cast(pl.Int64).alias("Volume"),
    )


def main(out: Path) -> None:
    frame = prices()
    (out / "prices").mkdir(parents=True, exist_ok=True)
    for symbol in SYMBOLS:
        yahoo(frame, symbol).write_csv(out / "prices" / f"{symbol}.csv")
    # the model reads the bars as a user loads them (stamped at the New York close, 20:00 or 21:00 UTC)
    loaded = load_bars(out / "prices" / "*.csv", tz="America/New_York", session_close="16:00").frame
    preds = predictions(loaded).with_columns(pl.col("ts_event").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    preds.sort("ts_event", "symbol").write_csv(out / "predictions.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
