//! The planner's sections of `summary.md`: the calibration table, payments against their
//! due dates, and the days (traffic per date; counters per date and channel: waiting apart
//! from service, use, queue peak, people sent away at closing, give-ups).

use crate::report::Report;
use crate::report::render::lang::Say;
use crate::scenario::ChannelKind;
use std::fmt::Write;

/// Minutes as people read them ("12 min", "2.3 h"); "-" when nothing was measured.
fn minutes(m: Option<f64>) -> String {
    m.map_or("-".into(), crate::report::render::human::minutes)
}

fn share(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.0} %", x * 100.0))
}

fn fine_share(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

pub(super) fn days(o: &mut String, r: &Report, w: &Say) {
    if r.days.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "\n## Days\n\nPer local date; requests count on the day their answer came. Self-paid: every channel but the \
             batches (batch debits apart). Backend use: busy share of its servers over the day and in its busiest hour.\n\n\
             | date | kind | self-paid attempts | payments | online payments | offline payments | batch debits | turned away at closing | gave up | backend use | busiest hour |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            "\n## 每日\n\n按当地日期；请求计入得到答复的那一天。自主缴费：批量以外的所有渠道（批量扣款另列）。\
             后台使用率：其服务能力在全天和最繁忙小时的占用比例。\n\n\
             | 日期 | 类型 | 自主缴费尝试 | 缴费 | 线上缴费 | 线下缴费 | 批量扣款 | 下班时未办理 | 放弃 | 后台使用率 | 最繁忙小时 |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
    );
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
        let _ = writeln!(
            o,
            "| {} | {} | {attempts} | {pay} | {online} | {offline} | {debits} | {away} | {gave_up} | {} | {} |",
            d.date,
            w.t(d.kind.as_str(), d.kind.label_zh()),
            fine_share(d.backend.utilisation),
            fine_share(d.backend.peak_hour_utilisation)
        );
    }
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "\n### Counters by day\n\nChannels with counters, and the hotline's agents: who reached one, waiting for it apart \
             from its service, their busy share of the open time, most people queueing at once (per league in report.json).\n\n\
             | date | channel | reached a counter | of them booked | payments | waiting p50 | waiting p99 | service p50 | counters busy | queue peak | turned away at closing | hung up | gave up |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            "\n### 每日窗口\n\n设有窗口的渠道及热线坐席：办理到的人数、等待与服务时间分列、开放时间内的忙碌比例、\
             同时排队的最多人数（report.json 中按盟市列出）。\n\n\
             | 日期 | 渠道 | 办理到窗口 | 其中预约 | 缴费 | 等待 p50 | 等待 p99 | 服务 p50 | 窗口忙碌 | 排队峰值 | 下班时未办理 | 挂断 | 放弃 |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
    );
    for d in &r.days {
        for c in d.channels.iter().filter(|c| c.figures.served_at_counters.is_some()) {
            let f = &c.figures;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                d.date,
                w.channel(&c.channel),
                f.served_at_counters.unwrap_or(0),
                f.booked_visits,
                f.payments,
                minutes(f.waiting_min_p50),
                minutes(f.waiting_min_p99),
                minutes(f.service_min_p50),
                share(f.counter_utilisation),
                f.queue_peak.unwrap_or(0),
                f.turned_away_at_closing,
                f.abandoned,
                f.gave_up
            );
        }
    }
}
