//! `speccheck <spec dir>`: validates the spec and prints every mistake (exit 1), or a summary (exit 0).
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "spec".into());
    match wecom_externalcontact_codegen::read_dir(std::path::Path::new(&dir), "spec/")
        .and_then(wecom_externalcontact_codegen::model_from_sources)
    {
        Ok(api) => {
            let eps: usize = api.groups.iter().map(|g| g.endpoints.len()).sum();
            let types: usize = api.groups.iter().map(|g| g.structs.len()).sum();
            let enums: usize = api.groups.iter().map(|g| g.enums.len()).sum();
            println!(
                "spec ok: {} files, {eps} endpoints, {types} types, {enums} enums",
                api.groups.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
    }
}
