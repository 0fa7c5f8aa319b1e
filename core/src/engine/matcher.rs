//! Matching one bar against its symbol's working orders.
//!
//! For each bar, in this order:
//! 1. corporate actions on its ex-date: a split scales positions, working orders' quantities and prices;
//!    a cash dividend pays longs and charges shorts;
//! 2. each working order the bar may fill ([`Engine::eligible`]: the bar started at or after the order reached
//!    the market) is tested against the bar ([`touch`]; a trailing stop by
//!    [`TrailingStop::step`](crate::matching::fill::TrailingStop::step)): DAY orders from an earlier session
//!    expire first; IOC and FOK orders that the bar does not fill are cancelled;
//! 3. when several orders of one OCO group (a bracket's exit legs) touch in the same bar, they are tried in
//!    the order of [`exit_order`] (the stop-type leg first unless the policy says the take-profit) and the
//!    first that fills cancels the others; one that is refused lets the next one try;
//! 4. fills run in submission order, each capped by what is left of the bar's participation volume
//!    ([`participation_cap`]), priced by the slippage and commission models, and booked as a close plus an
//!    open (see `booking.rs`): what the account refuses is rejected, but the closing part of a fill is
//!    always booked;
//! 5. the symbol's mark moves to the close.

use super::booking::Booked;
use super::order::{Code, Kind, Order, OrderRequest, Status, Tif};
use super::{Engine, Execution, Fill};
use crate::matching::costs::{apply_costs, CostedFill, FillContext};
use crate::matching::fill::{exit_order, participation_cap, touch, Bar, Touch, Trail, Trigger};
use crate::options::Named;
use crate::portfolio::{Outcome, Side};

impl Engine {
    /// The bars `rows` that arrived at one timestamp: corporate actions, then every working order of their
    /// symbols in submission order (across symbols, so an earlier sale funds a later purchase), then the
    /// marks move to the closes.
    pub(super) fn on_bars(&mut self, rows: std::ops::Range<usize>) {
        let mut ids = Vec::new();
        let mut arrived = Vec::new();
        for row in rows.clone() {
            let symbol = self.bars.symbol[row];
            self.corporate_actions(row, symbol);
            self.last_row[symbol] = Some(row);
            if self.promoted.is_some() {
                arrived.push((symbol, row));
            }
            ids.append(&mut self.working[symbol]);
        }
        if !arrived.is_empty() {
            self.promoted_act(&arrived);
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            // Under external execution a broker fills them: the closed ones only leave the working lists.
            if !self.external {
                self.match_orders(&ids);
            }
            for id in ids {
                let o = &self.orders[id as usize];
                if o.is_open() {
                    self.working[o.request.symbol].push(id);
                }
            }
            // Bracket legs released by fills in these bars were pushed meanwhile: restore submission order.
            for row in rows.clone() {
                let working = &mut self.working[self.bars.symbol[row]];
                working.sort_unstable();
                working.dedup();
            }
        }
        for row in rows {
            self.ledger.marks[self.bars.symbol[row]] = self.bars.close[row];
        }
    }

    /// The promoted strategy's orders at the bars that `arrived` (`(symbol, row)`), the bars of one
    /// timestamp taken together as one vectorized bar, each recorded like any order: decided at the signal's
    /// bar (under next-open execution the timeline's previous bar, whether or not the symbol had a bar
    /// there), filled or rejected at this one.
    fn promoted_act(&mut self, arrived: &[(usize, usize)]) {
        let Some(promoted) = self.promoted.as_mut() else {
            return;
        };
        let mut steps = Vec::new();
        let mut acted = Vec::new();
        let mut last_bar = None;
        for &(_, row) in arrived {
            let bar = promoted.bar_of(row);
            if last_bar == Some(bar) {
                continue;
            }
            last_bar = Some(bar);
            let previous = promoted.advance(self.bars.ts_event[row]);
            promoted.act(bar, &mut self.ledger, &mut steps);
            for (symbol, (order, outcome, _, _)) in steps.drain(..) {
                if let Some(&(_, row)) = arrived.iter().find(|a| a.0 == symbol) {
                    acted.push((symbol, row, previous, order, outcome));
                }
            }
        }
        for (symbol, row, previous, order, outcome) in acted {
            self.record_promoted(symbol, row, previous, &order, outcome);
        }
    }

