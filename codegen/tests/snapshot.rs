//! The fixture spec's output is snapshotted in `tests/snapshots/`; a difference rewrites the snapshot (and
//! fails under CI: see `fresh::ensure_dir_contents`); review the diff after an intended change. The main crate compiles the
//! fixture's group file in its own tests (`fixture_compiles` in `src/lib.rs`), so the snapshot must compile.
use wecom_externalcontact_codegen::{ensure_dir_contents, generate_dir};

mod support;

#[test]
fn fixture_output_matches_the_snapshot() {
    let here = support::package_dir().join("tests");
    let out = generate_dir(&here.join("fixtures/spec")).unwrap_or_else(|e| panic!("{e}"));
    ensure_dir_contents(&here.join("snapshots"), &out, true);
}

#[test]
fn fixture_uses_every_construct() {
    let here = support::package_dir().join("tests");
    let out = generate_dir(&here.join("fixtures/spec")).unwrap();
    let fixture = &out.files.iter().find(|(n, _)| n == "fixture.rs").unwrap().1;
    for needle in [
        "pub r#type: FixtureKind",
        "rename = \"ExternalUserID\"",
        "pub external_user_id: Option<String>",
        "deserialize_with = \"crate::flex::opt_int\"",
        "pub grid: Vec<Vec<u32>>",
        "pub createtime: Option<crate::time::UnixTime>",
        "pub extra: Option<::serde_json::Value>",
        "pub struct WidgetSize",
        "Unrecognized(i64)",
        "Unrecognized(String)",
        "\"dark-blue\" => Self::DarkBlue",
        "impl crate::paging::CursorPaged for FixtureWidgetListRequest",
        "crate::paging::split_list(self, 2, |request|",
        "impl crate::paging::OffsetPaged for FixtureWidgetStatRequest",
        "#[deprecated(note = \"use fixture/widget/list instead\")]",
        "token: crate::catalog::TokenKind::Suite",
        "method: crate::catalog::HttpMethod::Get",
        "self.execute_upload(&EP_FIXTURE_UPLOAD, request, file)",
        "#[serde(deny_unknown_fields)]",
        "Official docs: <https://developer.work.weixin.qq.com/document/path/1>",
        "#[doc(alias = \"fixture/widget/list\")]",
        "impl ::std::str::FromStr for FixtureKind",
        "impl ::std::fmt::Display for FixtureColor",
        "pub widgets: Vec<Widget>,",
        "pub share_ticket: Option<crate::secret::Secret>",
        "one_at_a_time_per: Some(\"widget_id\")",
        "Calls with the same `widget_id` run one at a time",
        "rate_limit: Some(crate::catalog::RateBudget {\n        per_minute: 5,\n        per_hour: 60,",
        "rate_limit: Some(crate::catalog::RateBudget {\n        per_minute: 100,\n        per_hour: 1500,",
        "WeCom documents a stricter limit for it, 5 calls a minute and 60 an hour per corp",
    ] {
        assert!(fixture.contains(needle), "the fixture output lacks `{needle}`");
    }
    let catalog = &out.files.iter().find(|(n, _)| n == "catalog.rs").unwrap().1;
    assert!(
        catalog.contains(r#"SECRET_FIELDS: &[&str] = &["share_ticket"]"#),
        "the catalog lists the secret fields: {catalog}"
    );
    assert!(
        catalog.contains(
            "per_provider_ip: crate::catalog::RateBudget {\n        per_minute: 400,\n        per_hour: 12000,"
        ),
        "the catalog states the spec's limits: {catalog}"
    );
    assert_eq!(
        fixture.matches("impl crate::Client {").count(),
        1,
        "one impl block per group"
    );
    assert!(!fixture.contains("impl Default for FixtureWidgetGetRequest") && !fixture.contains("usize,"));
    // Gated groups put their items behind their feature; this one is not gated.
    assert!(!fixture.lines().any(|l| l.trim_start().starts_with("#[cfg(feature")));
    // Every stream method has a runnable example (a doctest on the stand-in).
    assert_eq!(
        fixture.matches("    /// # Example").count(),
        fixture.matches("pub fn fixture_widget_").count(),
        "an example on each stream method: {fixture}"
    );
}
