//! Properties of the ledger under both affordability policies, stated first:
//! - `Resize` on a cash account gives exactly (bit for bit) what the vectorized execution gave before the
//!   ledger was one type (`reference.rs`), for one holding or a pool shared by two;
//! - cash is conserved net of fees under both policies: cash plus positions at the fill price move by
//!   exactly minus the fee;
//! - a fill never exceeds the order (a resize only cuts);
//! - a refusal under `Reject` changes nothing.

use super::reference;
use super::*;
use crate::matching::costs::registry;
use proptest::prelude::*;

fn order_strategy() -> impl Strategy<Value = (Order, usize)> {
    let size = prop_oneof![
        -200.0f64..200.0,
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        -1.0f64..1.0,
    ];
    let size_type = prop_oneof![Just(SizeType::Amount), Just(SizeType::Value), Just(SizeType::Percent)];
    let direction = prop_oneof![Just(Direction::Both), Just(Direction::Long), Just(Direction::Short)];
    (size, size_type, direction, 0.5f64..500.0, any::<bool>(), 0..2usize).prop_map(
        |(size, size_type, direction, price, slippage, slot)| {
            let size = if size_type == SizeType::Percent && size.is_finite() {
                size.clamp(-1.0, 1.0)
            } else {
                size
            };
            let order = Order {
                size,
                size_type,
                direction,
                price,
                val_price: price,
                slippage,
            };
            (order, slot)
        },
    )
}

/// Float costs (zero half the time each, as users mostly leave them), and the cost models they lower to as
/// `ml4t.costs.lower_costs` lowers them: a `percent` and a `per_order` commission part for non-zero `fees`
/// and `fixed_fees`, a `percent` slippage for a non-zero `slippage`.
fn costs_strategy() -> impl Strategy<Value = (reference::Costs, Costs)> {
    let either = |range: std::ops::Range<f64>| prop_oneof![Just(0.0), range];
    (
        either(0.0..0.01),
        either(0.0..5.0),
        either(0.0..0.02),
        prop_oneof![Just(1e-8), Just(1.0)],
    )
        .prop_map(|(fees, fixed_fees, slippage, min_size)| {
            let floats = reference::Costs {
                fees,
                fixed_fees,
                slippage,
                min_size,
            };
            let mut parts = Vec::new();
            if fees != 0.0 {
                parts.push(("percent", vec![fees]));
            }
            if fixed_fees != 0.0 {
                parts.push(("per_order", vec![fixed_fees]));
            }
            let slip = if slippage != 0.0 {
                ("percent", vec![slippage])
            } else {
                ("none", vec![])
            };
            let models = Costs::new(
                registry::commission(&parts).unwrap().into(),
                registry::slippage(slip.0, &slip.1).unwrap().into(),
                min_size,
            )
            .unwrap();
            (floats, models)
        })
}

fn bits(a: Account, h: &[Holding]) -> Vec<u64> {
    let mut v = vec![a.cash.to_bits(), a.free_cash.to_bits()];
    v.extend(h.iter().flat_map(|h| [h.position.to_bits(), h.debt.to_bits()]));
    v
}

fn outcome_bits(o: Outcome) -> (u8, u8, [u64; 3]) {
    match o {
        Outcome::Filled {
            side,
            size,
            price,
            fees,
        } => (0, side as u8, [size.to_bits(), price.to_bits(), fees.to_bits()]),
        Outcome::Rejected(r) => (1, r as u8, [0; 3]),
        Outcome::Ignored => (2, 0, [0; 3]),
    }
}