    fn record_promoted(
        &mut self,
        symbol: usize,
        row: usize,
        previous: Option<i64>,
        order: &crate::portfolio::Order,
        outcome: Outcome,
    ) {
        let te = self.bars.ts_event[row];
        let decided = match self.config.execution {
            Execution::Close => te,
            Execution::NextOpen => previous.unwrap_or(te),
        };
        let id = self.orders.len() as u64;
        let (side, quantity) = match outcome {
            Outcome::Filled { side, size, .. } => (side, size),
            _ => (if order.size > 0.0 { Side::Buy } else { Side::Sell }, order.size.abs()),
        };
        let request = OrderRequest {
            symbol,
            side,
            quantity: if quantity.is_finite() { quantity } else { f64::NAN },
            kind: Kind::Market,
            tif: Tif::Ioc,
            oco: None,
            parent: None,
        };
        let mut record = Order::new(id, request, decided, decided);
        match outcome {
            Outcome::Filled {
                side,
                size,
                price,
                fees,
            } => {
                record.record_fill(size, price, te);
                self.fills.push(Fill {
                    order_id: id,
                    ts: te,
                    symbol,
                    side,
                    quantity: size,
                    price,
                    fee: fees,
                    slippage: (price - order.price).abs() * size,
                });
            }
            Outcome::Rejected(reason) => record.close(Status::Rejected, reason, reason.message(), te),
            Outcome::Ignored => return,
        }
        self.orders.push(record);
    }

    fn corporate_actions(&mut self, row: usize, symbol: usize) {
        if let Some(&ratio) = self.bars.split.get(row) {
            if ratio.is_finite() && ratio > 0.0 && ratio != 1.0 {
                self.ledger.split(symbol, ratio);
                let ids: Vec<u64> = self.working[symbol]
                    .iter()
                    .copied()
                    .chain(self.held_of(symbol))
                    .collect();
                for id in ids {
                    let o = &mut self.orders[id as usize];
                    o.quantity *= ratio;
                    o.filled *= ratio;
                    o.request.kind = match o.request.kind {
                        Kind::Limit { limit } => Kind::Limit { limit: limit / ratio },
                        Kind::Stop { stop } => Kind::Stop { stop: stop / ratio },
                        Kind::StopLimit { stop, limit } => Kind::StopLimit {
                            stop: stop / ratio,
                            limit: limit / ratio,
                        },
                        Kind::TrailingStop {
                            trail: Trail::Amount(a),
                        } => Kind::TrailingStop {
                            trail: Trail::Amount(a / ratio),
                        },
                        other => other,
                    };
                    if let Some(t) = o.trailing.as_mut() {
                        t.extreme /= ratio;
                        if let Trail::Amount(a) = t.trail {
                            t.trail = Trail::Amount(a / ratio);
                        }
                    }
                }
            }
        }
        if let Some(&amount) = self.bars.dividend.get(row) {
            if amount.is_finite() && amount != 0.0 {
                self.dividends += self.ledger.dividend(symbol, amount);
            }
        }
    }

