//! The sections `summary.md` and `report.html` both hold, each built once as a [`Section`]
//! with its sentences in both languages; the renderers draw them in their own markup.

mod cutover;
mod live;
mod over_time;
mod verdict;

pub(crate) use cutover::cutover;
pub(crate) use live::{live, refusals};
pub(crate) use over_time::{queues, surge, timeline};
pub(crate) use verdict::{verdict, verdict_block, verdict_lines};

use super::human::{count, duration_ms, gate_value, instant_or, yuan};
use super::lang::{Say, tr};
use super::section::{Block, Section, Table, Tone};
use crate::report::Report;

/// Rows of the wrong payments both files show (the file beside the report holds every one).
const WRONG_ROWS: usize = 10;

/// Every payment that went wrong, counted by kind, the first few named; none: no section.
pub(crate) fn wrong_payments(r: &Report, w: &Say) -> Option<Section> {
    let wp = &r.wrong_payments;
    if wp.count == 0 && wp.not_verified.is_none() {
        return None;
    }
    let mut s = Section::new("wrong", w.t("Wrong payments", "出错的缴费"));
    if let Some(why) = &wp.not_verified {
        s.said(
            tr!(
                w,
                "Not verified in full: {why}; the list below names only what could be checked.",
                "未能全部核实：{why}；下表只列出能核对的部分。"
            ),
            Tone::Bad,
        );
    }
    if wp.count == 0 {
        return Some(s);
    }
    let kinds: Vec<String> =
        wp.by_kind.iter().map(|(k, n)| format!("{} {}", if w.zh { k.label_zh() } else { k.as_str() }, count(*n))).collect();
    s.said(
        tr!(
            w,
            "{} payments went wrong ({}); every one is named in {}, a line each.",
            "{} 笔缴费出错（{}）；每一笔都列在 {} 中，一行一笔。",
            count(wp.count),
            kinds.join(", "),
            wp.file
        ),
        Tone::Bad,
    );
    let mut t = Table::new(if w.zh {
        &["问题", "幂等键", "系统", "缴费人", "渠道", "所属期", "#金额（元）", "说明"]
    } else {
        &["problem", "key", "system", "payer", "channel", "period", "#amount (yuan)", "detail"]
    });
    let dash = || "-".to_string();
    for x in wp.first.iter().take(WRONG_ROWS) {
        t.row(
            vec![
                if w.zh { x.kind.label_zh() } else { x.kind.as_str() }.to_string(),
                x.key.clone(),
                x.system.clone().unwrap_or_else(dash),
                x.payer_id.map_or_else(dash, |p| p.to_string()),
                x.channel.as_deref().map_or_else(dash, |c| w.channel(c).to_string()),
                x.period.clone().unwrap_or_else(dash),
                x.amount_fen.map_or_else(dash, yuan),
                x.detail.clone(),
            ],
            true,
        );
    }
    s.table(t);
    Some(s)
}

/// The ledger: the tool's book against the target's, cell by cell.
pub(crate) fn ledger(r: &Report, w: &Say) -> Section {
    let l = &r.ledger;
    let mut s = Section::new("ledger", w.t("Ledger reconciliation", "账本对账"));
    if let Some(e) = &l.read_error {
        s.said(
            tr!(
                w,
                "Not verified: the target's ledger could not be read ({e}). Expected (from acknowledged payments) {} yuan in {} cells.",
                "未能核实：无法读取目标系统的账本（{e}）。应为（按已确认的缴费）{} 元，共 {} 个单元格。",
                yuan(l.expected_fen),
                count(l.cells.len() as u64)
            ),
            Tone::Bad,
        );
        return s;
    }
    s.said(
        tr!(
            w,
            "Expected (from acknowledged payments) {} yuan; the target's ledger {} yuan; {} of {} cells differ.",
            "应为（按已确认的缴费）{} 元；目标系统账本 {} 元；{3} 个单元格中 {2} 个不符。",
            yuan(l.expected_fen),
            yuan(l.actual_fen),
            count(l.mismatched_cells),
            count(l.cells.len() as u64)
        ),
        if l.mismatched_cells == 0 { Tone::Good } else { Tone::Bad },
    );
    let mut t = Table::new(if w.zh {
        &["盟市", "缴费人群", "险种", "#应有笔数", "#应有金额（元）", "#实有笔数", "#实有金额（元）"]
    } else {
        &["league", "group", "insurance", "#expected count", "#expected yuan", "#actual count", "#actual yuan"]
    });
    for c in &l.cells {
        t.row(
            vec![
                w.league(&c.league).to_string(),
                w.group(c.group).to_string(),
                w.name(c.insurance).to_string(),
                count(c.expected_count),
                yuan(c.expected_fen),
                count(c.actual_count),
                yuan(c.actual_fen),
            ],
            c.expected_count != c.actual_count || c.expected_fen != c.actual_fen,
        );
    }
    s.blocks.push(Block::Folded {
        summary: w
            .t(
                "Every cell: league, group and insurance (differing cells highlighted)",
                "每个单元格：盟市、缴费人群和险种（不符的突出显示）",
            )
            .into(),
        highlighted: w.t("The cells that differ:", "不符的单元格：").into(),
        open: l.mismatched_cells > 0,
        all_in_text: false,
        table: t,
    });
    s
}

