//! The human-readable `summary.md`, in English or Chinese (`--lang`).

use crate::report::Report;
use crate::report::render::human::instant;
use crate::report::render::lang::{Lang, Say, tr};
use crate::report::render::section::{self, Section, Table};
use crate::report::render::sections;
use std::fmt::Write;

mod plan;

use crate::report::render::human::yuan;

fn at_or(t: &Option<String>, none: &str) -> String {
    t.as_deref().map_or_else(|| none.to_string(), instant)
}

/// The short summary printed at the end of a run (also the top of `summary.md`).
pub fn short(r: &Report, lang: Lang) -> String {
    let w = Say::new(r, lang);
    let mut lines = Vec::new();
    totals(&mut lines, r, &w);
    if let Some(l) = &r.live {
        live(&mut lines, l, &w);
    }
    checks(&mut lines, r, &w);
    let mut o = String::new();
    for l in lines {
        o.push_str(&l);
        o.push('\n');
    }
    o
}

/// The run in figures: attempts and answers, the ledger, the peak hour, the reopening.
fn totals(out: &mut Vec<String>, r: &Report, w: &Say) {
    let s = &r.summary;
    let never = w.t("never (not by the end)", "截至时间线结束未达到");
    out.push(tr!(w, "scenario {} ({}), seed {}", "场景 {}（{}），种子 {}", r.scenario.name, w.name(r.mode), s.seed));
    out.push(tr!(
        w,
        "attempts {}  successes {}  payments accepted {}  rejected as suspended {}  errors {} ({:.4}%)",
        "尝试 {}  成功 {}  缴费受理 {}  因暂停被拒 {}  错误 {}（{:.4}%）",
        s.attempts,
        s.successes,
        s.accepted,
        s.rejected_suspended,
        s.errors,
        s.error_rate * 100.0
    ));
    let mut line = tr!(
        w,
        "accepted while suspended {}  unexpected rejections {}",
        "暂停期间受理 {}  意外拒绝 {}",
        s.accepted_while_suspended,
        s.rejected_unexpected
    );
    if s.rejected_already_paid > 0 {
        line += &tr!(
            w,
            "  refused as already paid (double charges prevented) {}",
            "  因已缴费被拒（避免的重复扣费）{}",
            s.rejected_already_paid
        );
    }
    out.push(line);
    out.push(match &r.ledger.read_error {
        Some(e) => tr!(
            w,
            "ledger expected {} yuan, not verified: the target's ledger could not be read ({e})",
            "账本应为 {} 元，未能核实：无法读取目标系统的账本（{e}）",
            yuan(s.ledger_expected_fen)
        ),
        None => tr!(
            w,
            "ledger expected {} yuan, actual {} yuan, mismatched cells {}",
            "账本应为 {} 元，实为 {} 元，不符单元格 {}",
            yuan(s.ledger_expected_fen),
            yuan(s.ledger_actual_fen),
            s.ledger_mismatched_cells
        ),
    });
    // The headline is the payers' own busiest hour; batch debits, which contend with
    // nobody at their night-time runs, apart.
    if let Some(q) = &r.peak_hour_self_paid {
        let mut text =
            tr!(w, "peak hour of self-paid attempts {} with {}", "自主缴费尝试最多的小时 {}，共 {} 次", instant(&q.start), q.attempts);
        if let Some(p) = r.peak_hour.as_ref().filter(|p| p.start != q.start) {
            text += &tr!(w, "; with batch debits {} with {}", "；含批量扣款 {}，共 {} 次", instant(&p.start), p.attempts);
        }
        out.push(text);
    }
    let ro = &r.reopening;
    if let Some(at) = &ro.not_reached {
        out.push(tr!(
            w,
            "reopening {}: not reached (the run ended before it); so far {} payers displaced, backlog peak {}, {} waiting at the end",
            "恢复缴费 {}：未达到（运行在此之前结束）；截至结束 {} 名缴费人被推迟，积压峰值 {}，结束时 {} 人等待",
            instant(at),
            ro.displaced_payers,
            ro.backlog_peak,
            ro.backlog_at_end
        ));
        return;
    }
    out.push(tr!(
        w,
        "reopening {}: {} payers displaced, backlog peak {} at {}, 90% cleared {}, 99% cleared {}, all cleared {}, {} still waiting at the end",
        "恢复缴费 {}：{} 名缴费人被推迟，积压峰值 {}（{}），90% 消化：{}，99% 消化：{}，全部消化：{}，结束时仍有 {} 人等待",
        at_or(&ro.at, "-"),
        ro.displaced_payers,
        ro.backlog_peak,
        at_or(&ro.backlog_peak_at, "-"),
        at_or(&ro.backlog_90pct_cleared_at, never),
        at_or(&ro.backlog_99pct_cleared_at, never),
        at_or(&ro.backlog_cleared_at, never),
        ro.backlog_at_end
    ));
}

