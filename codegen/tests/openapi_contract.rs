//! What `openapi.json` promises other languages, checked against the spec it is made from: the spec's
//! `required` (not the Rust decoder's leniency) and a webhook per callback event with its official samples.
use wecom_externalcontact_codegen::{event_sample_elements, model_from_sources, openapi_document, read_dir};

mod support;

fn api() -> wecom_externalcontact_codegen::model::Api {
    let spec = support::package_dir().join("../spec");
    model_from_sources(read_dir(&spec, "spec").unwrap()).unwrap()
}

#[test]
fn every_field_the_spec_marks_required_is_required_in_the_document() {
    let api = api();
    let doc = openapi_document(&api, "0");
    let mut checked = 0;
    for s in api.groups.iter().flat_map(|g| g.structs.iter()) {
        let schema = &doc["components"]["schemas"][&s.name];
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        for f in &s.fields {
            assert_eq!(required.contains(&f.wire.as_str()), f.required, "{}.{}", s.name, f.wire);
            checked += usize::from(f.required);
        }
    }
    assert!(checked > 300, "{checked} required fields");
    // The case that started it: a list the decoder would default is still required on the wire.
    let follow = &doc["components"]["schemas"]["CustomerWithFollowInfo"]["required"];
    assert!(
        follow.as_array().unwrap().iter().any(|v| v == "follow_info"),
        "{follow}"
    );
}

#[test]
fn every_event_is_a_webhook_with_its_envelopes_and_official_samples() {
    let api = api();
    let doc = openapi_document(&api, "0");
    let hooks = doc["webhooks"].as_object().unwrap();
    assert_eq!(hooks.len(), api.events.len());
    for ev in &api.events {
        let op = &hooks[&ev.name]["post"];
        let media = &op["requestBody"]["content"]["application/xml"];
        let branches = media["schema"]["oneOf"].as_array().unwrap();
        // Events with a ChangeType come in both envelopes; the suite's own (指令回调) in the suite's only.
        let envelopes: Vec<&str> = branches
            .iter()
            .map(|b| b["allOf"][0]["$ref"].as_str().unwrap())
            .collect();
        if ev.change_type.is_empty() {
            assert_eq!(envelopes, ["#/components/schemas/CallbackSuiteEnvelope"], "{}", ev.name);
        } else {
            assert_eq!(
                envelopes,
                [
                    "#/components/schemas/CallbackAppEnvelope",
                    "#/components/schemas/CallbackSuiteEnvelope"
                ],
                "{}",
                ev.name
            );
        }
        let fields = &doc["components"]["schemas"][format!("Callback{}", ev.name)];
        for f in &ev.fields {
            assert!(fields["properties"].get(&f.wire).is_some(), "{}.{}", ev.name, f.wire);
        }
        let examples = media["examples"].as_object().unwrap();
        let samples = event_sample_elements(ev);
        assert!(!examples.is_empty(), "{} has no sample", ev.name);
        assert_eq!(examples.len(), samples.len(), "{}: every pinned sample", ev.name);
        for (env, sample) in &samples {
            let sample = serde_json::Value::Object(sample.clone());
            assert!(examples.values().any(|x| x["value"] == sample), "{} {env}", ev.name);
        }
    }
}
