//! 积分制: the points ledger. Double-entry in its simplest sound form: every transfer moves a
//! positive amount from one account (debited) to another (credited), so each transfer sums
//! to zero by its shape, and an account's balance is its credits less its debits. A
//! community's fund issues points (its balance goes below zero: the points it has given out
//! and not taken back); a person's or a household's never does, counting what is pending
//! out. Transfers are never edited: a pending one is posted (after its publicity period, or
//! when a deduction's objection is decided) or voided, and a posted one is corrected only by
//! a reversing transfer. The store enforces the shape and the balances with constraints;
//! this file holds the words, the amounts, expiry and what `wuzhi points verify` checks.

use crate::Invalid;

/// Whose points an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A resident's own points.
    Person,
    /// A household's (户) points, as civilised-household ratings award them.
    Household,
    /// A community's fund (积分基金), which issues points and takes them back.
    Fund,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Person => "person",
            AccountKind::Household => "household",
            AccountKind::Fund => "fund",
        }
    }

    pub fn parse(s: &str) -> Result<AccountKind, Invalid> {
        [AccountKind::Person, AccountKind::Household, AccountKind::Fund]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new("kind", format!("`{s}` is not person, household or fund")))
    }

    /// Whether the balance may go below zero (only a fund's: what it has issued).
    pub fn may_go_negative(self) -> bool {
        self == AccountKind::Fund
    }
}

/// Why points moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// Earned by an earning rule (fund → person or household).
    Earn,
    /// Spent in the points shop (积分超市) on an item (person → fund).
    Redeem,
    /// Taken back by a recorded decision, after the right to object (person → fund).
    Deduct,
    /// The correction of a posted transfer: the same amount the other way.
    Reverse,
    /// Earned points that outlived their rule's period, returned to the fund.
    Expire,
}

impl TransferKind {
    pub const ALL: [TransferKind; 5] =
        [TransferKind::Earn, TransferKind::Redeem, TransferKind::Deduct, TransferKind::Reverse, TransferKind::Expire];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Earn => "earn",
            TransferKind::Redeem => "redeem",
            TransferKind::Deduct => "deduct",
            TransferKind::Reverse => "reverse",
            TransferKind::Expire => "expire",
        }
    }

    pub fn parse(s: &str) -> Result<TransferKind, Invalid> {
        TransferKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new("kind", format!("`{s}` is not a kind of transfer")))
    }
}

/// Where a transfer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Written, not yet counted in the balance the owner may spend (a publicity period, an
    /// objection period); counted against it when it takes points out.
    Pending,
    Posted,
    Voided,
}

impl TransferState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Pending => "pending",
            TransferState::Posted => "posted",
            TransferState::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Result<TransferState, Invalid> {
        match s {
            "pending" => Ok(TransferState::Pending),
            "posted" => Ok(TransferState::Posted),
            "voided" => Ok(TransferState::Voided),
            _ => Err(Invalid::new("state", format!("`{s}` is not pending, posted or voided"))),
        }
    }
}

/// A number of points moved by one transfer: 1 to 100,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Points(i64);

impl Points {
    pub const MAX: i64 = 100_000;

