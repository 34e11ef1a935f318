use clap::Parser;

/// mimalloc: rendering allocates and frees many small strings and maps on several threads,
/// where it is markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = hubdr::cli::Cli::parse();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    if let Err(e) = hubdr::commands::run(&cli.command, &mut out, &mut err) {
        use std::io::Write;
        let _ = writeln!(err, "{e}");
        std::process::exit(e.exit_code());
    }
}