/// The gates: each bound, what was measured against it, and the result.
pub(crate) fn gates(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("gates", w.t("Gates", "门限"));
    if r.gates.is_empty() {
        s.text(w.t("The scenario defines no gates.", "场景未定义门限。").into());
        return s;
    }
    let mut t = Table::new(if w.zh { &["门限", "#实测", "#限值", "结果"] } else { &["gate", "#measured", "#bound", "result"] });
    for g in &r.gates {
        let measured = if g.no_data || g.detail.is_some() { w.measured(g) } else { gate_value(g, g.value) };
        let result = if g.passed { w.t("pass", "通过") } else { w.t("FAIL", "未通过") };
        t.row(vec![g.name(), measured, gate_value(g, g.max), result.into()], !g.passed);
    }
    s.table(t);
    s
}

/// The calibration: each figure the scenario expects beside this run's.
pub(crate) fn calibration(r: &Report, w: &Say) -> Option<Section> {
    if r.calibration.is_empty() {
        return None;
    }
    let mut s = Section::new("calibration", w.t("Calibration: the run against what was expected", "校准：本次运行与预期对照"));
    s.text(
        w.t(
            "The scenario's expectations beside this run (within: the ratio lies within the row's factor).",
            "场景中的预期与本次运行对照（在范围内：比值在该行的倍数之内）。",
        )
        .into(),
    );
    let mut t = Table::new(if w.zh {
        &["预期", "#预期值", "#本次", "#比值", "允许", "", "来源"]
    } else {
        &["expectation", "#expected", "#simulated", "#ratio", "allowed", "", "source"]
    });
    for c in &r.calibration {
        let source = if c.note.is_empty() { c.source.as_str().to_string() } else { format!("{}: {}", c.source.as_str(), c.note) };
        t.row(
            vec![
                c.name.clone(),
                super::human::tick(c.expected),
                c.simulated.map(super::human::tick).unwrap_or_else(|| w.t("no data", "无数据").into()),
                c.ratio.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
                tr!(w, "1/{0} to {0}", "1/{0} 至 {0}", c.within_factor),
                if c.within { w.t("within", "范围内") } else { w.t("OUTSIDE", "超出范围") }.into(),
                source,
            ],
            !c.within,
        );
    }
    s.table(t);
    Some(s)
}

/// Regular payments against their due dates, as published and as the suspension moved them.
pub(crate) fn dues(r: &Report, w: &Say) -> Option<Section> {
    let dues = r.dues.as_ref()?;
    let mut s = Section::new("dues", w.t("Due dates", "缴费期限"));
    s.text(
        w.t(
            "Regular payments against their due date as published and as the suspension moved it.",
            "按期缴费对照公布的期限和因暂停顺延后的期限。",
        )
        .into(),
    );
    let mut t = Table::new(if w.zh {
        &["缴费人群", "期限", "顺延至", "#缴费", "#期限内", "#顺延期限内", "#逾期", "#滞纳金（元）"]
    } else {
        &["group", "due", "moved to", "#payments", "#by the due date", "#by the moved date", "#late", "#late fees (yuan)"]
    });
    for d in dues {
        t.row(
            vec![
                w.group(d.group).to_string(),
                instant_or(&d.due, "-"),
                instant_or(&d.moved_to, "-"),
                count(d.payments),
                count(d.paid_by_due),
                count(d.paid_by_moved_due),
                count(d.paid_late),
                yuan(d.late_fee_fen),
            ],
            false,
        );
    }
    s.table(t);
    Some(s)
}

