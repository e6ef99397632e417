//! Calls a typed method of the packaged crate against its embedded stand-in and checks the answer is the
//! official example the stand-in serves. Run by `scripts/check-package.sh`; exits non-zero on any mismatch.
//!
//! It also checks what depending on the crate does to a user's build: serde_json keeps its default (sorted)
//! `Value` maps, as the crate does not turn on `preserve_order`, and a GET call still sends its query
//! parameters in the order the request declares them. (Inside the workspace, dev-dependencies turn that
//! feature on, so only a crate like this one sees the default.)
use wecom_externalcontact::catalog;
use wecom_externalcontact::models::{GetFollowUserListRequest, GetRequest};
use wecom_externalcontact::standin::StandIn;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let standin = StandIn::start().await?;
    let client = standin.client();
    let reply = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;

    let path = "externalcontact/get_follow_user_list";
    let example = catalog::endpoint(path)
        .and_then(|ep| ep.example_response)
        .ok_or("the catalog has no example response for get_follow_user_list")?;
    let expected: serde_json::Value = serde_json::from_str(example)?;
    let got = serde_json::to_value(&reply)?;
    if got["follow_user"] != expected["follow_user"] || !got["follow_user"].is_array() {
        return Err(format!(
            "{path}: got {got}, expected the example's follow_user {}",
            expected["follow_user"]
        )
        .into());
    }

    let written: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":2}"#)?;
    if written.to_string() != r#"{"a":2,"b":1}"# {
        return Err(format!("serde_json's preserve_order is on in a user's build: {written}").into());
    }
    client.get(&GetRequest::new("wmCONSUMER").cursor("c1")).await?;
    let sent = standin.requests().pop().ok_or("the stand-in recorded no request")?;
    let want = [("external_userid", "wmCONSUMER"), ("cursor", "c1")];
    if sent.path != "externalcontact/get" || sent.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).ne(want) {
        return Err(format!("externalcontact/get sent {} {:?}, expected the query {want:?}", sent.path, sent.query).into());
    }

    println!(
        "consumer ok: {path} over the stand-in at {} returned {}",
        standin.base_url(),
        got["follow_user"]
    );
    Ok(())
}
