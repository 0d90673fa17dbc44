//! The cutover's section: the systems, what the checks found (a table of the checks, then
//! each wrong payment or registration by name), what was in flight at each stop, and the
//! rollback if one was rehearsed.

use crate::report::data::cutover::{CutoverReport, PaymentRef, RegistrationRef};
use crate::report::render::human::{count, instant, instant_or, yuan};
use crate::report::render::lang::{Say, tr};
use crate::report::render::section::{Block, Section, Table, Tone};
use crate::report::render::svg;

/// Rows of each list shown (report.json lists more).
const ROWS: usize = 20;

/// One payment as people name it.
fn payment(w: &Say, p: &PaymentRef) -> String {
    let amount: i64 = p.items_fen.total();
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

/// The cutover's section.
pub(crate) fn cutover(c: &CutoverReport, w: &Say) -> Section {
    let mut s = Section::new(
        "cutover",
        w.t("Cutover: migration, double charges, boundary payments", "系统切换：数据迁移、重复扣费、切换边界的缴费"),
    );
    if let Some(e) = &c.read_error {
        s.said(tr!(w, "The systems' books could not be read, so no check ran: {e}", "无法读取系统账簿，未进行任何核对：{e}"), Tone::Bad);
    }
    if let Some(due) = &c.not_reached {
        s.said(
            tr!(
                w,
                "Not reached: the run ended before the migration was due ({}), so the migration's and the registrations' checks did not run; nothing is missing from the new system yet.",
                "未达到：运行在数据迁移（{}）之前结束，迁移与登记信息的核查没有进行；新系统此时尚不缺少任何数据。",
                instant(due)
            ),
            Tone::Plain,
        );
    }
    systems(&mut s, c, w);
    checks(&mut s, c, w);
    stops(&mut s, c, w);
    migration(&mut s, c, w);
    registrations(&mut s, c, w);
    payments(&mut s, c, w);
    rollback(&mut s, c, w);
    s
}

/// The systems: when each opens and stops, what it took.
fn systems(s: &mut Section, c: &CutoverReport, w: &Say) {
    let mut t = Table::new(if w.zh {
        &["系统", "开启", "停止", "#受理缴费", "#元", "#迁入"]
    } else {
        &["system", "opens", "stops", "#payments taken", "#yuan", "#migrated in"]
    });
    for x in &c.systems {
        let row = vec![
            w.system(&x.name).to_string(),
            instant_or(&x.opens, "-"),
            instant_or(&x.stops, "-"),
            count(x.payments),
            yuan(x.payments_fen),
            count(x.migrated_payments),
        ];
        t.row(row, false);
    }
    s.table(t);
}

/// What was in flight at each stop, the answers lost on the way.
fn stops(s: &mut Section, c: &CutoverReport, w: &Say) {
    if !c.in_flight_at_stops.is_empty() {
        s.text(
            w.t("Payments in flight at each stop (started before it, answered after):", "每次停止时的在途缴费（停止前发出、停止后答复）：")
                .into(),
        );
        let mut t = Table::new(if w.zh {
            &["时刻", "停止的是", "#在途", "#受理", "#因暂停被拒"]
        } else {
            &["at", "what stops", "#in flight", "#accepted", "#refused as suspended"]
        });
        for x in &c.in_flight_at_stops {
            t.row(vec![instant(&x.at), w.stop(x), count(x.in_flight), count(x.accepted), count(x.refused_suspended)], false);
        }
        s.table(t);
    }
    let l = &c.lost_answers;
    let refunded = if c.refunded > 0 {
        tr!(w, " ({} of them taken and refunded, {} yuan)", "（其中 {} 笔已扣款并退款，{} 元）", count(c.refunded), yuan(c.refunded_fen))
    } else {
        String::new()
    };
    s.text(tr!(
        w,
        "Answers lost on the way: {} ({} of them acceptances: money taken, payer not told); payments started again as a new order: {}; refused as already paid: {}{}.",
        "途中丢失的答复：{}（其中 {} 笔为受理：已扣款，缴费人不知情）；重新下单的缴费：{}；以已缴为由拒绝：{}{}。",
        count(l.total),
        count(l.acceptances),
        count(l.new_orders),
        count(c.refused_already_paid),
        refunded
    ));
}

/// Every check in one table, wrong ones highlighted.
fn checks(s: &mut Section, c: &CutoverReport, w: &Say) {
    let m = &c.migration;
    let of = |n: u64| tr!(w, "of {}", "共 {}", count(n));
    let rows: Vec<(&str, u64, String)> = vec![
        (
            w.t(
                "old payments the migration got wrong (missing, extra, differing, unknown)",
                "迁移出错的旧缴费（缺失、多余、不符、来源不明）",
            ),
            m.missing + m.duplicated + m.differing + m.unknown_origin,
            of(m.checked),
        ),
        (w.t("ledger cells the migration got wrong", "迁移出错的账本单元格"), m.mismatched_cells, String::new()),
        (w.t("double charges", "重复扣费"), c.double_charges.count, String::new()),
        (w.t("payments lost at the boundary", "切换边界丢失的缴费"), c.lost_at_boundary.count, String::new()),
        (w.t("payments acknowledged after a stop", "停止后仍确认的缴费"), c.acknowledged_after_stop.count, String::new()),
        (
            w.t("registrations wrong", "有误的登记信息"),
            c.registrations.mismatched(),
            if c.registrations.checked { of(c.registrations.old) } else { w.t("not read", "未读取").into() },
        ),
        (
            w.t("old payments not found among the payer's records after migration", "迁移后在缴费人记录中查不到的旧缴费"),
            c.records_after_migration.missing,
            of(c.records_after_migration.old_payments),
        ),
    ];
    let mut t = Table::new(if w.zh { &["核对", "#数量", "", "结果"] } else { &["check", "#count", "", "result"] });
    for (what, n, of) in rows {
        let result = if n == 0 { w.t("ok", "正确") } else { w.t("WRONG", "错误") };
        t.row(vec![what.to_string(), count(n), of, result.into()], n > 0);
    }
    s.table(t);
}

/// The migration, with each payment it got wrong.
fn migration(s: &mut Section, c: &CutoverReport, w: &Say) {
    let m = &c.migration;
    let how = match &m.totals {
        Some(t) => tr!(
            w,
            ": {} registrations written, {} batches, {} payments read, {} written, {} open assessments",
            "：写入登记 {} 条，{} 批，读取缴费 {} 笔，写入 {} 笔，未完成核定 {} 件",
            count(t.registrations_written),
            count(t.batches),
            count(t.payments_read),
            count(t.payments_written),
            count(t.assessments_written)
        ),
        None if m.ran => w.t(" (run by the runbook's hook)", "（由演练手册的操作步骤执行）").to_string(),
        None => w.t(" did not run", "未执行").to_string(),
    };
    let when = m.at.as_ref().map(|a| tr!(w, " at {}", "于 {}", instant(a))).unwrap_or_default();
    s.text(tr!(
        w,
        "Migration{when}{how}. Of {} old payments: {} missing, {} extra copies, {} differing, {} copies of unknown origin; {} ledger cells differ. Records found after migration: {} of {}.",
        "数据迁移{when}{how}。{} 笔旧缴费中：缺失 {}，多余副本 {}，不符 {}，来源不明副本 {}；账本不符单元格 {} 个。迁移后查到的缴费记录：{} / {}。",
        count(m.checked),
        count(m.missing),
        count(m.duplicated),
        count(m.differing),
        count(m.unknown_origin),
        count(m.mismatched_cells),
        count(c.records_after_migration.found),
        count(c.records_after_migration.old_payments)
    ));
    if let Some(f) = m.totals.as_ref().and_then(|t| t.fault).map(|f| f.as_str()) {
        s.said(tr!(w, "The migration ran with the fault `{f}` injected.", "数据迁移运行时注入了故障 `{f}`。"), Tone::Bad);
    }
    s.list(
        m.differences
            .listed
            .iter()
            .take(ROWS)
            .map(|d| {
                let what = d.old.as_ref().or(d.new.as_ref()).map(|p| payment(w, p)).unwrap_or_default();
                let fields = if d.fields.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", d.fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "))
                };
                format!("{}{}: {}", w.name(d.problem), fields, what)
            })
            .collect(),
    );
}