/// Every cell: phase × channel × operation, its answers and its response time.
pub(crate) fn cells(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("latency", w.t("Latency per phase, channel and operation", "按阶段、渠道和业务的延迟"));
    s.text(
        if r.live.is_some() {
            w.t(
                "Response time from each request's scheduled instant to its answer (waiting at a counter included), in ms, s, min or h as fits (report.json keeps milliseconds).",
                "响应时间：从每个请求的预定时刻到得到答复（含在窗口前的等待），按大小用 ms、s、min 或 h（report.json 保留毫秒）。",
            )
        } else {
            w.t(
                "Response time from the request's start to its answer, in virtual time (waiting at a counter included), in ms, s, min or h as fits (report.json keeps milliseconds).",
                "响应时间：从请求开始到得到答复，按虚拟时间（含在窗口前的等待），按大小用 ms、s、min 或 h（report.json 保留毫秒）。",
            )
        }
        .into(),
    );
    let mut t = Table::new(if w.zh {
        &[
            "阶段",
            "渠道",
            "业务",
            "#尝试",
            "#成功",
            "#因暂停被拒",
            "#尚不可见",
            "#意外拒绝",
            "#错误",
            "#p50",
            "#p90",
            "#p99",
            "#p99.9",
            "#最大",
        ]
    } else {
        &[
            "phase",
            "channel",
            "operation",
            "#attempts",
            "#successes",
            "#suspended",
            "#not yet visible",
            "#unexpected",
            "#errors",
            "#p50",
            "#p90",
            "#p99",
            "#p99.9",
            "#max",
        ]
    });
    for c in &r.cells {
        let l = &c.latency_ms;
        let mut row = vec![w.phase(&c.phase).to_string(), w.channel(&c.channel).to_string(), w.name(c.operation).to_string()];
        row.extend([c.attempts, c.successes, c.rejected_suspended, c.rejected_not_yet_visible, c.rejected_unexpected, c.errors].map(count));
        row.extend([l.p50, l.p90, l.p99, l.p99_9, l.max].map(duration_ms));
        t.row(row, c.errors > 0);
    }
    s.blocks.push(Block::Folded {
        summary: w
            .t("Every phase, channel and operation (rows with errors highlighted)", "每个阶段、渠道和业务（有错误的行突出显示）")
            .into(),
        highlighted: String::new(),
        open: false,
        all_in_text: true,
        table: t,
    });
    s
}

/// Every day and channel with counters or agents: who reached one, waiting apart from
/// service, use, queue peak, people sent away at closing, callers hanging up, give-ups.
pub(crate) fn counters_by_day(r: &Report, w: &Say) -> Block {
    let mut t = Table::new(if w.zh {
        &[
            "日期",
            "类型",
            "渠道",
            "#办理到窗口",
            "#其中预约",
            "#缴费",
            "#等待 p50",
            "#等待 p99",
            "#服务 p50",
            "#窗口忙碌",
            "#排队峰值",
            "#下班时未办理",
            "#挂断",
            "#放弃",
        ]
    } else {
        &[
            "date",
            "day",
            "channel",
            "#reached a counter",
            "#of them booked",
            "#payments",
            "#waiting p50",
            "#waiting p99",
            "#service p50",
            "#counters busy",
            "#queue peak",
            "#turned away at closing",
            "#hung up",
            "#gave up",
        ]
    });
    let minutes = |v: Option<f64>| v.map_or_else(|| "-".to_string(), super::human::minutes);
    for d in &r.days {
        for c in d.channels.iter().filter(|c| c.figures.served_at_counters.is_some()) {
            let f = &c.figures;
            if f.attempts == 0 && f.served_at_counters == Some(0) {
                continue;
            }
            let mut row = vec![d.date.clone(), w.t(d.kind.as_str(), d.kind.label_zh()).to_string(), w.channel(&c.channel).to_string()];
            row.extend([f.served_at_counters.unwrap_or(0), f.booked_visits, f.payments].map(count));
            row.extend([f.waiting_min_p50, f.waiting_min_p99, f.service_min_p50].map(minutes));
            row.push(f.counter_utilisation.map_or_else(|| "-".to_string(), super::human::percent));
            row.push(f.queue_peak.map_or_else(|| "-".to_string(), count));
            row.extend([f.turned_away_at_closing, f.abandoned, f.gave_up].map(count));
            t.row(row, f.turned_away_at_closing > 0 || f.abandoned > 0);
        }
    }
    Block::Folded {
        summary: w
            .t(
                "Every day and channel (rows with people sent away or hanging up highlighted)",
                "每天每个渠道（有人下班时未办理或挂断的行突出显示）",
            )
            .into(),
        highlighted: String::new(),
        open: false,
        all_in_text: true,
        table: t,
    }
}
