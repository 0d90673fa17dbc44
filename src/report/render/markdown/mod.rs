//! The human-readable `summary.md`, in English or Chinese (`--lang`).

use crate::report::Report;
use crate::report::render::human::{duration_ms, instant};
use crate::report::render::lang::{Lang, Say, tr};
use std::fmt::Write;

mod plan;

use crate::report::render::human::yuan;

fn at_or(t: &Option<String>, none: &str) -> String {
    t.as_deref().map_or_else(|| none.to_string(), instant)
}

/// The short summary printed at the end of a run (also the top of `summary.md`).
pub fn short(r: &Report, lang: Lang) -> String {
    let w = Say::new(r, lang);
    let s = &r.summary;
    let never = w.t("never (not by the end)", "截至时间线结束未达到");
    let mut o = String::new();
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    line(tr!(w, "scenario {} ({}), seed {}", "场景 {}（{}），种子 {}", r.scenario.name, w.name(r.mode), s.seed));
    line(tr!(
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
    line(tr!(
        w,
        "accepted while suspended {}  unexpected rejections {}",
        "暂停期间受理 {}  意外拒绝 {}",
        s.accepted_while_suspended,
        s.rejected_unexpected
    ));
    line(tr!(
        w,
        "ledger expected {} yuan, actual {} yuan, mismatched cells {}",
        "账本应为 {} 元，实为 {} 元，不符单元格 {}",
        yuan(s.ledger_expected_fen),
        yuan(s.ledger_actual_fen),
        s.ledger_mismatched_cells
    ));
    // The headline is the payers' own busiest hour; batch debits, which contend with
    // nobody at their night-time runs, apart.
    if let Some(q) = &r.peak_hour_self_paid {
        let mut text =
            tr!(w, "peak hour of self-paid attempts {} with {}", "自主缴费尝试最多的小时 {}，共 {} 次", instant(&q.start), q.attempts);
        if let Some(p) = r.peak_hour.as_ref().filter(|p| p.start != q.start) {
            text += &tr!(w, "; with batch debits {} with {}", "；含批量扣款 {}，共 {} 次", instant(&p.start), p.attempts);
        }
        line(text);
    }
    let ro = &r.reopening;
    line(tr!(
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
    if let Some(l) = &r.live {
        line(tr!(
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
            line(tr!(w, "ABORTED early: {why}", "提前中止：{why}"));
        }
        let (rt, st) = (&l.response_time_ms, &l.service_time_ms);
        line(tr!(
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
        line(tr!(
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
    if let Some(c) = &r.cutover {
        let m = &c.migration;
        let regs = if c.registrations.checked {
            tr!(w, "{} of {} registrations wrong", "{} / {} 条登记信息有误", c.registrations.mismatched(), c.registrations.old)
        } else {
            w.t("registrations not read", "未读取登记信息").to_string()
        };
        line(tr!(
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
    if !r.calibration.is_empty() {
        let within = r.calibration.iter().filter(|c| c.within).count();
        let n = r.calibration.len();
        line(tr!(w, "calibration: {within} of {n} expectations within their factor", "校准：{n} 项预期中 {within} 项在允许倍数内"));
    }
    let failed: Vec<_> = r.gates.iter().filter(|g| !g.passed).collect();
    if r.gates.is_empty() {
        line(w.t("gates: none defined", "门限：未定义").to_string());
    } else if failed.is_empty() {
        line(tr!(w, "gates: all {} passed", "门限：全部 {} 项通过", r.gates.len()));
    } else {
        for g in failed {
            line(tr!(w, "GATE FAILED: {} (measured {})", "门限未通过：{}（实测 {}）", g.name(), w.measured(g)));
        }
    }
    o
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
    phases(&mut o, r, &w);
    plan::calibration(&mut o, r, &w);
    plan::days(&mut o, r, &w);
    plan::dues(&mut o, r, &w);
    cells(&mut o, r, &w);
    busiest_hours(&mut o, r, &w);
    batches(&mut o, r, &w);
    ledger(&mut o, r, &w);
    cutover(&mut o, r, &w);
    gates(&mut o, r, &w);
    outcomes(&mut o, r, &w);
    o
}

/// Give-ups, errors by kind and the runbook's hooks: what went wrong besides the gates.
fn outcomes(o: &mut String, r: &Report, w: &Say) {
    let _ = writeln!(
        o,
        "{}",
        tr!(
            w,
            "\n## Give-ups, errors and hooks\n\n{} payers gave up ({} of them displaced by the suspension); {} errors in {} attempts.",
            "\n## 放弃、错误与操作步骤\n\n{} 名缴费人放弃（其中 {} 名因暂停被推迟）；{3} 次尝试中错误 {2} 次。",
            r.summary.gave_up,
            r.reopening.displaced_gave_up,
            r.summary.errors,
            r.summary.attempts
        )
    );
    let Some(l) = &r.live else { return };
    if !l.errors_by_kind.is_empty() {
        let _ = writeln!(o, "{}", w.t("\n| error | count |\n|---|---:|", "\n| 错误 | 次数 |\n|---|---:|"));
        for (k, n) in &l.errors_by_kind {
            let _ = writeln!(o, "| {k} | {n} |");
        }
    }
    if !l.hooks.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            w.t(
                "\n| phase | hook | due at | took | result | outcome |\n|---|---|---|---:|---|---|",
                "\n| 阶段 | 操作步骤 | 预定时刻 | 用时 | 结果 | 输出 |\n|---|---|---|---:|---|---|"
            )
        );
        for h in &l.hooks {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} | {} |",
                w.phase(&h.phase),
                h.action,
                instant(&h.due_at),
                duration_ms(h.duration_ms),
                if h.ok { w.t("ok", "成功") } else { w.t("FAILED", "失败") },
                h.outcome
            );
        }
    }
}

/// Rows of each list shown in the summary (report.json lists more).
const CUTOVER_ROWS: usize = 20;

fn payment(w: &Say, p: &crate::report::data::cutover::PaymentRef) -> String {
    let amount: i64 = p.items_fen.values().sum();
    tr!(
        w,
        "{} #{} key {} payer {} ({}, {}) {} period {} {} yuan at {}",
        "{} #{}，幂等键 {}，缴费人 {}（{}，{}），{}，所属期 {}，{} 元，{}",
        w.system(&p.system),
        p.payment_id,
        p.key,
        p.payer_id,
        w.group(p.group),
        w.league(&p.league),
        w.channel(&p.channel),
        p.period,
        yuan(amount),
        instant(&p.accepted_at)
    )
}

/// The Cutover section alone (what `cutover reconcile` prints).
pub fn cutover_section(c: &crate::report::data::cutover::CutoverReport) -> String {
    let mut o = String::new();
    cutover_of(&mut o, c, &Say::english());
    o
}

fn cutover(o: &mut String, r: &Report, w: &Say) {
    if let Some(c) = &r.cutover {
        cutover_of(o, c, w);
    }
}

fn cutover_of(o: &mut String, c: &crate::report::data::cutover::CutoverReport, w: &Say) {
    cutover_systems(o, c, w);
    cutover_migration(o, c, w);
    cutover_payments(o, c, w);
}

/// The systems, what was in flight at each stop, the answers lost on the way.
fn cutover_systems(o: &mut String, c: &crate::report::data::cutover::CutoverReport, w: &Say) {
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    line(
        w.t(
            "\n## Cutover\n\n| system | opens | stops | payments taken | yuan | migrated in |\n|---|---|---|---:|---:|---:|",
            "\n## 系统切换\n\n| 系统 | 开启 | 停止 | 受理缴费 | 元 | 迁入 |\n|---|---|---|---:|---:|---:|",
        )
        .to_string(),
    );
    for s in &c.systems {
        line(format!(
            "| {} | {} | {} | {} | {} | {} |",
            w.system(&s.name),
            at_or(&s.opens, "-"),
            at_or(&s.stops, "-"),
            s.payments,
            yuan(s.payments_fen),
            s.migrated_payments
        ));
    }
    line(
        w.t(
            "\nIn flight at each stop (started before, answered after):\n\n| at | what stops | in flight | accepted | refused as suspended |\n|---|---|---:|---:|---:|",
            "\n每次停止时的在途请求（停止前发出、停止后答复）：\n\n| 时刻 | 停止的是 | 在途 | 受理 | 因暂停被拒 |\n|---|---|---:|---:|---:|",
        )
        .to_string(),
    );
    for s in &c.in_flight_at_stops {
        line(format!("| {} | {} | {} | {} | {} |", instant(&s.at), w.stop(s), s.in_flight, s.accepted, s.refused_suspended));
    }
    let l = &c.lost_answers;
    let refunded = if c.refunded > 0 {
        tr!(w, " ({} of them taken and refunded, {} yuan)", "（其中 {} 笔已扣款并退款，{} 元）", c.refunded, yuan(c.refunded_fen))
    } else {
        String::new()
    };
    line(tr!(
        w,
        "\nAnswers lost on the way: {} ({} of them acceptances: money taken, payer not told); payments started again as a new order: {}; refused as already paid: {}{}.",
        "\n途中丢失的答复：{}（其中 {} 笔为受理：已扣款，缴费人不知情）；重新下单的缴费：{}；以已缴为由拒绝：{}{}。",
        l.total,
        l.acceptances,
        l.new_orders,
        c.refused_already_paid,
        refunded
    ));
}

/// The migration and the registrations.
fn cutover_migration(o: &mut String, c: &crate::report::data::cutover::CutoverReport, w: &Say) {
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    let m = &c.migration;
    let how = match &m.totals {
        Some(t) => tr!(
            w,
            ": {} registrations written, {} batches, {} payments read, {} written, {} open assessments",
            "：写入登记 {} 条，{} 批，读取缴费 {} 笔，写入 {} 笔，未完成核定 {} 件",
            t.registrations_written,
            t.batches,
            t.payments_read,
            t.payments_written,
            t.assessments_written
        ),
        None if m.ran => w.t(" (run by the runbook's hook)", "（由演练手册的操作步骤执行）").to_string(),
        None => w.t(" did not run", "未执行").to_string(),
    };
    let when = m.at.as_ref().map(|a| tr!(w, " at {}", "于 {}", instant(a))).unwrap_or_default();
    line(tr!(
        w,
        "\nMigration{when}{how}. Of {} old payments: {} missing, {} extra copies, {} differing, {} copies of unknown origin; {} ledger cells differ. Records found after migration: {} of {}.",
        "\n数据迁移{when}{how}。{} 笔旧缴费中：缺失 {}，多余副本 {}，不符 {}，来源不明副本 {}；账本不符单元格 {} 个。迁移后查到的缴费记录：{} / {}。",
        m.checked,
        m.missing,
        m.duplicated,
        m.differing,
        m.unknown_origin,
        m.mismatched_cells,
        c.records_after_migration.found,
        c.records_after_migration.old_payments
    ));
    if let Some(f) = m.totals.as_ref().and_then(|t| t.fault) {
        line(tr!(w, "\nThe migration ran with the fault `{f}` injected.", "\n数据迁移运行时注入了故障 `{f}`。"));
    }
    for d in m.differences.listed.iter().take(CUTOVER_ROWS) {
        let what = d.old.as_ref().or(d.new.as_ref()).map(|p| payment(w, p)).unwrap_or_default();
        let fields = if d.fields.is_empty() { String::new() } else { format!(" ({})", d.fields.join(", ")) };
        line(format!("- {}{}: {}", w.name(d.problem), fields, what));
    }
    let g = &c.registrations;
    if g.checked {
        line(tr!(
            w,
            "\nRegistrations: {} in the old system, {} in the new; {} missing, {} differing, {} unknown to the old system.",
            "\n登记信息：旧系统 {} 条，新系统 {} 条；缺失 {}，不符 {}，旧系统中没有 {}。",
            g.old,
            g.new,
            g.missing,
            g.differing,
            g.unknown
        ));
        for d in g.differences.listed.iter().take(CUTOVER_ROWS) {
            let side = |r: &Option<crate::report::data::cutover::RegistrationRef>| {
                r.as_ref().map_or_else(|| "-".to_string(), |r| tr!(w, "{} in {}", "{}（{}）", w.group(r.group), w.league(&r.league)))
            };
            let fields = if d.fields.is_empty() { String::new() } else { format!(" ({})", d.fields.join(", ")) };
            line(tr!(
                w,
                "- {}{}: payer {}, old {}, new {}",
                "- {}{}：缴费人 {}，旧 {}，新 {}",
                w.name(d.problem),
                fields,
                d.payer_id,
                side(&d.old),
                side(&d.new)
            ));
        }
    } else {
        line(
            w.t(
                "\nRegistrations: not checked (the systems' registrations could not be read).",
                "\n登记信息：未核对（无法读取系统的登记信息）。",
            )
            .to_string(),
        );
    }
    if g.refused_not_registered > 0 {
        let by: Vec<String> = g.refused_by_channel.iter().map(|(c, n)| tr!(w, "{n} on {}", "{} {n} 次", w.channel(c))).collect();
        line(tr!(w, "Refused as not registered: {} ({}).", "以未登记为由拒绝：{}（{}）。", g.refused_not_registered, by.join(", ")));
    }
}

/// Double charges, payments lost at the boundary or acknowledged after a stop, the rollback.
fn cutover_payments(o: &mut String, c: &crate::report::data::cutover::CutoverReport, w: &Say) {
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    line(tr!(
        w,
        "\nDouble charges (a second payment for a payer, insurance type and month, any key or channel): {}.",
        "\n重复扣费（同一缴费人、险种和月份的第二笔缴费，不论幂等键或渠道）：{}。",
        c.double_charges.count
    ));
    for (ch, n) in &c.double_charges.by_channel {
        line(tr!(w, "- on {}: {n}", "- {}：{n}", w.channel(ch)));
    }
    for d in c.double_charges.listed.iter().take(CUTOVER_ROWS) {
        let ins: Vec<&str> = d.insurance.iter().map(|i| w.name(*i)).collect();
        line(tr!(
            w,
            "- payer {} ({}): {} then {}",
            "- 缴费人 {}（{}）：先 {}，后 {}",
            d.payer_id,
            ins.join(", "),
            payment(w, &d.first),
            payment(w, &d.second)
        ));
    }
    line(tr!(
        w,
        "\nLost at the boundary (money taken or acknowledged, in no ledger after the switch): {}.",
        "\n切换边界丢失（已扣款或已确认，切换后不在任何账本中）：{}。",
        c.lost_at_boundary.count
    ));
    for p in c.lost_at_boundary.listed.iter().take(CUTOVER_ROWS) {
        let what = p.payment.as_ref().map(|x| payment(w, x)).unwrap_or_else(|| tr!(w, "key {}", "幂等键 {}", p.key));
        line(format!("- {}: {}", w.name(p.reason), what));
    }
    line(tr!(
        w,
        "\nAcknowledged by the old system after it stopped: {}.",
        "\n旧系统停止后仍确认的缴费：{}。",
        c.acknowledged_after_stop.count
    ));
    for p in c.acknowledged_after_stop.listed.iter().take(CUTOVER_ROWS) {
        line(format!("- {}", payment(w, p)));
    }
    if let Some(rb) = &c.rollback {
        let reason = if rb.reason.is_empty() { w.t("no reason given", "未说明原因") } else { rb.reason.as_str() };
        line(tr!(
            w,
            "\nRollback rehearsed ({}): payment suspended again at {} (phase {}), resumed {}; the new system had taken {} payments ({} yuan) since it opened, took {} during the rollback and refused {} requests as suspended. The checks above and the ledger cover them.",
            "\n演练了回退（{}）：{} 再次暂停缴费（阶段 {}），恢复于 {}；新系统开启以来受理 {} 笔（{} 元），回退期间受理 {} 笔，以暂停为由拒绝 {} 个请求。上述核对和账本均已包含这些缴费。",
            reason,
            instant(&rb.at),
            w.phase(&rb.phase),
            at_or(&rb.resumed_at, w.t("never within the timeline", "时间线内未恢复")),
            rb.accepted_before,
            yuan(rb.accepted_before_fen),
            rb.accepted_during,
            rb.refused_during
        ));
    }
    if let Some(e) = &c.read_error {
        line(tr!(w, "\nThe systems' books could not be read, so no check ran: {e}", "\n无法读取系统账簿，未进行任何核对：{e}"));
    }
}

/// Busiest hours listed in the summary.
const BUSIEST_HOURS: usize = 15;

fn phases(o: &mut String, r: &Report, w: &Say) {
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "## Phases\n\n| phase | start | end | closed channels |\n|---|---|---|---|",
            "## 阶段\n\n| 阶段 | 开始 | 结束 | 关闭的渠道 |\n|---|---|---|---|"
        )
    );
    for p in &r.phases {
        let closed = if p.closed_channels.is_empty() { "-".to_string() } else { w.channels(&p.closed_channels) };
        let _ = writeln!(o, "| {} | {} | {} | {} |", w.phase(&p.name), instant(&p.start), instant(&p.end), closed);
    }
}

fn cells(o: &mut String, r: &Report, w: &Say) {
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "\n## Per phase, channel and operation\n\nLatency is waiting plus service, in ms, s, min or h as fits (report.json keeps milliseconds).\n\n\
             | phase | channel | operation | attempts | successes | suspended | not yet visible | unexpected | errors | p50 | p90 | p99 | p99.9 | max |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            "\n## 按阶段、渠道和业务\n\n延迟为等待加服务时间，按大小用 ms、s、min 或 h（report.json 保留毫秒）。\n\n\
             | 阶段 | 渠道 | 业务 | 尝试 | 成功 | 因暂停被拒 | 尚不可见 | 意外拒绝 | 错误 | p50 | p90 | p99 | p99.9 | 最大 |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
    );
    let d = duration_ms;
    for c in &r.cells {
        let l = &c.latency_ms;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            w.phase(&c.phase),
            w.channel(&c.channel),
            w.name(c.operation),
            c.attempts,
            c.successes,
            c.rejected_suspended,
            c.rejected_not_yet_visible,
            c.rejected_unexpected,
            c.errors,
            d(l.p50),
            d(l.p90),
            d(l.p99),
            d(l.p99_9),
            d(l.max)
        );
    }
}

fn busiest_hours(o: &mut String, r: &Report, w: &Say) {
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "\n## Busiest hours\n\nRequests count in the hour their attempt started, the outcomes too (so no hour shows more successes than attempts; a wait at a counter may end hours later).\n\n| hour starting | phase | attempts | of which self-paid | successes | rejections | errors | backend queue max |\n|---|---|---:|---:|---:|---:|---:|---:|",
            "\n## 最繁忙的小时\n\n请求及其结果均计入尝试开始的那个小时（因此没有哪个小时的成功多于尝试；柜台前的等待可能在数小时后才结束）。\n\n| 小时开始于 | 阶段 | 尝试 | 其中自主缴费 | 成功 | 拒绝 | 错误 | 后台队列最长 |\n|---|---|---:|---:|---:|---:|---:|---:|"
        )
    );
    let mut hours: Vec<_> = r.hourly.iter().filter(|h| h.attempts > 0).collect();
    hours.sort_by(|a, b| b.attempts.cmp(&a.attempts).then(a.hour.cmp(&b.hour)));
    for h in hours.iter().take(BUSIEST_HOURS) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            instant(&h.start),
            w.phase(&h.phase),
            h.attempts,
            h.self_paid_attempts,
            h.successes,
            h.rejections,
            h.errors,
            h.backend_queue_max
        );
    }
}

fn batches(o: &mut String, r: &Report, w: &Say) {
    if r.batches.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "{}",
        w.t(
            "\n## Batches\n\n| batch | run | debits sent | accepted | periods debited | refused (suspended) | overloaded | stopped |\n|---|---|---:|---:|---:|---:|---:|---|",
            "\n## 批量扣款\n\n| 批次 | 运行时刻 | 发出扣款 | 受理 | 扣款期数 | 因暂停被拒 | 过载 | 已停止 |\n|---|---|---:|---:|---:|---:|---:|---|"
        )
    );
    for b in &r.batches {
        for run in &b.runs {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                b.name,
                instant(&run.at),
                run.debits_sent,
                run.accepted,
                run.periods_debited,
                run.refused_suspended,
                run.overloaded,
                if run.stopped_as_suspended { w.t("yes", "是") } else { w.t("no", "否") }
            );
        }
    }
}

