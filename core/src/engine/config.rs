//! The engine's settings, checked once when the engine is built: the account, costs, execution, latency,
//! participation, contract multipliers (which also fix the number of symbols) and what wakes the strategy.

use super::bars::BarStream;
use crate::error::{Context, CoreError, CoreResult};
use crate::matching::costs::{CommissionModel, SlippageModel};
use crate::matching::fill::BothTouched;
use crate::matching::Execution;
use crate::portfolio::{AccountKind, MAX_INIT_CASH};

/// Which events wake the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wake {
    pub bars: bool,
    pub signals: bool,
    pub fills: bool,
    pub timers: bool,
}

#[derive(Debug)]
pub struct Config {
    pub init_cash: f64,
    pub account: AccountKind,
    /// Equity below this fraction of the maintained exposure is a margin call (see [`Ledger::margin_call`](crate::portfolio::Ledger::margin_call));
    /// [`AccountKind::default_maintenance`] unless the user chose.
    pub maintenance: f64,
    pub execution: Execution,
    /// Nanoseconds from an order's submission until it reaches the market.
    pub order_latency: i64,
    /// Largest fraction of a bar's volume the orders of one symbol may fill in that bar.
    pub participation: Option<f64>,
    pub both_touched: BothTouched,
    pub commission: Box<dyn CommissionModel>,
    pub slippage: Box<dyn SlippageModel>,
    /// Per symbol; also fixes the number of symbols.
    pub multipliers: Vec<f64>,
    pub wake: Wake,
}

/// Check the settings and the inputs' shape once, before the run: the bars (see [`BarStream`]), the signal
/// arrivals' order, then every setting.
pub(super) fn validate(config: &Config, bars: &BarStream, signal_arrivals: &[i64]) -> CoreResult<()> {
    bars.validate(config.multipliers.len())?;
    if let Some(i) = (1..signal_arrivals.len()).find(|&i| signal_arrivals[i] < signal_arrivals[i - 1]) {
        return Err(CoreError::data(
            "signal arrivals must be sorted",
            Context::argument("signals").at(signal_arrivals[i]),
        ));
    }
    if !(config.init_cash.is_finite() && config.init_cash > 0.0 && config.init_cash <= MAX_INIT_CASH) {
        return Err(CoreError::config(
            format!(
                "init_cash must be > 0 and <= {MAX_INIT_CASH:e}, got {}",
                config.init_cash
            ),
            Context::argument("init_cash"),
        ));
    }
    config.account.check_maintenance(config.maintenance)?;
    if let AccountKind::Margin { leverage } = config.account {
        if !(leverage.is_finite() && leverage >= 1.0) {
            return Err(CoreError::config(
                format!("leverage must be finite and >= 1, got {leverage}"),
                Context::argument("leverage"),
            ));
        }
    }
    if config.order_latency < 0 {
        return Err(CoreError::config(
            "order latency must be >= 0",
            Context::argument("latency"),
        ));
    }
    if let Some(p) = config.participation {
        if !(p.is_finite() && p > 0.0 && p <= 1.0) {
            return Err(CoreError::config(
                format!("participation must be in (0, 1], got {p}"),
                Context::argument("participation"),
            ));
        }
    }
    if let Some(m) = config.multipliers.iter().find(|m| !(m.is_finite() && **m > 0.0)) {
        return Err(CoreError::config(
            format!("contract multipliers must be finite and > 0, got {m}"),
            Context::argument("multipliers"),
        ));
    }
    Ok(())
}
