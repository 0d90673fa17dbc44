//! Tests of the scenario's checks.

use super::*;

#[test]
fn pointers_become_field_paths() {
    assert_eq!(pointer_to_path("/timeline/phases/2/start"), "timeline.phases[2].start");
    assert_eq!(pointer_to_path(""), "");
    assert_eq!(pointer_to_path("/a~1b"), "a/b");
}

#[test]
fn closest_name_is_suggested() {
    let set: BTreeSet<String> = ["read_notice_share", "pay_early_share"].iter().map(|s| s.to_string()).collect();
    assert_eq!(closest("read_notise_share", &set).as_deref(), Some("read_notice_share"));
    assert_eq!(closest("completely_else_entirely", &set), None);
}

#[test]
fn hours_parse() {
    assert_eq!(parse_hhmm("08:30"), Some((8 * 60 + 30) * 60 * 1_000_000));
    assert_eq!(parse_hhmm("24:00"), Some(24 * 3600 * 1_000_000));
    assert_eq!(parse_hhmm("24:01"), None);
    assert_eq!(parse_hhmm("8h"), None);
}