/// The registrations, with each one wrong.
fn registrations(s: &mut Section, c: &CutoverReport, w: &Say) {
    let g = &c.registrations;
    if !g.checked {
        s.said(
            w.t(
                "Registrations: not checked (the systems' registrations could not be read).",
                "登记信息：未核对（无法读取系统的登记信息）。",
            )
            .into(),
            Tone::Bad,
        );
    } else {
        s.text(tr!(
            w,
            "Registrations: {} in the old system, {} in the new; {} missing, {} differing, {} unknown to the old system.",
            "登记信息：旧系统 {} 条，新系统 {} 条；缺失 {}，不符 {}，旧系统中没有 {}。",
            count(g.old),
            count(g.new),
            count(g.missing),
            count(g.differing),
            count(g.unknown)
        ));
        let side = |r: &Option<RegistrationRef>| {
            r.as_ref().map_or_else(|| "-".to_string(), |r| tr!(w, "{} in {}", "{}（{}）", w.group(r.group), w.league(&r.league)))
        };
        let items = g.differences.listed.iter().take(ROWS).map(|d| {
            let fields = if d.fields.is_empty() {
                String::new()
            } else {
                format!(" ({})", d.fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "))
            };
            tr!(
                w,
                "{}{}: payer {}, old {}, new {}",
                "{}{}：缴费人 {}，旧 {}，新 {}",
                w.name(d.problem),
                fields,
                d.payer_id,
                side(&d.old),
                side(&d.new)
            )
        });
        s.list(items.collect());
    }
    if g.refused_not_registered > 0 {
        let by: Vec<String> = g.refused_by_channel.iter().map(|(c, n)| tr!(w, "{n} on {}", "{} {n} 次", w.channel(c))).collect();
        s.text(tr!(
            w,
            "Refused as not registered: {} ({}).",
            "以未登记为由拒绝：{}（{}）。",
            count(g.refused_not_registered),
            by.join(", ")
        ));
    }
}

/// Double charges, payments lost at the boundary or acknowledged after a stop, each by name.
fn payments(s: &mut Section, c: &CutoverReport, w: &Say) {
    let tone = |n: u64| if n == 0 { Tone::Plain } else { Tone::Bad };
    let d = &c.double_charges;
    s.said(
        tr!(
            w,
            "Double charges (a second payment for a payer, insurance type and month, any key or channel): {}.",
            "重复扣费（同一缴费人、险种和月份的第二笔缴费，不论幂等键或渠道）：{}。",
            count(d.count)
        ),
        tone(d.count),
    );
    let by_channel = d.by_channel.iter().map(|(ch, n)| tr!(w, "on {}: {}", "{}：{}", w.channel(ch), count(*n)));
    let listed = d.listed.iter().take(ROWS).map(|x| {
        let ins: Vec<&str> = x.insurance.iter().map(|i| w.name(*i)).collect();
        tr!(
            w,
            "payer {} ({}): {} then {}",
            "缴费人 {}（{}）：先 {}，后 {}",
            x.payer_id,
            ins.join(", "),
            payment(w, &x.first),
            payment(w, &x.second)
        )
    });
    s.list(by_channel.chain(listed).collect());
    if !d.by_channel.is_empty() {
        let rows: Vec<(String, f64)> = d.by_channel.iter().map(|(k, v)| (w.channel(k).to_string(), *v as f64)).collect();
        s.blocks.push(Block::Chart(svg::Chart::Bars(
            w.t("Double charges by the channel of the second payment", "重复扣费，按第二笔缴费的渠道"),
            w.t("double charges", "重复扣费"),
            rows,
        )));
    }
    let lost = &c.lost_at_boundary;
    s.said(
        tr!(
            w,
            "Lost at the boundary (money taken or acknowledged, in no ledger after the switch): {}.",
            "切换边界丢失（已扣款或已确认，切换后不在任何账本中）：{}。",
            count(lost.count)
        ),
        tone(lost.count),
    );
    s.list(
        lost.listed
            .iter()
            .take(ROWS)
            .map(|p| {
                let what = p.payment.as_ref().map(|x| payment(w, x)).unwrap_or_else(|| tr!(w, "key {}", "幂等键 {}", p.key));
                format!("{}: {}", w.name(p.reason), what)
            })
            .collect(),
    );
    let after = &c.acknowledged_after_stop;
    s.said(
        tr!(w, "Acknowledged by the old system after it stopped: {}.", "旧系统停止后仍确认的缴费：{}。", count(after.count)),
        tone(after.count),
    );
    s.list(after.listed.iter().take(ROWS).map(|p| payment(w, p)).collect());
}

/// The rollback, if one was rehearsed.
fn rollback(s: &mut Section, c: &CutoverReport, w: &Say) {
    let Some(rb) = &c.rollback else { return };
    let reason = if rb.reason.is_empty() { w.t("no reason given", "未说明原因") } else { rb.reason.as_str() };
    if !rb.rolled_back {
        s.text(tr!(
            w,
            "Rollback rehearsed ({}): decided at {} not to roll back, so the phase {} suspended nothing; the new system had taken {} payments ({} yuan) by then.",
            "演练了回退（{}）：于 {} 决定不回退，阶段 {} 未暂停缴费；此前新系统已受理 {} 笔（{} 元）。",
            reason,
            instant(&rb.at),
            w.phase(&rb.phase),
            count(rb.accepted_before),
            yuan(rb.accepted_before_fen)
        ));
        return;
    }
    s.text(tr!(
        w,
        "Rollback rehearsed ({}): payment suspended again at {} (phase {}), resumed {}; the new system had taken {} payments ({} yuan) since it opened, took {} during the rollback and refused {} requests as suspended. The checks above and the ledger cover them.",
        "演练了回退（{}）：{} 再次暂停缴费（阶段 {}），恢复于 {}；新系统开启以来受理 {} 笔（{} 元），回退期间受理 {} 笔，以暂停为由拒绝 {} 个请求。上述核对和账本均已包含这些缴费。",
        reason,
        instant(&rb.at),
        w.phase(&rb.phase),
        instant_or(&rb.resumed_at, w.t("never within the timeline", "时间线内未恢复")),
        count(rb.accepted_before),
        yuan(rb.accepted_before_fen),
        count(rb.accepted_during),
        count(rb.refused_during)
    ));
}
