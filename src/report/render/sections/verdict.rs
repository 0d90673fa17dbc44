//! The run's verdict, worded once for the console's last lines, `summary.md` and the top of
//! `report.html`: GO, NO-GO or INCOMPLETE, a headline, and a line for each gate or check that
//! did not pass.

use super::super::human::gate_value;
use super::super::human::percent;
use super::super::lang::{Say, tr};
use super::super::section::{Block, Section};
use crate::report::data::Reason;
use crate::report::{CheckState, GateResult, Report, Verdict};

/// How far a failed gate is past its bound.
fn past_bound(w: &Say, g: &GateResult) -> String {
    let by = if g.max > 0.0 { percent((g.value - g.max) / g.max) } else { (g.value - g.max).to_string() };
    tr!(w, "{by} over", "超出 {by}")
}

/// A failed gate: what it measured against its bound.
fn gate_failed(w: &Say, g: &GateResult) -> String {
    match (&g.detail, g.no_data) {
        (Some(_), _) | (_, true) => format!("{}: {}", g.name(), w.measured(g)),
        (None, false) => tr!(
            w,
            "{}: measured {}, bound {} ({})",
            "{}：实测 {}，限值 {}（{}）",
            g.name(),
            gate_value(g, g.value),
            gate_value(g, g.max),
            past_bound(w, g)
        ),
    }
}

/// One reason in words.
fn reason(r: &Report, w: &Say, why: &Reason) -> String {
    match (why, why.state()) {
        (Reason::Gate { index, .. }, CheckState::Fail) => gate_failed(w, &r.gates[*index]),
        // Measured, but on part of the payers (a merge with a shard missing): said why.
        (Reason::Gate { index, .. }, CheckState::Unknown { reason }) if !r.gates[*index].no_data && !r.gates[*index].passed => {
            let g = &r.gates[*index];
            tr!(w, "{}: {} (measured {})", "{}：{}（实测 {}）", g.name(), reason, gate_value(g, g.value))
        }
        (Reason::Gate { index, .. }, CheckState::Unknown { .. }) => {
            let g = &r.gates[*index];
            tr!(w, "{}: unknown, {}", "{}：无法判定，{}", g.name(), w.measured(g))
        }
        (Reason::Gate { name, .. }, CheckState::NotReached { instant }) => {
            tr!(w, "{}: not reached (the run ended before {})", "{}：未达到（运行在 {} 之前结束）", name, instant)
        }
        (Reason::Ledger { mismatched_cells, .. }, CheckState::Fail) => {
            tr!(w, "{} ledger cells differ", "账本有 {} 个单元格不符", mismatched_cells)
        }
        (Reason::Cutover { payments_wrong, .. }, CheckState::Fail) => {
            tr!(w, "the cutover's checks found {} payments or registrations wrong", "切换核查发现 {} 笔缴费或登记有误", payments_wrong)
        }
        (Reason::Ledger { .. } | Reason::Cutover { .. }, CheckState::Unknown { reason }) => {
            tr!(w, "not verified: {}", "未能核实：{}", reason)
        }
        (Reason::Aborted { why, .. }, _) => tr!(w, "the load was aborted early: {why}", "负载被提前中止：{why}"),
        (Reason::Interrupted { at, .. }, _) => tr!(
            w,
            "the run was interrupted at {}, before the end of its timeline ({}): what lies beyond was not reached",
            "运行在 {} 被中断，早于时间线结束（{}）：此后的部分未达到",
            at,
            r.scenario.end
        ),
        (Reason::ShardsMissing { missing, of, .. }, _) => {
            let list = missing.iter().map(|i| format!("{i}/{of}")).collect::<Vec<_>>().join(", ");
            tr!(
                w,
                "shard {list} missing: its payers' requests are not in this account, so the books are not judged",
                "分片 {list} 缺失：其缴费人的请求不在本次汇总中，账本未作判定"
            )
        }
        (Reason::Cutover { .. }, CheckState::NotReached { instant }) => tr!(
            w,
            "the cutover's migration checks: not reached (the run ended before the migration, due {})",
            "切换的迁移核查：未达到（运行在 {} 的数据迁移之前结束）",
            instant
        ),
        (_, s) => s.as_str().to_string(),
    }
}

/// The verdict's headline: what passed, or how many did not.
fn headline(r: &Report, w: &Say) -> String {
    let v = &r.verdict;
    let count = |f: fn(&CheckState) -> bool| v.reasons.iter().filter(|x| f(x.state())).count();
    let failed = count(|s| *s == CheckState::Fail);
    let unknown = count(|s| matches!(s, CheckState::Unknown { .. }));
    let not_reached = count(|s| matches!(s, CheckState::NotReached { .. }));
    match v.verdict {
        Verdict::Go => tr!(
            w,
            "all {} gates passed and the ledger agrees ({} cells).",
            "全部 {} 项门限通过，账本一致（{} 个单元格）。",
            r.gates.len(),
            r.ledger.cells.len()
        ),
        _ => tr!(
            w,
            "{} failed, {} unknown, {} not reached (of {} gates and the checks).",
            "未通过 {}，无法判定 {}，未达到 {}（共 {} 项门限及各项核查）。",
            failed,
            unknown,
            not_reached,
            r.gates.len()
        ),
    }
}

/// The verdict's word, headline and a line per reason, in the report's language.
fn worded(r: &Report, w: &Say) -> (String, String, Vec<String>) {
    let word = if w.zh { r.verdict.verdict.label_zh() } else { r.verdict.verdict.word() };
    let mut lines: Vec<String> = r.verdict.reasons.iter().map(|x| reason(r, w, x)).collect();
    // A note, not a reason: the figures stand, read with the driver's own lateness.
    if let Some(d) = r.live.as_ref().map(|l| &l.driver_lateness).filter(|d| d.late) {
        lines.push(tr!(
            w,
            "note: the driver itself was late, {} ms at the 99th percentile (bound {} ms): the response times of the cells marked include it",
            "注意：压测端自身滞后，第 99 百分位 {} 毫秒（界限 {} 毫秒）：所标记单元格的响应时间包含这部分滞后",
            d.ms.p99,
            d.bound_ms
        ));
    }
    (word.to_string(), headline(r, w), lines)
}

/// The verdict as a block: the word, the headline, a line per reason.
pub(crate) fn verdict_block(r: &Report, w: &Say) -> Block {
    let (word, headline, reasons) = worded(r, w);
    Block::Verdict { verdict: r.verdict.verdict, word, headline, reasons }
}

/// The verdict as `summary.md`'s section.
pub(crate) fn verdict(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("verdict", w.t("Verdict", "结论"));
    s.blocks.push(verdict_block(r, w));
    s
}

/// The verdict as the console's last lines.
pub(crate) fn verdict_lines(r: &Report, w: &Say) -> Vec<String> {
    let (word, headline, reasons) = worded(r, w);
    let mut lines = vec![tr!(w, "verdict: {word}: {headline}", "结论：{word}：{headline}")];
    lines.extend(reasons.into_iter().map(|x| format!("  - {x}")));
    lines
}