    /// Bracket legs of `symbol` still waiting for their entry.
    fn held_of(&self, symbol: usize) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .children
            .values()
            .flatten()
            .copied()
            .filter(|&c| {
                let o = &self.orders[c as usize];
                o.held && o.is_open() && o.request.symbol == symbol
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    fn bar(&self, row: usize) -> Bar {
        Bar {
            open: self.bars.open[row],
            high: self.bars.high[row],
            low: self.bars.low[row],
            close: self.bars.close[row],
            volume: self.bars.volume[row],
        }
    }

    /// A market order under close execution submitted right after its symbol's bar arrived fills now, at
    /// that bar's close, if it reached the market by the bar's stamp ([`Engine::eligible`]: no order or
    /// feed latency in between).
    pub(super) fn fill_at_close_now(&mut self, id: u64) {
        let o = &self.orders[id as usize];
        if self.external || self.config.execution != Execution::Close || o.request.kind != Kind::Market {
            return;
        }
        let symbol = o.request.symbol;
        let Some(row) = self.last_row[symbol] else {
            return;
        };
        if self.bars.ts_arrival[row] == self.now && self.eligible(id, row) {
            self.match_orders(&[id]);
            self.working[symbol].retain(|&w| self.orders[w as usize].is_open());
        }
    }

    /// The point-in-time rule: order `id` may be matched against bar `row` only if it reached the market at
    /// or before the bar's start (`ts_start`), so neither the open nor an intrabar high or low from before
    /// the order existed can price it. A market order under close execution is priced by the close alone,
    /// so it needs only to have arrived by the bar's stamp (the named optimistic convention).
    pub(super) fn eligible(&self, id: u64, row: usize) -> bool {
        let o = &self.orders[id as usize];
        let close_priced = self.config.execution == Execution::Close && o.request.kind == Kind::Market;
        if close_priced {
            self.bars.ts_event[row] >= o.active_ts
        } else {
            self.bars.ts_start[row] >= o.active_ts
        }
    }

    /// Match `ids` (in this order) against their symbols' latest bars (`last_row`).
    fn match_orders(&mut self, ids: &[u64]) {
        let close_exec = self.config.execution == Execution::Close;
        let mut touched: Vec<(u64, f64)> = Vec::new();
        for &id in ids {
            let o = &self.orders[id as usize];
            if !o.is_open() || o.held {
                continue;
            }
            let Some(row) = self.last_row[o.request.symbol] else {
                continue;
            };
            if !self.eligible(id, row) {
                continue;
            }
            let bar = self.bar(row);
            let te = self.bars.ts_event[row];
            let session = i64::from(self.bars.session[row]);
            let o = &mut self.orders[id as usize];
            if o.request.tif == Tif::Day {
                match o.session {
                    None => o.session = Some(session),
                    Some(s) if s != session => {
                        let at = o.last_bar.unwrap_or(te);
                        let reason = "DAY order: its session ended".to_owned();
                        self.close_order(id, Status::Expired, Code::DayExpired, reason, at);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            let o = &mut self.orders[id as usize];
            o.last_bar = Some(te);
            let side = o.request.side;
            let result = match o.request.kind {
                Kind::Market => Touch::Fill(if close_exec { bar.close } else { bar.open }),
                Kind::Limit { limit } => touch(Trigger::Limit { limit }, side, &bar),
                Kind::Stop { stop } => touch(Trigger::Stop { stop }, side, &bar),
                Kind::StopLimit { limit, .. } if o.triggered => touch(Trigger::Limit { limit }, side, &bar),
                Kind::StopLimit { stop, limit } => touch(Trigger::StopLimit { stop, limit }, side, &bar),
                Kind::TrailingStop { .. } => {
                    o.start_trailing(bar.open);
                    o.trailing.as_mut().map_or(Touch::Rest, |t| t.step(&bar))
                }
            };
            match result {
                Touch::Fill(price) => touched.push((id, price)),
                Touch::BecomesLimit | Touch::Rest => {
                    if result == Touch::BecomesLimit {
                        o.triggered = true;
                    }
                    match o.request.tif {
                        Tif::Ioc | Tif::Fok => {
                            let tif = o.request.tif;
                            let reason = format!("{}: not fillable in its first bar", tif.name().to_uppercase());
                            self.close_order(id, Status::Cancelled, unfilled_code(tif), reason, te);
                        }
                        Tif::Gtc | Tif::Day => {}
                    }
                }
            }
        }
        self.order_oco(&mut touched);
        for (id, price) in touched {
            if !self.orders[id as usize].is_open() {
                continue; // cancelled by an OCO sibling's fill in this bar
            }
            let (side, tif, wanted, symbol) = {
                let o = &self.orders[id as usize];
                (o.request.side, o.request.tif, o.remaining(), o.request.symbol)
            };
            let Some(row) = self.last_row[symbol] else {
                continue;
            };
            let bar = self.bar(row);
            let te = self.bars.ts_event[row];
            // The cap is per bar and symbol, shared by every order matched in the bar (also across calls: a
            // close-execution order submitted after the bar was matched uses what is left).
            let used = match self.volume_used[symbol] {
                (r, used) if r == row => used,
                _ => 0.0,
            };
            let quantity = participation_cap(wanted, &bar, self.config.participation, used);
            if tif == Tif::Fok && quantity < wanted * (1.0 - 1e-9) {
                let reason =
                    format!("FOK: only {quantity} of {wanted} could fill in one bar under the participation cap");
                self.close_order(id, Status::Cancelled, Code::FokUnfilled, reason, te);
                continue;
            }
            if quantity <= 0.0 {
                if tif == Tif::Ioc {
                    let reason = "IOC: no volume left in its first bar".to_owned();
                    self.close_order(id, Status::Cancelled, Code::IocUnfilled, reason, te);
                }
                continue;
            }
            let multiplier = self.ledger.multipliers[symbol];
            let Booked::Filled {
                quantity,
                costed,
                refused,
            } = self.book(id, quantity, price, &bar, te)
            else {
                continue;
            };
            let used = &mut self.volume_used[symbol];
            *used = if used.0 == row {
                (row, used.1 + quantity)
            } else {
                (row, quantity)
            };
            self.fills.push(Fill {
                order_id: id,
                ts: te,
                symbol,
                side,
                quantity,
                price: costed.price,
                fee: costed.commission,
                slippage: (costed.price - price).abs() * quantity * multiplier,
            });
            let complete = self.orders[id as usize].record_fill(quantity, costed.price, te);
            self.cancel_oco_siblings(id, te);
            if complete {
                self.after_close(id, te);
            } else if let Some(refusal) = refused {
                self.close_order(id, Status::Rejected, refusal.code, refusal.message, te);
            } else if tif == Tif::Ioc {
                let reason = "IOC: remainder cancelled".to_owned();
                self.close_order(id, Status::Cancelled, Code::IocUnfilled, reason, te);
            }
        }
    }

    /// Slippage, then commission on the slipped price. A limit (or stop-limit) order never fills beyond its
    /// limit: slippage is capped there, and the commission charged on the capped price.
    pub(super) fn costs(&self, context: &FillContext, kind: Kind) -> CostedFill {
        let limit = match kind {
            Kind::Limit { limit } | Kind::StopLimit { limit, .. } => Some(limit),
            _ => None,
        };
        let costed = apply_costs(context, self.config.slippage.as_ref(), self.config.commission.as_ref());
        let Some(limit) = limit else {
            return costed;
        };
        let capped = match context.side {
            crate::portfolio::Side::Buy => costed.price.min(limit.max(context.price)),
            crate::portfolio::Side::Sell => costed.price.max(limit.min(context.price)),
        };
        if capped == costed.price {
            return costed;
        }
        CostedFill {
            price: capped,
            commission: self.config.commission.commission(&context.with_price(capped)),
        }
    }

    /// Order the orders that touched in this bar so that, within each OCO group, the members come in the
    /// order [`exit_order`] tries them (the stop-type leg first unless the policy says otherwise, then by
    /// submission). The group keeps the slots its members had in submission order, so other orders keep
    /// theirs. The fill loop then tries the members in this order: the first that fills cancels the rest,
    /// and one the account or the participation cap refuses lets the next one try (none is skipped untouched).
    fn order_oco(&self, touched: &mut [(u64, f64)]) {
        let group = |id: u64| self.orders[id as usize].request.oco;
        let mut done = vec![false; touched.len()];
        for i in 0..touched.len() {
            let Some(g) = group(touched[i].0) else { continue };
            if done[i] {
                continue;
            }
            let slots: Vec<usize> = (i..touched.len()).filter(|&j| group(touched[j].0) == Some(g)).collect();
            let mut members: Vec<(u64, f64)> = slots.iter().map(|&j| touched[j]).collect();
            exit_order(
                &mut members,
                |(id, _)| self.orders[*id as usize].request.kind.is_stop(),
                self.config.both_touched,
            );
            for (&slot, member) in slots.iter().zip(members) {
                touched[slot] = member;
                done[slot] = true;
            }
        }
    }

    pub(super) fn cancel_oco_siblings(&mut self, id: u64, ts: i64) {
        let Some(group) = self.orders[id as usize].request.oco else {
            return;
        };
        let siblings: Vec<u64> = self
            .oco_groups
            .get(&group)
            .map(|m| m.iter().copied().filter(|&s| s != id).collect())
            .unwrap_or_default();
        for s in siblings {
            let o = &self.orders[s as usize];
            if o.is_open() && !o.held {
                self.close_order(
                    s,
                    Status::Cancelled,
                    Code::OcoCancelled,
                    format!("OCO: order {id} filled"),
                    ts,
                );
            }
        }
    }
}

fn unfilled_code(tif: Tif) -> Code {
    if tif == Tif::Fok {
        Code::FokUnfilled
    } else {
        Code::IocUnfilled
    }
}
