import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t._shape import DensePositions
from ml4t.result import EQUITY_SCHEMA, FILLS_SCHEMA, ORDERS_SCHEMA, POSITIONS_SCHEMA, TRADES_SCHEMA, empty_frame
from ml4t.vectorized import VectorizedStrategy


def _ts(n):
    start = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    return [start + dt.timedelta(days=i) for i in range(n)]


def _frames(equity):
    return {
        "equity": equity,
        "positions": empty_frame(POSITIONS_SCHEMA),
        "orders": empty_frame(ORDERS_SCHEMA),
        "fills": empty_frame(FILLS_SCHEMA),
        "trades": empty_frame(TRADES_SCHEMA),
    }


def test_from_equity_returns_start_from_init_cash():
    res = ml4t.Result.from_equity(_ts(3), [99.0, 110.0, 99.0], init_cash=100.0, periods_per_year=252)
    assert res.returns["return"].to_list() == pytest.approx([-0.01, 110 / 99 - 1, 99 / 110 - 1])
    assert res.equity.schema == pl.Schema(EQUITY_SCHEMA)
    assert "3 bars" in repr(res)


def test_from_equity_defaults_init_cash_to_first_value():
    res = ml4t.Result.from_equity(_ts(2), np.array([50.0, 55.0]))
    assert res.init_cash == 50.0
    assert res.returns["return"].to_list() == pytest.approx([0.0, 0.1])


def test_from_equity_converts_other_timezones_to_utc():
    ts = pl.Series(_ts(2)).dt.convert_time_zone("America/New_York")
    res = ml4t.Result.from_equity(ts, [1.0, 2.0])
    assert res.equity["ts_event"].dtype == pl.Datetime("ns", "UTC")
    assert res.equity["ts_event"][0] == _ts(1)[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ts_event": [dt.datetime(2024, 1, 1)], "equity": [1.0]}, "tz-aware"),  # noqa: DTZ001
        ({"ts_event": _ts(2), "equity": [1.0]}, "1 values but ts_event has 2"),
        ({"ts_event": [], "equity": []}, "empty"),
        ({"ts_event": _ts(2), "equity": [1.0, float("nan")]}, r"NaN.*first at 2024-01-02T21:00:00\+00:00"),
    ],
)
def test_from_equity_rejects_bad_input(kwargs, match):
    with pytest.raises(ml4t.DataError, match=match):
        ml4t.Result.from_equity(**kwargs)


def test_schema_is_enforced_with_the_column_named():
    equity = pl.DataFrame({"ts_event": pl.Series(_ts(2)).cast(pl.Datetime("ns", "UTC")), "equity": [1.0, 2.0]})
    with pytest.raises(ml4t.DataError, match=r"missing a required column \[argument 'equity', column 'cash'\]"):
        ml4t.Result(**_frames(equity), init_cash=1.0)
    bad_dtype = equity.with_columns(cash=pl.lit(1, dtype=pl.Int64))
    with pytest.raises(ml4t.DataError, match="column 'cash'"):
        ml4t.Result(**_frames(bad_dtype), init_cash=1.0)


def test_equity_timestamps_must_increase():
    ts = pl.Series(_ts(3)[::-1]).cast(pl.Datetime("ns", "UTC"))
    equity = pl.DataFrame({"ts_event": ts, "cash": [1.0] * 3, "equity": [1.0] * 3})
    with pytest.raises(ml4t.DataError, match=r"strictly increasing.*first at 2024-01-02"):
        ml4t.Result(**_frames(equity), init_cash=1.0)


def test_unknown_order_status_and_bad_settings_are_rejected():
    res = ml4t.Result.from_equity(_ts(2), [1.0, 2.0])
    orders = (
        pl.DataFrame([{"order_id": 1, "status": "lost"}])
        .with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in ORDERS_SCHEMA.items() if c not in ("order_id", "status")]
        )
        .select(list(ORDERS_SCHEMA))
        .cast(ORDERS_SCHEMA)
    )
    frames = _frames(res.equity) | {"orders": orders}
    with pytest.raises(ml4t.DataError, match="unknown statuses"):
        ml4t.Result(**frames, init_cash=1.0)
    with pytest.raises(ml4t.DataError, match="init_cash"):
        ml4t.Result(**_frames(res.equity), init_cash=0.0)
    with pytest.raises(ml4t.DataError, match="periods_per_year"):
        ml4t.Result(**_frames(res.equity), init_cash=1.0, periods_per_year=-1)


