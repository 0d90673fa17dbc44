//! The planner's days in `summary.md`: traffic per local date (the page draws them as charts;
//! the counters per date are in the queues section both files hold).

use crate::report::Report;
use crate::report::render::lang::Say;
use crate::report::render::section::{Section, Table};
use crate::scenario::ChannelKind;

fn fine_share(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// Traffic per local date.
pub(super) fn days(r: &Report, w: &Say) -> Option<Section> {
    if r.days.is_empty() {
        return None;
    }
    let mut s = Section::new("days", w.t("Days", "每日"));
    s.text(
        w.t(
            "Per local date; requests count on the day their answer came. Self-paid: every channel but the batches (batch debits \
             apart). Backend use: busy share of its servers over the day and in its busiest hour.",
            "按当地日期；请求计入得到答复的那一天。自主缴费：批量以外的所有渠道（批量扣款另列）。\
             后台使用率：其服务能力在全天和最繁忙小时的占用比例。",
        )
        .into(),
    );
    let mut t = Table::new(if w.zh {
        &[
            "日期",
            "类型",
            "#自主缴费尝试",
            "#缴费",
            "#线上缴费",
            "#线下缴费",
            "#批量扣款",
            "#下班时未办理",
            "#放弃",
            "#后台使用率",
            "#最繁忙小时",
        ]
    } else {
        &[
            "date",
            "kind",
            "#self-paid attempts",
            "#payments",
            "#online payments",
            "#offline payments",
            "#batch debits",
            "#turned away at closing",
            "#gave up",
            "#backend use",
            "#busiest hour",
        ]
    });
    for d in &r.days {
        let (mut attempts, mut pay, mut online, mut offline, mut debits, mut away, mut gave_up) = (0, 0, 0, 0, 0, 0, 0);
        for c in &d.channels {
            let f = &c.figures;
            match c.kind {
                ChannelKind::Batch => {
                    debits += f.payments;
                    continue;
                }
                ChannelKind::Hotline => continue,
                ChannelKind::Offline => offline += f.payments,
                ChannelKind::Online => online += f.payments,
            }
            attempts += f.attempts;
            pay += f.payments;
            away += f.turned_away_at_closing;
            gave_up += f.gave_up;
        }
        let mut row = vec![d.date.clone(), w.t(d.kind.as_str(), d.kind.label_zh()).to_string()];
        row.extend([attempts, pay, online, offline, debits, away, gave_up].iter().map(u64::to_string));
        row.extend([fine_share(d.backend.utilisation), fine_share(d.backend.peak_hour_utilisation)]);
        t.row(row, false);
    }
    s.table(t);
    Some(s)
}
