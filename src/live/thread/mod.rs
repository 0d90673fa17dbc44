//! A sending thread and its transport: the thread's share of the payers and connections
//! ([`shard`]), its connections driven by its own readiness loop ([`reactor`] with the
//! HTTP/1.1 client of [`http1`] and the [`timer`]) or as futures ([`tasks`] over
//! [`transport`]), what they share ([`lanes`]), the figures it publishes ([`gauge`]), and what
//! it keeps of every answer: the [`auditor`]'s check and the [`journal`]; when each system's
//! maintenance switch went through ([`switchboard`]).

pub(crate) mod auditor;
pub(in crate::live) mod failures;
pub(crate) mod gauge;
mod http1;
pub(crate) mod journal;
pub(crate) mod lanes;
mod reactor;
pub(crate) mod shard;
pub(in crate::live) mod switchboard;
mod tasks;
mod timer;
pub(crate) mod transport;

use super::deployment::target::Target;
use crate::clock::VirtualClock;
use crate::scenario::{Spec, SystemIdx};
use lanes::CallCtx;
use reactor::Lane;
use shard::Conns;
use std::sync::Arc;
use std::time::Duration;
use transport::{Transport, TransportKind};

/// The name of the way requests travel to `target`, for the report.
pub(crate) fn transport_name(target: &Target, kind: TransportKind) -> &'static str {
    match (target, kind) {
        (Target::Model(_), _) => "model",
        (_, TransportKind::Http1) => "http1",
        (_, TransportKind::Hyper) => "hyper-http1",
        (_, TransportKind::Reqwest) => "reqwest",
    }
}

/// `n` connections of one sending thread to `system` of `target`.
pub(in crate::live) fn connections(
    target: &Target,
    n: usize,
    kind: TransportKind,
    clock: VirtualClock,
    shared: &reqwest::Client,
    system: SystemIdx,
) -> Conns {
    match (target, kind) {
        (Target::Http { base, api, .. }, TransportKind::Http1) => {
            Conns::Http1((0..n).map(|_| Lane::new(base, api.clone(), system)).collect())
        }
        (Target::Http { base, api, .. }, TransportKind::Hyper) => {
            Conns::Tasks((0..n).map(|_| Transport::Hyper { base: base.clone(), sender: None, api: api.clone(), system }).collect())
        }
        (Target::Http { base, api, .. }, TransportKind::Reqwest) => Conns::Tasks(
            (0..n).map(|_| Transport::Reqwest { base: base.clone(), client: shared.clone(), api: api.clone(), system }).collect(),
        ),
        (Target::Model(m), _) => Conns::Tasks((0..n).map(|_| Transport::Model { model: m.clone(), clock, system }).collect()),
    }
}

/// The context of every call on `target`'s connections on `clock`; answers are rebased onto
/// it (`rebase`: the target keeps real time) only when they come over the wire.
pub(in crate::live) fn call_ctx(target: &Target, spec: &Arc<Spec>, timeout: Duration, clock: VirtualClock, rebase: bool) -> Arc<CallCtx> {
    Arc::new(CallCtx { spec: spec.clone(), timeout, clock, rebase: rebase && target.is_http() })
}