def test_result_is_immutable():
    res = ml4t.Result.from_equity(_ts(2), [1.0, 2.0])
    with pytest.raises(AttributeError):
        res.init_cash = 5.0  # type: ignore[misc]


# --- per-symbol weights, exposure and turnover over time (issue #12) -------------------------------------------

NAN = float("nan")
T = _ts(6)
# bar -> equity, then per symbol (qty, mark, value); B lists at bar 2 (no mark before), C never trades
PORTFOLIO = {
    0: (1000.0, [(0.0, 10.0, 0.0), (0.0, NAN, 0.0), (0.0, 5.0, 0.0)]),
    1: (1000.0, [(10.0, 10.0, 100.0), (0.0, NAN, 0.0), (0.0, 5.0, 0.0)]),
    2: (500.0, [(10.0, 12.0, 120.0), (4.0, 25.0, 100.0), (0.0, 5.0, 0.0)]),
    3: (400.0, [(-5.0, 12.0, -60.0), (4.0, 20.0, 80.0), (0.0, 5.0, 0.0)]),
    4: (0.0, [(-5.0, 14.0, -70.0), (4.0, 20.0, 80.0), (0.0, 5.0, 0.0)]),  # ruined while holding
    5: (-100.0, [(0.0, 14.0, 0.0), (0.0, 20.0, 0.0), (0.0, 5.0, 0.0)]),  # ruined and flat
}
FILLS = [  # bar, symbol, side, quantity, price
    (1, "A", "buy", 10.0, 10.0),
    (2, "B", "buy", 4.0, 25.0),
    (3, "A", "sell", 15.0, 12.0),
    (5, "A", "buy", 5.0, 14.0),
    (5, "B", "sell", 4.0, 20.0),
]


def _portfolio(*, sparse: bool = False, fills=FILLS) -> ml4t.Result:
    """Three symbols over six daily bars (``PORTFOLIO``); ``sparse``: only the rows that hold a position."""
    equity = pl.DataFrame(
        {"ts_event": T, "cash": [e for e, _ in PORTFOLIO.values()], "equity": [e for e, _ in PORTFOLIO.values()]},
        schema=EQUITY_SCHEMA,
    )
    rows = [
        (T[i], s, q, p, v)
        for i, (_, held) in PORTFOLIO.items()
        for s, (q, p, v) in zip("ABC", held, strict=True)
        if not sparse or q != 0
    ]
    positions = pl.DataFrame(rows, schema=POSITIONS_SCHEMA, orient="row")
    fill_rows = [(k, k, t if isinstance(t, dt.datetime) else T[t], s, side, q, p, 0.0, 0.0)
                 for k, (t, s, side, q, p) in enumerate(fills)]  # fmt: skip
    return ml4t.Result(
        **_frames(equity)
        | {"positions": positions, "fills": pl.DataFrame(fill_rows, schema=FILLS_SCHEMA, orient="row")},
        init_cash=1000.0,
        periods_per_year=252,
    )


def test_weights_are_position_values_over_the_bars_equity():
    w = _portfolio().weights
    assert w.schema == pl.Schema({"ts_event": pl.Datetime("ns", "UTC"), "symbol": pl.String, "weight": pl.Float64})
    got = {(T.index(t), s): x for t, s, x in w.iter_rows()}
    assert [got[i, "A"] for i in range(6)] == pytest.approx([0.0, 0.1, 0.24, -0.15, None, 0.0])
    # B has no mark before its listing (bar 2): no weight, not 0; while equity is <= 0 a held position has
    # no weight (a fraction of a non-positive equity means nothing), a flat one weighs 0
    assert [got[i, "B"] for i in range(6)][:2] == [None, None]
    assert [got[i, "B"] for i in range(2, 6)] == pytest.approx([0.2, 0.2, None, 0.0])
    assert [got[i, "C"] for i in range(6)] == [0.0] * 6
    assert w.select(pl.col("weight").is_infinite().any() | pl.col("weight").is_nan().any()).item() is False


