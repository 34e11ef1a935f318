use std::process::ExitCode;

use clap::Parser;
use hubdr_agent::cli::AgentArgs;

fn main() -> ExitCode {
    // `hubdr-agent export-status ...`: pack a disconnected site's status for the trip back.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "export-status")
    {
        return hubdr_agent::offline::main(std::env::args_os().skip(1));
    }
    // `hubdr-agent help export-status`, as `git help <command>` does.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() == 3 && args[1] == "help" && args[2] == "export-status" {
        return hubdr_agent::offline::main(["export-status".into(), "--help".into()]);
    }
    let args = AgentArgs::parse();
    hubdr_agent::logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(hubdr_agent::start::run(args))
}
