//! Every payment that went wrong, named from the checks' findings: the cutover's (payments
//! of the books, with everything the books say) and the reconciliation's lost keys (in a live
//! run completed from the journal's lines).

use crate::report::data::cutover::PaymentRef;
use crate::report::data::cutover::{WRONG_FILE, WRONG_SHOWN, WrongKind, WrongPayment, WrongPayments};

/// `p` as `kind`, with `detail`.
pub(crate) fn named(kind: WrongKind, p: &PaymentRef, detail: String) -> WrongPayment {
    WrongPayment {
        kind,
        key: p.key.clone(),
        system: Some(p.system.clone()),
        payment_id: Some(p.payment_id.to_string()),
        payer_id: Some(p.payer_id),
        group: Some(p.group),
        league: Some(p.league.clone()),
        channel: Some(p.channel.clone()),
        period: Some(p.period.clone()),
        items_fen: Some(p.items_fen.clone()),
        amount_fen: Some(p.items_fen.total()),
        accepted_at: Some(p.accepted_at.clone()),
        detail,
    }
}

/// Known by its key only (and the system that acknowledged it, if known).
pub(crate) fn by_key(kind: WrongKind, key: String, system: Option<String>) -> WrongPayment {
    WrongPayment {
        kind,
        key,
        system,
        payment_id: None,
        payer_id: None,
        group: None,
        league: None,
        channel: None,
        period: None,
        items_fen: None,
        amount_fen: None,
        accepted_at: None,
        detail: String::new(),
    }
}

/// `rows` sorted (by kind, key, system), counted by kind, the first kept for report.json.
pub(crate) fn wrong_payments(mut rows: Vec<WrongPayment>) -> WrongPayments {
    rows.sort_by(|a, b| (a.kind, &a.key, &a.system, &a.payment_id).cmp(&(b.kind, &b.key, &b.system, &b.payment_id)));
    let mut by_kind = std::collections::BTreeMap::new();
    for r in &rows {
        *by_kind.entry(r.kind).or_default() += 1;
    }
    WrongPayments {
        count: rows.len() as u64,
        by_kind,
        file: WRONG_FILE.to_string(),
        not_verified: None,
        first: rows.iter().take(WRONG_SHOWN).cloned().collect(),
        all: rows,
    }
}

/// The run's wrong payments from its checks: a cutover's findings (its lost payments are the
/// acknowledged keys no system holds), else the reconciliation's lost keys.
pub(crate) fn collect(report: &crate::report::Report) -> WrongPayments {
    let rows = match (&report.cutover, &report.live) {
        (Some(c), _) => c.wrong.clone(),
        (None, Some(l)) => {
            let system = Some("system".to_string());
            l.reconciliation.lost_every.iter().map(|k| by_key(WrongKind::Lost, k.clone(), system.clone())).collect()
        }
        (None, None) => Vec::new(),
    };
    let mut out = wrong_payments(rows);
    // "0 wrong" is an answer only where the checks could look.
    out.not_verified = match (&report.cutover, &report.live) {
        (Some(c), _) => c
            .read_error
            .as_ref()
            .map(|e| format!("the books could not be read: {e}"))
            .or_else(|| c.not_reached.as_ref().map(|at| format!("the migration, due {at}, was not reached"))),
        (None, Some(l)) => match &l.reconciliation.read_error {
            Some(e) => Some(format!("the target could not be asked for every key: {e}")),
            None if !l.reconciliation.checked_by_key => Some("acknowledged payments were not looked up one by one (too many)".to_string()),
            None => None,
        },
        (None, None) => None,
    };
    out
}
