//! Due dates: the day each payer's regular payment falls due, where a suspension moves it,
//! and the late fee of a payment made after it. Compiled from the scenario's `dues` section;
//! the demand aims first attempts at these dates, the report counts who paid by them.

use super::validate::Checker;
use super::{Dist, DueMonth, Dues, GroupKind, PhaseSpec, Spec};
use crate::time::{Calendar, SimTime};
use chrono::{Datelike, FixedOffset, NaiveDate};

/// Most days of lead the due-date weights look at (a lead beyond it counts as paid earlier).
pub(crate) const MAX_LEAD_DAYS: usize = 400;
/// Largest late fee per day (a tenth of the amount).
const MAX_LATE_FEE_DAILY_RATE: f64 = 0.1;

/// The compiled `dues` section.
#[derive(Clone, Debug)]
pub struct DuesSpec {
    /// Per group (index [`GroupKind::index`]): the due date's month of the period and day.
    pub rules: [Option<(DueMonth, u32)>; 5],
    /// `lead_cdf[k]`: the chance a payer's lead is at most `k` days, `k` up to [`MAX_LEAD_DAYS`].
    pub lead_cdf: Vec<f64>,
    /// The suspensions (`suspend_all` phases merged), as `[from, to)`.
    pub suspended: Vec<(SimTime, SimTime)>,
    /// Where a due date inside a suspension moves (the end of the scenario's date).
    pub moved_to: Option<SimTime>,
    /// Late fee per day in millionths of the amount.
    pub late_fee_ppm_per_day: u64,
    pub late_delay_days: Option<Dist>,
    pub displaced_wait_for_due_share: f64,
}

impl DuesSpec {
    /// The chance a lead falls in `(a, b]` days: `F(b) - F(a)`, with `F` read from the
    /// table (0 below 0 days, the last entry past [`MAX_LEAD_DAYS`]).
    pub(crate) fn lead_between(&self, a: i64, b: i64) -> f64 {
        let f = |k: i64| if k < 0 { 0.0 } else { self.lead_cdf[(k as usize).min(MAX_LEAD_DAYS)] };
        (f(b) - f(a)).max(0.0)
    }
}

impl Spec {
    /// The instant the regular payment of `group` for the `months` months from `first`
    /// (counted from year 0: `year * 12 + month - 1`) falls due (the end of its day), as
    /// published before any suspension; `None` without a rule for the group.
    pub(crate) fn due_of(&self, group: GroupKind, first: u32, months: u16) -> Option<SimTime> {
        let d = self.dues.as_ref()?;
        let (month, day) = d.rules[group.index()]?;
        if months == 0 {
            return None;
        }
        let m = match month {
            DueMonth::First => first,
            DueMonth::Last => first + months as u32 - 1,
        };
        Some(end_of_day_in_month(&self.calendar, (m / 12) as i32, m % 12 + 1, day))
    }

    /// Where a due date stands once the suspension moved it: a due inside a suspension goes
    /// to the scenario's date, any other stays.
    pub(crate) fn due_moved(&self, due: SimTime) -> SimTime {
        let Some(d) = self.dues.as_ref() else { return due };
        let inside = d.suspended.iter().any(|&(a, b)| due > a && due <= b);
        match d.moved_to {
            Some(m) if inside => m.max(due),
            _ => due,
        }
    }

    /// The late fee of `amount_fen` paid at `paid_at` against `due` (whole days late, rounded
    /// down to the fen).
    pub(crate) fn late_fee_fen(&self, amount_fen: i64, due: SimTime, paid_at: SimTime) -> i64 {
        let Some(d) = self.dues.as_ref() else { return 0 };
        if paid_at <= due || d.late_fee_ppm_per_day == 0 {
            return 0;
        }
        let days = (paid_at.0 - due.0).div_euclid(crate::time::MICROS_PER_DAY) + 1;
        let fee = amount_fen as i128 * d.late_fee_ppm_per_day as i128 * days as i128 / 1_000_000;
        fee.clamp(0, i64::MAX as i128) as i64
    }
}

/// The end of `day` (clipped to the month's last day) of `month` in `year`.
fn end_of_day_in_month(calendar: &Calendar, year: i32, month: u32, day: u32) -> SimTime {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    let next = if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) };
    let last = next.and_then(|n| n.pred_opt()).map_or(28, |d| d.day());
    let date = first.with_day(day.clamp(1, last)).unwrap_or(first);
    calendar.day_start(Calendar::day_of_date(date) + 1)
}

/// Check and compile the `dues` section (`offset`: the timeline's, `None` if it was wrong).
pub(super) fn compile(c: &mut Checker, x: &Dues, phases: &[PhaseSpec], offset: Option<FixedOffset>) -> DuesSpec {
    let mut rules = [None; 5];
    for (g, r) in &x.groups {
        let path = format!("dues.groups.{}", g.as_str());
        if *g == GroupKind::Proxy {
            c.push(path.clone(), "proxy persons are paid by a batch on its runs: they have no due date of their own");
        }
        if !(1..=31).contains(&r.day) {
            c.push(format!("{path}.day"), format!("must be a day of the month, 1 to 31, got {}", r.day));
        }
        rules[g.index()] = Some((r.month, r.day));
    }
    c.dist("dues.lead_days", &x.lead_days);
    if let Some(d) = &x.late_delay_days {
        c.dist("dues.late_delay_days", d);
    }
    c.fraction("dues.displaced_wait_for_due_share", x.displaced_wait_for_due_share);
    if !(0.0..=MAX_LATE_FEE_DAILY_RATE).contains(&x.late_fee_daily_rate) {
        c.push("dues.late_fee_daily_rate", format!("must be in [0, {MAX_LATE_FEE_DAILY_RATE}], got {}", x.late_fee_daily_rate));
    }
    // The suspensions: runs of phases closing every channel.
    let mut suspended: Vec<(SimTime, SimTime)> = Vec::new();
    for p in phases.iter().filter(|p| !p.closed.is_empty() && p.closed.iter().all(|c| *c)) {
        match suspended.last_mut() {
            Some(last) if last.1 == p.start => last.1 = p.end,
            _ => suspended.push((p.start, p.end)),
        }
    }
    let moved_to = x.suspended_dues_move_to.as_ref().and_then(|s| {
        let date = c.date("dues.suspended_dues_move_to", s)?;
        let end = date.succ_opt()?.and_hms_opt(0, 0, 0)?.and_local_timezone(offset?).single()?;
        let t = SimTime::from_datetime(&end);
        if let Some(&(_, reopens)) = suspended.last()
            && t < reopens
        {
            c.push("dues.suspended_dues_move_to", "must be at or after the reopening (the end of the last suspension)");
        }
        Some(t)
    });
    DuesSpec {
        rules,
        lead_cdf: (0..=MAX_LEAD_DAYS).map(|k| x.lead_days.cdf(k as f64)).collect(),
        suspended,
        moved_to,
        late_fee_ppm_per_day: (x.late_fee_daily_rate.clamp(0.0, MAX_LATE_FEE_DAILY_RATE) * 1e6).round() as u64,
        late_delay_days: x.late_delay_days.clone(),
        displaced_wait_for_due_share: x.displaced_wait_for_due_share,
    }
}
