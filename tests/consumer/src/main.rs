//! Calls a typed method of the packaged crate against its embedded stand-in and checks the answer is the
//! official example the stand-in serves. Run by `scripts/check-package.sh`; exits non-zero on any mismatch.
use wecom_externalcontact::catalog;
use wecom_externalcontact::models::GetFollowUserListRequest;
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
    println!(
        "consumer ok: {path} over the stand-in at {} returned {}",
        standin.base_url(),
        got["follow_user"]
    );
    Ok(())
}