def test_exposure_sums_the_bars_weights_by_side():
    e = _portfolio().exposure
    assert list(e.schema) == ["ts_event", "long", "short", "gross", "net", "n_positions"]
    assert e["ts_event"].to_list() == T
    assert e["n_positions"].dtype == pl.Int64
    assert e["n_positions"].to_list() == [0, 1, 2, 2, 2, 0]
    assert e["long"].to_list() == pytest.approx([0.0, 0.1, 0.44, 0.2, None, 0.0])
    assert e["short"].to_list() == pytest.approx([0.0, 0.0, 0.0, -0.15, None, 0.0])
    assert e["gross"].to_list() == pytest.approx([0.0, 0.1, 0.44, 0.35, None, 0.0])
    assert e["net"].to_list() == pytest.approx([0.0, 0.1, 0.44, 0.05, None, 0.0])


def test_sparse_positions_give_the_same_exposure_and_the_weights_of_their_rows():
    dense, sparse = _portfolio(), _portfolio(sparse=True)
    assert sparse.positions.height == 7
    assert sparse.exposure.equals(dense.exposure)
    held = dense.weights.join(sparse.positions.select("ts_event", "symbol"), on=["ts_event", "symbol"], how="semi")
    assert sparse.weights.equals(held)


def test_turnover_is_traded_value_over_equity_per_bar_with_fills():
    tv = _portfolio().turnover
    assert list(tv.schema) == ["ts_event", "buy_value", "sell_value", "traded_value", "turnover"]
    assert tv["ts_event"].to_list() == [T[1], T[2], T[3], T[5]]
    assert tv["buy_value"].to_list() == pytest.approx([100.0, 100.0, 0.0, 70.0])
    assert tv["sell_value"].to_list() == pytest.approx([0.0, 0.0, 180.0, 80.0])
    assert tv["traded_value"].to_list() == pytest.approx([100.0, 100.0, 180.0, 150.0])
    # two-sided: the reversal at bar 3 sells 15 units (a close of 10 and a short of 5) for 180 of 400 equity
    assert tv["turnover"].to_list() == pytest.approx([0.1, 0.2, 0.45, None])  # equity -100 at bar 5


def test_a_fill_between_bar_stamps_belongs_to_the_bar_that_contains_it():
    # a bar stamped t covers (previous stamp, t]: a fill 3 hours after bar 1's stamp is in bar 2; one after
    # the last bar has no bar (its own time, no equity: no turnover), and none is dropped
    late = T[5] + dt.timedelta(hours=1)
    tv = _portfolio(fills=[(T[1] + dt.timedelta(hours=3), "A", "buy", 10.0, 10.0), (2, "B", "buy", 4.0, 25.0),
                           (late, "C", "sell", 1.0, 5.0)]).turnover  # fmt: skip
    assert tv["ts_event"].to_list() == [T[2], late]
    assert tv["traded_value"].to_list() == pytest.approx([200.0, 5.0])
    assert tv["turnover"].to_list() == [pytest.approx(0.4), None]


def test_a_result_without_positions_or_fills_has_empty_weights_and_zero_exposure():
    res = ml4t.Result.from_equity(_ts(3), [100.0, 0.0, 50.0])
    assert res.weights.is_empty() and list(res.weights.columns) == ["ts_event", "symbol", "weight"]
    assert res.turnover.is_empty() and res.turnover.schema["turnover"] == pl.Float64
    e = res.exposure
    assert e["gross"].to_list() == [0.0, 0.0, 0.0]  # nothing held: exposed to nothing, whatever the equity
    assert e["n_positions"].to_list() == [0, 0, 0]


def test_the_frames_are_lazy_cached_and_not_pickled():
    import pickle

    res = _portfolio()
    assert not {"weights", "exposure", "turnover"} & set(vars(res))  # nothing computed at construction
    assert res.weights is res.weights and res.exposure is res.exposure and res.turnover is res.turnover
    _ = res.metrics
    copy = pickle.loads(pickle.dumps(res))
    assert not {"weights", "exposure", "turnover", "metrics"} & set(vars(copy))  # derived, recomputed
    assert copy.weights.equals(res.weights) and copy.turnover.equals(res.turnover)
    assert copy.exposure.equals(res.exposure) and copy.metrics.equals(res.metrics)
    assert repr(copy) == repr(res)
    assert len(pickle.dumps(res)) == len(pickle.dumps(_portfolio()))  # the same bytes whatever was looked at


