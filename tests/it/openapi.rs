//! The `openapi.json` this build generated (`OUT_DIR`, the same file the committed `generated/openapi.json`
//! copies once the freshness test has run) describes every catalogued endpoint: its operation, token, parameters or body,
//! response schema with errcode/errmsg, components and the official examples. (Its validity as OpenAPI 3.1
//! and the examples against the schemas are checked by independent tools: `scripts/check-openapi.py`.)
use serde_json::Value;
use std::collections::BTreeSet;
use wecom_externalcontact::catalog::{self, HttpMethod, TokenKind};

/// The document generated from this build's spec: never the committed copy, which may lag a spec edit until
/// `codegen/tests/generated_fresh.rs` has refreshed it.
fn document() -> Value {
    serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json"))).unwrap()
}

fn schema<'a>(doc: &'a Value, reference: &Value) -> &'a Value {
    let r = reference["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("not a $ref: {reference}"));
    let name = r.strip_prefix("#/components/schemas/").unwrap();
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "component {name} is missing");
    s
}

#[test]
fn every_catalogued_endpoint_is_an_operation_with_its_schemas_and_examples() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (_, item) in doc["paths"].as_object().unwrap() {
        operations += item.as_object().unwrap().len();
    }
    assert_eq!(
        operations,
        catalog::endpoints().len(),
        "one operation per endpoint, no more"
    );
    for ep in catalog::endpoints() {
        let method = match ep.method {
            HttpMethod::Get => "get",
            _ => "post",
        };
        let op = &doc["paths"][format!("/{}", ep.path)][method];
        assert!(op.is_object(), "{} {} is not in openapi.json", ep.method, ep.path);
        assert_eq!(op["operationId"], ep.name, "{}", ep.path);
        assert_eq!(op["summary"], ep.summary, "{}", ep.path);
        assert_eq!(op["x-wecom-name-zh"], ep.name_zh, "{}", ep.path);
        assert_eq!(op["tags"], serde_json::json!([ep.group]), "{}", ep.path);
        if !ep.doc_url.is_empty() {
            assert_eq!(op["externalDocs"]["url"], ep.doc_url, "{}", ep.path);
        }
        assert_eq!(
            op["deprecated"].as_bool().unwrap_or(false),
            ep.deprecated.is_some(),
            "{}",
            ep.path
        );
        let security = op["security"].as_array().unwrap();
        match ep.token.query_name() {
            Some(key) => {
                assert_eq!(security.len(), 1, "{}", ep.path);
                assert!(security[0].get(key).is_some(), "{} takes {key}", ep.path);
                assert_eq!(doc["components"]["securitySchemes"][key]["in"], "query");
                assert_eq!(doc["components"]["securitySchemes"][key]["name"], key);
            }
            None => assert!(security.is_empty(), "{} takes no token", ep.path),
        }

        // The request: query parameters (GET, uploads), a multipart part (uploads) or a JSON body (POST).
        let example_request: Option<Value> = ep.example_request.map(|s| serde_json::from_str(s).unwrap());
        if let Some(part) = ep.upload {
            let mp = &op["requestBody"]["content"]["multipart/form-data"]["schema"];
            assert_eq!(mp["required"], serde_json::json!([part]), "{}", ep.path);
        } else if ep.method == HttpMethod::Get {
            assert!(op.get("requestBody").is_none(), "{}", ep.path);
            let names: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
                .unwrap_or_default();
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert_eq!(p["in"], "query");
            }
            if let Some(Value::Object(q)) = &example_request {
                for (k, v) in q {
                    assert!(
                        names.contains(k.as_str()),
                        "{}: example key {k} is no parameter",
                        ep.path
                    );
                    let p = op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p["name"] == *k)
                        .unwrap();
                    assert_eq!(&p["example"], v, "{} {k}", ep.path);
                }
            }
        } else {
            let body = &op["requestBody"]["content"]["application/json"];
            let req = schema(&doc, &body["schema"]);
            assert_eq!(req["additionalProperties"], false, "{}: requests are strict", ep.path);
            assert_eq!(body.get("example"), example_request.as_ref(), "{}", ep.path);
            if let Some(Value::Object(ex)) = &example_request {
                for k in ex.keys() {
                    assert!(req["properties"].get(k).is_some(), "{}: request field {k}", ep.path);
                }
            }
        }

        // The response: errcode/errmsg plus the response model, and the official example.
        let resp = &op["responses"]["200"]["content"]["application/json"];
        let all_of = resp["schema"]["allOf"].as_array().unwrap();
        let status = schema(&doc, &all_of[0]);
        assert_eq!(status["required"], serde_json::json!(["errcode", "errmsg"]));
        let model = schema(&doc, &all_of[1]);
        assert_eq!(model["type"], "object");
        let example_response: Option<Value> = ep.example_response.map(|s| serde_json::from_str(s).unwrap());
        assert_eq!(resp.get("example"), example_response.as_ref(), "{}", ep.path);
        if let Some(Value::Object(ex)) = &example_response {
            for k in ex.keys().filter(|k| !["errcode", "errmsg"].contains(&k.as_str())) {
                assert!(model["properties"].get(k).is_some(), "{}: response field {k}", ep.path);
            }
        }
    }
}

#[test]
fn every_reference_resolves_and_enums_carry_their_codes() {
    let doc = document();
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 300, "only {} references", all.len());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r} does not resolve");
    }
    // A shared enum: its codes with names and docs, and an open case for codes WeCom adds.
    let add_way = &doc["components"]["schemas"]["AddWay"];
    assert_eq!(add_way["type"], "integer");
    let cases = add_way["anyOf"].as_array().unwrap();
    assert!(cases
        .iter()
        .any(|c| c["const"] == 1 && c["title"].is_string() && c["description"].is_string()));
    let open = cases.last().unwrap();
    assert!(open.get("const").is_none(), "the last case is open");
    assert_eq!(
        open["type"], "integer",
        "the open case keeps the type (else generators make it `any`)"
    );
    // Tokens other than access_token are described as their own schemes.
    for key in ["access_token", "suite_access_token", "provider_access_token"] {
        assert_eq!(doc["components"]["securitySchemes"][key]["type"], "apiKey");
    }
    let kinds: BTreeSet<_> = catalog::endpoints().iter().map(|e| format!("{:?}", e.token)).collect();
    assert!(
        kinds.contains(&format!("{:?}", TokenKind::None)),
        "gettoken is catalogued"
    );
}

#[test]
fn every_event_is_a_webhook_whose_official_samples_decode_to_it() {
    let doc = document();
    let hooks = doc["webhooks"].as_object().expect("webhooks");
    assert!(hooks.len() >= 29, "{} webhooks", hooks.len());
    let mut samples = 0;
    for (name, item) in hooks {
        let media = &item["post"]["requestBody"]["content"]["application/xml"];
        assert!(media["schema"]["oneOf"].is_array(), "{name}");
        for (envelope, example) in media["examples"].as_object().unwrap() {
            let event = wecom_externalcontact::callback::Event::from_json(&example["value"].to_string())
                .unwrap_or_else(|e| panic!("{name} {envelope}: {e}"));
            let kind = format!("{:?}", event.kind);
            let variant = kind.split([' ', '(', '{']).next().unwrap();
            assert_eq!(variant, name, "{envelope} sample");
            assert_eq!(
                matches!(event.envelope, wecom_externalcontact::callback::Envelope::App { .. }),
                envelope.starts_with("app"),
                "{name}"
            );
            samples += 1;
        }
    }
    assert!(samples >= 50, "{samples} samples");
}
