//! What a durable host keeps of the model: the decisions that changed its state, and putting
//! them back as they were decided ([`Decision`]).

use super::*;

/// What a state-changing answer decided, as a durable host keeps it: enough to put the
/// model back in the same state without deciding anything again, whatever the rules (or
/// the build) are at the restart.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "decided", rename_all = "snake_case")]
pub(crate) enum Decision {
    Assessed {
        assessment: u64,
        payer: PayerId,
        total_fen: i64,
    },
    Paid {
        payment: u64,
        key: IdemKey,
        payer: PayerRef,
        items: Items,
        fingerprint: u64,
        visible_at_micros: i64,
        assessment: Option<u64>,
        // Kept since the cutover rehearsal; a log written before has none of them.
        #[serde(default)]
        channel: ChannelIdx,
        #[serde(default)]
        period: Period,
        #[serde(default)]
        accepted_at_micros: i64,
    },
    Certified {
        certificate: u64,
    },
    /// A conditional rollback decided by the run: payment suspended again from this instant
    /// through the rollback's phase (`None`: no rollback).
    RolledBack {
        from_micros: Option<i64>,
    },
    /// The maintenance switch set by the deployment's operators: these channels closed (by
    /// index), every other open.
    Maintenance {
        closed: Vec<ChannelIdx>,
    },
    /// A batch of a migration taken in (once per batch key).
    Imported {
        batch: String,
        payments: Vec<PaymentRow>,
        assessments: Vec<AssessmentRow>,
        // Kept since registrations are migrated; a log written before has none.
        #[serde(default)]
        registrations: Vec<PayerRef>,
    },
}

/// What taking in a migration batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ImportAnswer {
    pub payments: u64,
    pub assessments: u64,
    /// Registrations written (a payer registered here already is not written again).
    pub registrations: u64,
    /// The batch key was seen before: nothing was written again.
    pub replayed: bool,
}

/// Why a decision cannot be restored into this model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("{what} {id} comes out of order (the next is {expected})")]
    OutOfOrder { what: &'static str, id: u64, expected: u64 },
    #[error("payment {payment} is in league {league}, which this scenario does not have ({leagues} leagues)")]
    UnknownLeague { payment: u64, league: u8, leagues: usize },
    #[error("the registration of payer {payer} is in league {league}, which this scenario does not have ({leagues} leagues)")]
    UnknownRegistrationLeague { payer: PayerId, league: u8, leagues: usize },
    #[error("payment {payment} repeats idempotency key {key}")]
    DuplicateKey { payment: u64, key: String },
}

impl Model {
    /// What answering `req` with `resp` decided, if it changed the state (see
    /// a durable host keeps it); call right after [`Model::handle`] gave `resp`.
    pub(crate) fn decision(&self, req: &Request, resp: &Response) -> Option<Decision> {
        match (req, resp) {
            (Request::Assess { payer, .. }, Response::Assessed { assessment }) => {
                let a = self.assessments.get(self.own_index(assessment)?)?;
                Some(Decision::Assessed { assessment: assessment.num()?, payer: payer.id, total_fen: a.total_fen })
            }
            (Request::Pay { key, payer, assessment, .. }, Response::Accepted { payment, replayed: false }) => {
                let r = self.payments.get(self.own_index(payment)?)?;
                Some(Decision::Paid {
                    payment: payment.num()?,
                    key: *key,
                    payer: *payer,
                    items: *self.payments.items(r),
                    fingerprint: r.fingerprint,
                    visible_at_micros: r.visible_at.0,
                    assessment: assessment.as_ref().map(|a| a.num().unwrap_or(u64::MAX)),
                    channel: r.channel,
                    period: r.period,
                    accepted_at_micros: r.accepted_at.0,
                })
            }
            (Request::Certificate { .. }, Response::Certificate { certificate }) => {
                Some(Decision::Certified { certificate: certificate.num()?.saturating_sub(self.policy.id_base) })
            }
            _ => None,
        }
    }

    /// Put a decision back, as it was decided: no rule is applied again. Decisions come in
    /// the order they were made.
    pub(crate) fn restore(&mut self, d: &Decision) -> Result<(), RestoreError> {
        match d {
            Decision::Assessed { assessment, payer, total_fen } => {
                let expected = self.id_of(self.assessments.len());
                if *assessment != expected {
                    return Err(RestoreError::OutOfOrder { what: "assessment", id: *assessment, expected });
                }
                self.assessments.push(Assessment { payer: *payer, total_fen: *total_fen, used: false, origin: 0 });
            }
            Decision::Paid {
                payment,
                key,
                payer,
                items,
                fingerprint,
                visible_at_micros,
                assessment,
                channel,
                period,
                accepted_at_micros,
            } => {
                let expected = self.id_of(self.payments.len());
                if *payment != expected {
                    return Err(RestoreError::OutOfOrder { what: "payment", id: *payment, expected });
                }
                if payer.league as usize >= self.leagues {
                    return Err(RestoreError::UnknownLeague { payment: *payment, league: payer.league, leagues: self.leagues });
                }
                if self.payments.by_key(key).is_some() {
                    return Err(RestoreError::DuplicateKey { payment: *payment, key: key.to_text() });
                }
                let quoted = assessment.map(TargetId::Num);
                if let Some(i) = quoted.as_ref().and_then(|a| self.assessment_index(a))
                    && let Some(a) = self.assessments.get_mut(i)
                {
                    a.used = true;
                }
                self.payments.push(
                    PaymentRecord {
                        payer: *payer,
                        channel: *channel,
                        period: *period,
                        key: *key,
                        accepted_at: SimTime(*accepted_at_micros),
                        visible_at: SimTime(*visible_at_micros),
                        previous: 0,
                        extra: 0,
                        fingerprint: *fingerprint,
                        items: *items,
                    },
                    0,
                );
                self.book(*payer, items, false);
            }
            Decision::Certified { certificate } => self.certificates = self.certificates.max(*certificate),
            Decision::RolledBack { from_micros } => self.rules.decide_rollback(from_micros.map(SimTime)),
            Decision::Maintenance { closed } => {
                let mut flags = vec![false; self.rules.channels()];
                for c in closed {
                    if let Some(f) = flags.get_mut(*c as usize) {
                        *f = true;
                    }
                }
                self.rules.set_maintenance(&flags);
            }
            Decision::Imported { batch, payments, assessments, registrations } => {
                self.import_batch(batch, payments, assessments, registrations)?;
            }
        }
        Ok(())
    }
}