fn ledger(o: &mut String, r: &Report, w: &Say) {
    let _ = writeln!(
        o,
        "{}",
        tr!(
            w,
            "\n## Ledger\n\nExpected (from acknowledged payments) {} yuan; actual (the target's ledger) {} yuan; {} differing cell(s) of {}.\n",
            "\n## 账本\n\n应为（按已确认的缴费）{} 元；实为（目标系统的账本）{} 元；{3} 个单元格中 {2} 个不符。\n",
            yuan(r.ledger.expected_fen),
            yuan(r.ledger.actual_fen),
            r.ledger.mismatched_cells,
            r.ledger.cells.len()
        )
    );
    if let Some(e) = &r.ledger.read_error {
        let _ = writeln!(o, "{}", tr!(w, "The target's ledger could not be read: {e}\n", "无法读取目标系统的账本：{e}\n"));
    }
    if !r.ledger.differences.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            w.t(
                "| league | group | insurance | expected count | expected yuan | actual count | actual yuan |\n|---|---|---|---:|---:|---:|---:|",
                "| 盟市 | 缴费人群 | 险种 | 应有笔数 | 应有金额（元） | 实有笔数 | 实有金额（元） |\n|---|---|---|---:|---:|---:|---:|"
            )
        );
        for d in &r.ledger.differences {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                w.league(&d.league),
                w.group(d.group),
                w.name(d.insurance),
                d.expected_count,
                yuan(d.expected_fen),
                d.actual_count,
                yuan(d.actual_fen)
            );
        }
    }
}

fn gates(o: &mut String, r: &Report, w: &Say) {
    if r.gates.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "{}",
        w.t("\n## Gates\n\n| gate | measured | result |\n|---|---:|---|", "\n## 门限\n\n| 门限 | 实测 | 结果 |\n|---|---:|---|")
    );
    for g in &r.gates {
        let _ =
            writeln!(o, "| `{}` | {} | {} |", g.name(), w.measured(g), if g.passed { w.t("pass", "通过") } else { w.t("FAIL", "未通过") });
    }
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
