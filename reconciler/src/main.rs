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
