//! The contract's admin bodies for a system's books: its payments and assessments as the
//! paged export writes them (`GET /v1/admin/export/...`), and a migration's batch
//! (`POST /v1/admin/import`), with the conversions to and from the model's rows.

use super::*;

/// One payment in a system's export (`GET /v1/admin/export/payments`) and in a migration's
/// import (`POST /v1/admin/import`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentExportWire {
    pub payment_id: u64,
    pub key: String,
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub items_fen: ItemsWire,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_months: Option<u16>,
    pub accepted_at: String,
    pub visible_at: String,
    /// The old system's id of a migrated payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_payment_id: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssessmentExportWire {
    pub assessment_id: u64,
    pub payer_id: u32,
    pub total_fen: i64,
    pub used: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_assessment_id: Option<u64>,
}

/// One registration in a system's export (`GET /v1/admin/export/registrations`) and in a
/// migration's import: a payer the system holds, with its group and league.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationExportWire {
    /// Its place in the export (from 1): the `after` of the next page. Ignored on import.
    #[serde(default)]
    pub position: u64,
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
}

/// A page of an export: the entries after the `after` asked for, and the `after` of the
/// next page (`null` at the end).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PaymentsPage {
    pub payments: Vec<PaymentExportWire>,
    pub next_after: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AssessmentsPage {
    pub assessments: Vec<AssessmentExportWire>,
    pub next_after: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RegistrationsPage {
    pub registrations: Vec<RegistrationExportWire>,
    pub next_after: Option<u64>,
}

/// `POST /v1/admin/import`: one batch of a migration, taken in once per `batch` key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBody {
    pub batch: String,
    #[serde(default)]
    pub payments: Vec<PaymentExportWire>,
    #[serde(default)]
    pub assessments: Vec<AssessmentExportWire>,
    #[serde(default)]
    pub registrations: Vec<RegistrationExportWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ImportAnswerWire {
    pub batch: String,
    pub payments_written: u64,
    pub assessments_written: u64,
    /// Registrations written (a payer registered already is not written again).
    #[serde(default)]
    pub registrations_written: u64,
    /// The batch was taken in before: nothing was written again.
    pub replayed: bool,
}

/// A payment of the export as the contract writes it.
pub(crate) fn payment_to_export(spec: &Spec, r: &crate::model::PaymentRow) -> PaymentExportWire {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    PaymentExportWire {
        payment_id: r.payment,
        key: r.key.to_text(),
        payer_id: r.payer.id,
        group: r.payer.group,
        league: league_str(spec, r.payer.league).to_string(),
        channel: channel_str(spec, r.channel).to_string(),
        items_fen: items_to_wire(&r.items),
        period: (r.period.months > 0).then(|| r.period.first_text()),
        period_months: (r.period.months > 0).then_some(r.period.months),
        accepted_at: fmt(r.accepted_at),
        visible_at: fmt(r.visible_at),
        origin_payment_id: r.origin,
    }
}

/// A payment of an export read back; `Err` names the field that does not fit the scenario.
pub(crate) fn payment_from_export(spec: &Spec, w: &PaymentExportWire) -> Result<crate::model::PaymentRow, String> {
    let payer = payer_ref(spec, w.payer_id, w.group, &w.league)?;
    let channel = channel_index(spec, &w.channel)?;
    let period = match &w.period {
        None => Period::UNKNOWN,
        Some(p) => Period::parse(p, w.period_months.unwrap_or(1))
            .ok_or_else(|| format!("payment {}: period {p:?} is not YYYY-MM", w.payment_id))?,
    };
    let instant =
        |name: &str, s: &str| parse_instant(s).ok_or_else(|| format!("payment {}: {name} is not an RFC 3339 instant: {s:?}", w.payment_id));
    Ok(crate::model::PaymentRow {
        payment: w.payment_id,
        key: IdemKey::from_text(&w.key),
        payer,
        channel,
        items: items_from_wire(&w.items_fen),
        period,
        accepted_at: instant("accepted_at", &w.accepted_at)?,
        visible_at: instant("visible_at", &w.visible_at)?,
        origin: w.origin_payment_id,
    })
}

pub(crate) fn assessment_to_export(a: &crate::model::AssessmentRow) -> AssessmentExportWire {
    AssessmentExportWire {
        assessment_id: a.assessment,
        payer_id: a.payer,
        total_fen: a.total_fen,
        used: a.used,
        origin_assessment_id: a.origin,
    }
}

pub(crate) fn assessment_from_export(w: &AssessmentExportWire) -> crate::model::AssessmentRow {
    crate::model::AssessmentRow {
        assessment: w.assessment_id,
        payer: w.payer_id,
        total_fen: w.total_fen,
        used: w.used,
        origin: w.origin_assessment_id,
    }
}

/// A registration as the export writes it, at `position` (from 1).
pub(crate) fn registration_to_export(spec: &Spec, position: u64, r: &PayerRef) -> RegistrationExportWire {
    RegistrationExportWire { position, payer_id: r.id, group: r.group, league: league_str(spec, r.league).to_string() }
}

/// A registration of an export read back; `Err` names what does not fit the scenario.
pub(crate) fn registration_from_export(spec: &Spec, w: &RegistrationExportWire) -> Result<PayerRef, String> {
    payer_ref(spec, w.payer_id, w.group, &w.league).map_err(|e| format!("payer {}: {e}", w.payer_id))
}

/// `POST /v1/admin/maintenance`: the operators' maintenance switch: exactly these channels
/// (the scenario's ids) refuse as suspended, every other takes requests as the rules say.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaintenanceBody {
    pub closed_channels: Vec<String>,
}

/// `POST /v1/admin/rollback`: a conditional rollback's decision, told by the run: payment
/// suspended again from `suspended_from` through the rollback's phase (`null`: no rollback,
/// the phase keeps the channels open).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    pub suspended_from: Option<String>,
}