proptest! {
    /// `Resize` is today's execution, bit for bit, over a sequence of orders on a pool of two holdings.
    #[test]
    fn resize_is_the_vectorized_execution(
        cash in 0.0f64..1e6,
        orders in prop::collection::vec(order_strategy(), 1..30),
        costs in costs_strategy(),
    ) {
        let (floats, costs) = costs;
        let mut ledger = Ledger::new(AccountKind::Cash, Affordability::Resize, cash, vec![1.0, 1.0]);
        let mut account = Account::new(cash);
        let mut holdings = [Holding::default(); 2];
        for (order, slot) in orders {
            let got = ledger.execute(slot, &order, &costs);
            let want = reference::execute(&mut account, &mut holdings[slot], &order, &floats);
            prop_assert_eq!(outcome_bits(got), outcome_bits(want));
            prop_assert_eq!(bits(ledger.account, &ledger.holdings), bits(account, &holdings));
        }
    }

    /// Under both policies cash plus positions at the fill price move by exactly minus the fee, and a fill
    /// never exceeds the order; a rejected or ignored order leaves the ledger as it was.
    #[test]
    fn cash_is_conserved_and_fills_never_exceed_the_order(
        reject in any::<bool>(), margin in any::<bool>(),
        cash in 0.0f64..1e6, position in -100.0f64..100.0,
        order in order_strategy(), costs in costs_strategy(),
    ) {
        let (_, costs) = costs;
        let (mut order, _) = order;
        order.size_type = SizeType::Amount;
        let policy = if reject { Affordability::Reject } else { Affordability::Resize };
        let kind = if margin { AccountKind::Margin { leverage: 2.0 } } else { AccountKind::Cash };
        let mut ledger = Ledger::new(kind, policy, cash, vec![1.0]);
        let debt = if position < 0.0 { -position * order.price } else { 0.0 };
        ledger.account.free_cash = if position < 0.0 { cash - 2.0 * debt } else { cash };
        ledger.holdings[0] = Holding { position, debt };
        ledger.marks[0] = order.price;
        let before = ledger.clone();
        match ledger.execute(0, &order, &costs) {
            Outcome::Filled { size, price, fees, .. } => {
                prop_assert!(size <= order.size.abs() * (1.0 + 1e-12));
                let value = |l: &Ledger| l.account.cash + l.holdings[0].position * price;
                let expected = value(&before) - fees;
                prop_assert!((value(&ledger) - expected).abs() <= 1e-6 * value(&before).abs().max(1.0));
            }
            Outcome::Rejected(_) | Outcome::Ignored => {
                prop_assert_eq!(bits(ledger.account, &ledger.holdings), bits(before.account, &before.holdings));
            }
        }
    }

    /// A matched fill the `Reject` policy refuses changes nothing; one it books conserves cash net of fees.
    #[test]
    fn a_refused_fill_changes_nothing(
        margin in any::<bool>(), cash in 1.0f64..1e5, open in -50.0f64..50.0,
        buy in any::<bool>(), quantity in 0.01f64..500.0, price in 0.5f64..500.0, fee in 0.0f64..20.0,
    ) {
        let kind = if margin { AccountKind::Margin { leverage: 2.0 } } else { AccountKind::Cash };
        let mut ledger = Ledger::new(kind, Affordability::Reject, cash, vec![1.0]);
        ledger.marks[0] = price;
        let side = if open >= 0.0 { Side::Buy } else { Side::Sell };
        let _ = ledger.fill(0, side, open.abs().max(0.01), price, 0.0);
        let before = ledger.clone();
        let side = if buy { Side::Buy } else { Side::Sell };
        match ledger.fill(0, side, quantity, price, fee) {
            Ok(()) => {
                let value = |l: &Ledger| l.account.cash + l.holdings[0].position * price;
                prop_assert!((value(&ledger) - (value(&before) - fee)).abs() <= 1e-6 * value(&before).abs().max(1.0));
            }
            Err(_) => {
                prop_assert_eq!(bits(ledger.account, &ledger.holdings), bits(before.account, &before.holdings));
            }
        }
    }
}

#[test]
fn reject_refuses_the_buy_resize_cuts() {
    let order = Order {
        size: 20.0,
        size_type: SizeType::Amount,
        direction: Direction::Both,
        price: 100.0,
        val_price: 100.0,
        slippage: true,
    };
    let costs = Costs::free(1e-8);
    let mut resize = Ledger::new(AccountKind::Cash, Affordability::Resize, 1000.0, vec![1.0]);
    assert!(matches!(resize.execute(0, &order, &costs), Outcome::Filled { size, .. } if size == 10.0));
    let mut reject = Ledger::new(AccountKind::Cash, Affordability::Reject, 1000.0, vec![1.0]);
    assert_eq!(
        reject.execute(0, &order, &costs),
        Outcome::Rejected(Reject::InsufficientCash)
    );
    assert_eq!(reject.account, Account::new(1000.0));
    let all_in = Order {
        size: f64::INFINITY,
        ..order
    };
    assert!(matches!(reject.execute(0, &all_in, &costs), Outcome::Filled { size, .. } if size == 10.0));
}