def test_frames_given_as_builders_are_built_once_on_first_access_and_checked():
    import pickle

    given = _portfolio()
    calls: list[str] = []

    def builder(name, frame):
        def build():
            calls.append(name)
            return frame

        return build

    names = ("positions", "orders", "fills", "trades")
    lazy = ml4t.Result(
        equity=given.equity,
        **{n: builder(n, getattr(given, n)) for n in names},
        init_cash=given.init_cash,
        periods_per_year=given.periods_per_year,
    )
    assert calls == []  # nothing built at construction
    assert lazy.metrics.equals(given.metrics)  # metrics reads positions, fills and trades, never orders
    assert sorted(calls) == ["fills", "positions", "trades"]
    assert lazy.positions is lazy.positions and calls.count("positions") == 1  # built once, then kept
    assert pickle.dumps(lazy) == pickle.dumps(given)  # a pickle builds every frame: the same bytes
    assert calls.count("orders") == 1 and repr(lazy) == repr(given)
    bad = ml4t.Result(**_frames(given.equity) | {"fills": lambda: given.orders}, init_cash=1.0)
    with pytest.raises(ml4t.DataError, match=r"Result.fills is missing a required column"):
        _ = bad.fills  # checked like a given frame, where it is built
    with pytest.raises(ml4t.DataError, match="or a builder of one"):
        ml4t.Result(**_frames(given.equity) | {"orders": "orders"}, init_cash=1.0)


def _fraction(value, equity):
    """The one rule of a fraction of equity, written out: 0 is 0; otherwise only a positive equity divides."""
    if value == 0:
        return 0.0
    return value / equity if equity is not None and equity > 0 else None


def _reference(res: ml4t.Result) -> tuple[list, list, list]:
    """Weights, exposure and turnover rows of ``res`` by plain loops over its rows."""
    equity = dict(zip(res.equity["ts_event"], res.equity["equity"], strict=True))
    weights = [
        (t, s, None if p is None or math.isnan(p) else _fraction(v, equity.get(t)))
        for t, s, q, p, v in res.positions.iter_rows()
    ]
    exposure = []
    for t, e in equity.items():
        held = [(q, v) for row_t, _, q, _, v in res.positions.iter_rows() if row_t == t]
        long_, short = sum(v for _, v in held if v > 0), sum(v for _, v in held if v < 0)
        gross = sum(abs(v) for _, v in held)
        n = sum(1 for q, _ in held if q != 0)
        exposure.append((t, *(_fraction(x, e) for x in (long_, short, gross, long_ + short)), n))
    stamps = sorted(equity)
    per_bar: dict[dt.datetime, list[float]] = {}
    for t, side, q, p in res.fills.select("ts_event", "side", "quantity", "fill_price").iter_rows():
        bar = next((b for b in stamps if b >= t), t)
        sums = per_bar.setdefault(bar, [0.0, 0.0])
        sums[side == "sell"] += q * p
    turnover = [
        (b, buy, sell, buy + sell, _fraction(buy + sell, equity.get(b))) for b, (buy, sell) in sorted(per_bar.items())
    ]
    return weights, exposure, turnover


def _same_rows(got: pl.DataFrame, want: list) -> None:
    assert got.height == len(want)
    for row, expected in zip(got.iter_rows(), want, strict=True):
        for a, b in zip(row, expected, strict=True):
            assert a == (pytest.approx(b, rel=1e-12, abs=1e-12) if isinstance(b, float) else b), (row, expected)