/// A live run: the target, the pace, the response and service times, the reconciliation.
fn live(out: &mut Vec<String>, l: &crate::report::data::live::LiveReport, w: &Say) {
    out.push(tr!(
        w,
        "live: {} via {} at {}x, {} requests in {:.1} s ({} req/s), not sent {}{}",
        "实时：{}，经 {}，{} 倍速，{} 个请求用时 {:.1} s（{} 请求/秒），未发出 {}{}",
        l.target,
        l.transport,
        l.time_scale,
        l.requests_completed,
        l.wall_seconds,
        l.requests_per_second,
        l.not_sent,
        if l.interrupted { w.t(", INTERRUPTED", "，已中断") } else { "" }
    ));
    if let Some(why) = &l.aborted {
        out.push(tr!(w, "ABORTED early: {why}", "提前中止：{why}"));
    }
    let (rt, st) = (&l.response_time_ms, &l.service_time_ms);
    out.push(tr!(
        w,
        "response time p50 {} ms p99 {} ms max {} ms; service time p50 {} ms p99 {} ms max {} ms",
        "响应时间 p50 {} ms p99 {} ms 最大 {} ms；服务时间 p50 {} ms p99 {} ms 最大 {} ms",
        rt.p50,
        rt.p99,
        rt.max,
        st.p50,
        st.p99,
        st.max
    ));
    let rc = &l.reconciliation;
    out.push(tr!(
        w,
        "reconciliation: {} acknowledged, {} lost, {} phantom or duplicate ledger entries, {} unknown ({} present, {} absent); auditor: {} checked, {} disagreements",
        "对账：确认 {}，丢失 {}，虚增或重复入账 {}，结果未知 {}（在账 {}，不在账 {}）；核验：检查 {}，不一致 {}",
        rc.acknowledged,
        rc.lost,
        rc.phantoms_or_duplicates,
        rc.unknown,
        rc.unknown_present,
        rc.unknown_absent,
        l.audit.checked,
        l.audit.disagreements
    ));
}

/// The checks: the cutover's, the calibration, the gates.
fn checks(out: &mut Vec<String>, r: &Report, w: &Say) {
    if let Some(c) = &r.cutover {
        let m = &c.migration;
        if let Some(due) = &c.not_reached {
            out.push(tr!(
                w,
                "cutover: the migration's checks not reached (the run ended before the migration, due {}); double charges {}, acknowledged after the stop {}",
                "切换：迁移核查未达到（运行在 {} 的数据迁移之前结束）；重复扣费 {}，停止后确认 {}",
                instant(due),
                c.double_charges.count,
                c.acknowledged_after_stop.count
            ));
        } else {
            let regs = if c.registrations.checked {
                tr!(w, "{} of {} registrations wrong", "{} / {} 条登记信息有误", c.registrations.mismatched(), c.registrations.old)
            } else {
                w.t("registrations not read", "未读取登记信息").to_string()
            };
            out.push(tr!(
            w,
            "cutover: migration {} ({} of {} old payments differ, {} cells; {}), double charges {}, lost at the boundary {}, acknowledged after the stop {}",
            "切换：数据迁移{}（{} / {} 笔旧缴费不符，{} 个单元格；{}），重复扣费 {}，切换边界丢失 {}，停止后确认 {}",
            if m.ran { w.t("ran", "已执行") } else { w.t("did not run", "未执行") },
            m.missing + m.duplicated + m.differing + m.unknown_origin,
            m.checked,
            m.mismatched_cells,
            regs,
            c.double_charges.count,
            c.lost_at_boundary.count,
            c.acknowledged_after_stop.count
            ));
        }
    }
    if !r.calibration.is_empty() {
        let within = r.calibration.iter().filter(|c| c.within).count();
        let n = r.calibration.len();
        out.push(tr!(w, "calibration: {within} of {n} expectations within their factor", "校准：{n} 项预期中 {within} 项在允许倍数内"));
    }
    out.extend(sections::verdict_lines(r, w));
}

