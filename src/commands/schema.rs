//! `cutover schema`: the JSON Schema of scenario files, report.json or sweep.json.

use super::Exit;
use crate::cli::SchemaOf;

pub(super) fn schema(of: SchemaOf) -> anyhow::Result<Exit> {
    let schema = match of {
        SchemaOf::Scenario => crate::scenario::schema(),
        SchemaOf::Report => crate::report::schema(),
        SchemaOf::Sweep => crate::sweep::schema(),
    };
    say!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Exit::Ok)
}