    pub fn parse(field: &str, n: i64) -> Result<Points, Invalid> {
        if (1..=Points::MAX).contains(&n) {
            Ok(Points(n))
        } else {
            Err(Invalid::new(field, format!("{n} is outside 1–{}", Points::MAX)))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An account's four counters, as the store keeps them beside the transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Counters {
    /// What the owner may spend: posted credits less every debit, pending ones included.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// The posted balance.
    pub fn posted(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }

    /// The counters after a transfer of `amount` in `state` touched this account, on its
    /// debit side or its credit side.
    pub fn with(mut self, amount: i64, state: TransferState, debit: bool) -> Counters {
        match (state, debit) {
            (TransferState::Pending, true) => self.debits_pending += amount,
            (TransferState::Posted, true) => self.debits_posted += amount,
            (TransferState::Pending, false) => self.credits_pending += amount,
            (TransferState::Posted, false) => self.credits_posted += amount,
            (TransferState::Voided, _) => {}
        }
        self
    }
}

/// How many points of an account expire now, spent points counting against the oldest
/// earnings first: the posted credits whose period has ended (`expired_credits`) less
/// everything that has left the account (`debits`, pending and posted, earlier expiries
/// included), when positive. Asking again after the expiry transfer gives 0.
pub fn to_expire(expired_credits: i64, debits: i64) -> i64 {
    (expired_credits - debits).max(0)
}

/// The facts of a transfer that never change once written, in the order its seal covers
/// them (`|`-joined; the seal is a keyed hash of this text, so a row changed by hand no
/// longer matches it).
#[allow(clippy::too_many_arguments)]
pub fn sealed_text(
    id: i64,
    debit: i64,
    credit: i64,
    amount: i64,
    kind: &str,
    source: Option<&str>,
    reverses: Option<i64>,
    created_at_ms: i64,
) -> String {
    format!(
        "{id}|{debit}|{credit}|{amount}|{kind}|{}|{}|{created_at_ms}",
        source.unwrap_or(""),
        reverses.map(|r| r.to_string()).unwrap_or_default()
    )
}

/// The first broken invariant `wuzhi points verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// A transfer's facts no longer match its seal (changed or written by hand).
    Seal { transfer: i64 },
    /// An account's stored counters differ from the sums of its transfers.
    Counters { account: i64, stored: Counters, summed: Counters },
    /// A person's or household's balance is below zero.
    Overdrawn { account: i64, available: i64 },
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Seal { transfer } => {
                write!(f, "transfer {transfer} does not match its seal: it was changed outside wuzhi")
            }
            Broken::Counters { account, stored, summed } => write!(
                f,
                "account {account}: stored counters {stored:?} differ from the sums of its transfers {summed:?}"
            ),
            Broken::Overdrawn { account, available } => {
                write!(f, "account {account} is overdrawn ({available} points)")
            }
        }
    }
}

/// Checks one account: its stored counters are the sums of its transfers, and only a fund
/// goes below zero.
pub fn check_account(id: i64, kind: AccountKind, stored: Counters, summed: Counters) -> Option<Broken> {
    if stored != summed {
        return Some(Broken::Counters { account: id, stored, summed });
    }
    if !kind.may_go_negative() && stored.available() < 0 {
        return Some(Broken::Overdrawn { account: id, available: stored.available() });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_transfers() {
        let c = Counters::default()
            .with(10, TransferState::Posted, false)
            .with(5, TransferState::Pending, false)
            .with(3, TransferState::Pending, true)
            .with(99, TransferState::Voided, true);
        assert_eq!((c.posted(), c.available()), (10, 7), "pending credits are not spendable, pending debits count");
        assert!(check_account(1, AccountKind::Person, c, c).is_none());
        let over = Counters::default().with(4, TransferState::Posted, true);
        assert_eq!(
            check_account(1, AccountKind::Person, over, over),
            Some(Broken::Overdrawn { account: 1, available: -4 })
        );
        assert!(check_account(2, AccountKind::Fund, over, over).is_none(), "a fund issues");
        let other = over.with(1, TransferState::Posted, true);
        assert!(matches!(check_account(2, AccountKind::Fund, over, other), Some(Broken::Counters { .. })));
    }

    #[test]
    fn expiry_takes_the_oldest_points_first_and_only_once() {
        // 30 earned and expired, 20 earned and still valid; 25 spent: 5 of the old remain.
        assert_eq!(to_expire(30, 25), 5);
        // After the expiry transfer of 5, nothing more expires.
        assert_eq!(to_expire(30, 25 + 5), 0);
        assert_eq!(to_expire(0, 7), 0);
    }

    #[test]
    fn amounts_and_names_parse() {
        assert!(Points::parse("points", 0).is_err());
        assert!(Points::parse("points", 100_001).is_err());
        assert_eq!(Points::parse("points", 5).unwrap().get(), 5);
        for k in TransferKind::ALL {
            assert_eq!(TransferKind::parse(k.as_str()).unwrap(), k);
        }
        assert_eq!(AccountKind::parse("fund").unwrap(), AccountKind::Fund);
        assert_eq!(sealed_text(1, 2, 3, 4, "earn", Some("case:9"), None, 5), "1|2|3|4|earn|case:9||5");
    }
}