@st.composite
def _results(draw):
    """Random results: 1-3 symbols listed at random bars (no mark before), equity that may reach 0 or below,
    dense or sparse positions, fills on bars, between them and after the last."""
    n_bars, n_sym = draw(st.integers(1, 7)), draw(st.integers(1, 3))
    ts = _ts(n_bars)
    money = st.sampled_from([-50.0, 0.0, 10.0, 250.0, 1000.0, 1234.5])
    equity = [draw(money) for _ in range(n_bars)]
    sparse = draw(st.booleans())
    rows = []
    for s in "ABC"[:n_sym]:
        listed = draw(st.integers(0, n_bars))
        for i in range(n_bars):
            price = draw(st.sampled_from([3.0, 10.5, 97.25])) if i >= listed else NAN
            qty = draw(st.sampled_from([-7.0, -1.5, 0.0, 0.0, 2.0, 40.0])) if i >= listed else 0.0
            if not (sparse and qty == 0):
                rows.append((ts[i], s, qty, price, qty * price if qty else 0.0))
    rows.sort(key=lambda r: r[0])
    fills = []
    for k in range(draw(st.integers(0, 6))):
        t = ts[0] + dt.timedelta(hours=draw(st.integers(-30, 24 * n_bars + 30)))
        side = draw(st.sampled_from(["buy", "sell"]))
        fills.append(
            (k, k, t, "A", side, draw(st.sampled_from([0.5, 3.0, 11.0])), draw(st.sampled_from([2.0, 9.75])), 0.0, 0.0)
        )
    frames = {
        "equity": pl.DataFrame({"ts_event": ts, "cash": equity, "equity": equity}, schema=EQUITY_SCHEMA),
        "positions": pl.DataFrame(rows, schema=POSITIONS_SCHEMA, orient="row"),
        "orders": empty_frame(ORDERS_SCHEMA),
        "fills": pl.DataFrame(fills, schema=FILLS_SCHEMA, orient="row"),
        "trades": empty_frame(TRADES_SCHEMA),
    }
    return ml4t.Result(**frames, init_cash=1000.0)


@given(_results())
@settings(max_examples=150, deadline=None)
def test_the_frames_agree_with_plain_loops(res):
    weights, exposure, turnover = _reference(res)
    _same_rows(res.weights, weights)
    _same_rows(res.exposure, exposure)
    _same_rows(res.turnover, turnover)
    for frame in (res.weights, res.exposure, res.turnover):
        floats = [c for c, t in frame.schema.items() if t == pl.Float64]
        assert not frame.select(pl.any_horizontal(pl.col(floats).is_infinite() | pl.col(floats).is_nan()).any()).item()


# --- the exposure from dense position arrays (ml4t._shape.DensePositions), issue #18 ---------------------------


class _Dense(DensePositions):
    """Dense ``(bar, symbol)`` positions handed as arrays, the positions frame built from them on demand."""

    def __init__(self, ts, qty, price, value):
        self.ts, self.qty, self.price, self.value = ts, qty, price, value

    def arrays(self):
        return self.qty, self.value

    def __call__(self):
        n, n_sym = self.qty.shape
        return pl.DataFrame(
            {
                "ts_event": self.ts.gather(np.repeat(np.arange(n), n_sym)),
                "symbol": pl.Series([f"S{i}" for i in range(n_sym)], dtype=pl.String).gather(
                    np.tile(np.arange(n_sym), n)
                ),
                "position_qty": self.qty.ravel(),
                "market_price": self.price.ravel(),
                "position_value": self.value.ravel(),
            },
            schema=POSITIONS_SCHEMA,
        )


def _bits(frame: pl.DataFrame) -> list:
    """Every column of ``frame`` as comparable bits: floats as uint64 (null as None, every NaN as one value)."""
    out = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if dtype == pl.Float64:
            raw = column.fill_null(0.0).fill_nan(NAN).to_numpy().view(np.uint64)
            out.append([None if null else int(b) for b, null in zip(raw, column.is_null().to_list(), strict=True)])
        else:
            out.append(column.to_list())
    return out