pub fn render(r: &Report, lang: Lang) -> String {
    let w = Say::new(r, lang);
    let mut o = String::new();
    let _ = writeln!(o, "{}\n", tr!(w, "# Cutover rehearsal: {}", "# 切换演练：{}", r.scenario.name));
    let _ = writeln!(
        o,
        "{}\n",
        tr!(
            w,
            "Mode `{}`, scenario file `{}`, seed {} (replay with `--seed {}`); instants are local time, UTC{}, to the second.",
            "模式 `{}`，场景文件 `{}`，种子 {}（用 `--seed {}` 重放）；时刻为当地时间（UTC{}），精确到秒。",
            r.mode,
            r.scenario.file,
            r.summary.seed,
            r.summary.seed,
            r.scenario.utc_offset
        )
    );
    let _ = writeln!(o, "```\n{}```\n", short(r, lang));
    o.push_str(&section::markdown(&sections::verdict(r, &w)));
    o.push_str(&section::markdown(&sections::timeline(r, &w)));
    if let Some(s) = sections::calibration(r, &w) {
        o.push_str(&section::markdown(&s));
    }
    if let Some(s) = plan::days(r, &w) {
        o.push_str(&section::markdown(&s));
    }
    o.push_str(&section::markdown(&sections::surge(r, &w)));
    if let Some(s) = sections::queues(r, &w) {
        o.push_str(&section::markdown(&s));
    }
    o.push_str(&section::markdown(&sections::refusals(r, &w)));
    if let Some(s) = sections::dues(r, &w) {
        o.push_str(&section::markdown(&s));
    }
    o.push_str(&section::markdown(&sections::cells(r, &w)));
    o.push_str(&section::markdown(&busiest_hours(r, &w)));
    o.push_str(&section::markdown(&sections::ledger(r, &w)));
    if let Some(s) = sections::wrong_payments(r, &w) {
        o.push_str(&section::markdown(&s));
    }
    if let Some(c) = &r.cutover {
        o.push_str(&section::markdown(&sections::cutover(c, &w)));
    }
    o.push_str(&section::markdown(&sections::gates(r, &w)));
    o.push_str(&section::markdown(&outcomes(r, &w)));
    if let Some(l) = &r.live {
        o.push_str(&section::markdown(&sections::live(l, &w)));
    }
    o
}

/// The Cutover section alone (what `cutover reconcile` prints).
pub fn cutover_section(c: &crate::report::data::cutover::CutoverReport) -> String {
    section::markdown(&sections::cutover(c, &Say::english()))
}

/// Busiest hours listed in the summary.
const BUSIEST_HOURS: usize = 15;

/// Give-ups and errors: what went wrong besides the gates (a live run's errors by kind and
/// hooks are in its own section).
fn outcomes(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("outcomes", w.t("Give-ups and errors", "放弃与错误"));
    s.text(tr!(
        w,
        "{} payers gave up ({} of them displaced by the suspension); {} errors in {} attempts.",
        "{} 名缴费人放弃（其中 {} 名因暂停被推迟）；{3} 次尝试中错误 {2} 次。",
        r.summary.gave_up,
        r.reopening.displaced_gave_up,
        r.summary.errors,
        r.summary.attempts
    ));
    s
}

/// The hours with the most attempts.
fn busiest_hours(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("busiest-hours", w.t("Busiest hours", "最繁忙的小时"));
    s.text(
        w.t(
            "Requests count in the hour their attempt started, the outcomes too (so no hour shows more successes than attempts; a wait at a counter may end hours later).",
            "请求及其结果均计入尝试开始的那个小时（因此没有哪个小时的成功多于尝试；柜台前的等待可能在数小时后才结束）。",
        )
        .into(),
    );
    let mut t = Table::new(if w.zh {
        &["小时开始于", "阶段", "#尝试", "#其中自主缴费", "#成功", "#拒绝", "#错误", "#后台队列最长"]
    } else {
        &["hour starting", "phase", "#attempts", "#of which self-paid", "#successes", "#rejections", "#errors", "#backend queue max"]
    });
    let mut hours: Vec<_> = r.hourly.iter().filter(|h| h.attempts > 0).collect();
    hours.sort_by(|a, b| b.attempts.cmp(&a.attempts).then(a.hour.cmp(&b.hour)));
    for h in hours.iter().take(BUSIEST_HOURS) {
        let figures = [h.attempts, h.self_paid_attempts, h.successes, h.rejections, h.errors, h.backend_queue_max];
        let mut row = vec![instant(&h.start), w.phase(&h.phase).to_string()];
        row.extend(figures.iter().map(u64::to_string));
        t.row(row, false);
    }
    s.table(t);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn yuan_groups_thousands() {
        assert_eq!(super::yuan(0), "0.00");
        assert_eq!(super::yuan(123_456_789), "1,234,567.89");
        assert_eq!(super::yuan(-5), "-0.05");
    }
}
