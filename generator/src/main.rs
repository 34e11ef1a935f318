use clap::Parser;

/// mimalloc: rendering allocates and frees many small strings and maps on several threads,
/// where it is markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = hubdr::cli::Cli::parse();
    hubdr::commands::set_verbosity(cli.verbose);
    let started = std::time::Instant::now();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    // -q: warnings, notes and progress go nowhere; the error below is still printed.
    let mut quiet = std::io::sink();
    let notes: &mut dyn std::io::Write = if cli.quiet { &mut quiet } else { &mut err };
    let result = hubdr::commands::run(&cli.command, &mut out, notes);
    use std::io::Write;
    if cli.verbose > 0 {
        let _ = writeln!(err, "hubdr: took {:.2} s", started.elapsed().as_secs_f64());
    }
    if let Err(e) = result {
        let message = e.to_string();
        if !message.is_empty() {
            let _ = writeln!(err, "{message}");
        }
        std::process::exit(e.exit_code());
    }
}