@given(
    n_bars=st.sampled_from([0, 1, 2, 5, 127, 128, 129, 300, 1000]),
    n_sym=st.sampled_from([0, 1, 2, 3, 127, 128, 130, 257]),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_dense_positions_give_the_frame_paths_exposure_and_means_bit_for_bit(n_bars, n_sym, seed):
    """The core's one pass (``Result.exposure`` and ``exposure_means`` from a ``DensePositions`` builder) gives
    the bits of the frame path (Polars' group sums and means over the built positions frame), also where a bar
    sums 128 symbols or more (Polars' pairwise blocks) and over 128 bars or more (the means' blocks)."""
    n_bars = min(n_bars, 3000 // max(n_sym, 1))
    rng = np.random.default_rng(seed)
    qty = rng.choice([0.0, 0.0, 2.0, -1.5, 40.0, NAN], size=(n_bars, n_sym), p=[0.3, 0.2, 0.2, 0.15, 0.14, 0.01])
    price = rng.choice([NAN, 3.0, 10.5, 97.25], size=(n_bars, n_sym)) * rng.uniform(0.5, 2.0, size=(n_bars, n_sym))
    value = np.nan_to_num(price) * qty
    equity = rng.choice([-50.0, 0.0, NAN, 250.0, 1234.5], size=n_bars, p=[0.05, 0.05, 0.05, 0.45, 0.4])
    equity = equity * rng.uniform(0.5, 2.0, size=n_bars)
    ts = pl.Series("ts_event", [T[0] + dt.timedelta(minutes=i) for i in range(n_bars)], dtype=EQUITY_SCHEMA["ts_event"])
    frame = pl.DataFrame({"ts_event": ts, "cash": equity, "equity": equity}, schema=EQUITY_SCHEMA)
    rest = {k: v for k, v in _frames(frame).items() if k != "positions"}
    dense = _Dense(ts, qty, price, value)
    from_arrays = ml4t.Result(**rest, positions=dense, init_cash=1000.0)
    from_frame = ml4t.Result(**rest, positions=dense(), init_cash=1000.0)
    means = from_arrays.exposure_means()
    assert "positions" not in vars(from_arrays) or not isinstance(vars(from_arrays)["positions"], pl.DataFrame)
    assert _bits(pl.DataFrame([means])) == _bits(pl.DataFrame([from_frame.exposure_means()]))
    assert _bits(from_arrays.exposure) == _bits(from_frame.exposure)
    assert from_arrays.exposure.schema == from_frame.exposure.schema
    assert not isinstance(vars(from_arrays)["positions"], pl.DataFrame)  # neither read the positions frame


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in orders on three symbols
def test_an_engines_metrics_read_neither_the_positions_nor_the_exposure_frame():
    """A run's metrics take the exposure's means from the position arrays: the same bits as a result whose
    positions frame was built first (the frame path), in both modes (a promoted run's ``dataclasses.replace``
    builds its frames, so there the two paths are compared through the vectorized run's metrics)."""
    bars = ml4t.datasets.synthetic_bars(3, 400, "1h", seed=2)
    strat = VectorizedStrategy(_crossing, execution="close", fees=0.001, init_cash=10_000, cash_sharing=True)
    res = strat.run(bars)
    assert isinstance(vars(res)["positions"], DensePositions)
    metrics = res.metrics
    assert isinstance(vars(res)["positions"], DensePositions) and "exposure" not in vars(res)
    framed = ml4t.Result(**{n: getattr(res, n) for n in _frames(res.equity)}, init_cash=res.init_cash,
                         periods_per_year=res.periods_per_year)  # fmt: skip
    assert _bits(metrics) == _bits(framed.metrics)
    promoted = ml4t.promote(strat, bars).run()
    assert _bits(promoted.metrics) == _bits(metrics)


def test_an_event_runs_sparse_positions_give_the_frame_paths_metrics_and_exposure():
    """The event engine's positions (a sparse history made dense with the bar stream's marks) go through the
    same arrays: metrics and exposure are the frame path's bits."""
    from ml4t.event import Engine, Strategy

    class Flip(Strategy):
        """Buys each symbol on every third bar, sells it on the next."""

        def on_start(self, ctx):
            self.n = 0

        def on_bar(self, ctx, bars):
            self.n += 1
            for k, symbol in enumerate(bars.symbols):
                if ctx.position(symbol) == 0 and (self.n + k) % 3 == 0:
                    ctx.order(symbol, 3)
                elif ctx.position(symbol) > 0:
                    ctx.order(symbol, -ctx.position(symbol))

    bars = ml4t.datasets.synthetic_bars(4, 200, "1d", seed=5)
    res = Engine(bars, Flip(), init_cash=10_000).run()
    assert isinstance(vars(res)["positions"], DensePositions)
    metrics, exposure = res.metrics, res.exposure
    assert isinstance(vars(res)["positions"], DensePositions)  # neither built the positions frame
    framed = ml4t.Result(**{n: getattr(res, n) for n in _frames(res.equity)}, init_cash=res.init_cash,
                         periods_per_year=res.periods_per_year)  # fmt: skip
    assert _bits(metrics) == _bits(framed.metrics)
    assert _bits(exposure) == _bits(framed.exposure)
    assert metrics["avg_n_positions"][0] > 0


def _crossing(fast: int = 5, slow: int = 20) -> dict:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}
