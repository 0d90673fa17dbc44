//! The cutover's check of the registrations: every payer registered in the old system is
//! registered in the new one, with the same group and league, and the new system holds no
//! registration the old one did not have. Each difference is listed by payer; what a
//! missing registration cost is counted too (the payments and assessments the new system
//! refused as `not_registered`).

use crate::model::PayerRef;
use crate::population::PayerId;
use crate::report::data::cutover::{RegistrationDifference, RegistrationProblem, RegistrationRef, RegistrationsReport};
use crate::report::data::listed::{LISTED, Listed};
use crate::report::feed::recorder::Recorder;
use crate::scenario::Spec;

fn reg_ref(spec: &Spec, r: &PayerRef) -> RegistrationRef {
    RegistrationRef {
        group: r.group,
        league: spec.leagues.get(r.league as usize).map_or_else(|| format!("#{}", r.league), |l| l.name.clone()),
    }
}

/// Check `new` against `old` (`None`: the registrations could not be read).
pub(crate) fn check(spec: &Spec, rec: &Recorder, books: Option<(&[PayerRef], &[PayerRef])>) -> RegistrationsReport {
    let by_channel = &rec.cutover.not_registered_by_channel;
    let mut report = RegistrationsReport {
        refused_not_registered: by_channel.iter().sum(),
        refused_by_channel: spec.channels.iter().zip(by_channel).filter(|(_, n)| **n > 0).map(|(c, n)| (c.id.clone(), *n)).collect(),
        ..RegistrationsReport::default()
    };
    let Some((old, new)) = books else { return report };
    report.checked = true;
    report.old = old.len() as u64;
    report.new = new.len() as u64;
    let held: crate::hash::FastMap<PayerId, PayerRef> = new.iter().map(|r| (r.id, *r)).collect();
    let known: crate::hash::FastSet<PayerId> = old.iter().map(|r| r.id).collect();
    // In payer order, so that the listed ones do not depend on either system's order.
    let mut found: Vec<RegistrationDifference> = Vec::new();
    let mut note = |report: &mut RegistrationsReport, d: RegistrationDifference| {
        match d.problem {
            RegistrationProblem::Missing => report.missing += 1,
            RegistrationProblem::Differs => report.differing += 1,
            _ => report.unknown += 1,
        }
        found.push(d);
    };
    for o in old {
        match held.get(&o.id) {
            None => note(
                &mut report,
                RegistrationDifference {
                    problem: RegistrationProblem::Missing,
                    payer_id: o.id,
                    fields: Vec::new(),
                    old: Some(reg_ref(spec, o)),
                    new: None,
                },
            ),
            Some(n) if n != o => {
                let mut fields = Vec::new();
                if n.group != o.group {
                    fields.push(crate::report::data::cutover::Field::Group);
                }
                if n.league != o.league {
                    fields.push(crate::report::data::cutover::Field::League);
                }
                note(
                    &mut report,
                    RegistrationDifference {
                        problem: RegistrationProblem::Differs,
                        payer_id: o.id,
                        fields,
                        old: Some(reg_ref(spec, o)),
                        new: Some(reg_ref(spec, n)),
                    },
                )
            }
            Some(_) => {}
        }
    }
    for n in new.iter().filter(|n| !known.contains(&n.id)) {
        note(
            &mut report,
            RegistrationDifference {
                problem: RegistrationProblem::Unknown,
                payer_id: n.id,
                fields: Vec::new(),
                old: None,
                new: Some(reg_ref(spec, n)),
            },
        );
    }
    found.sort_by_key(|d| (d.payer_id, d.problem));
    report.differences = Listed { count: found.len() as u64, listed: found.into_iter().take(LISTED).collect() };
    report
}
