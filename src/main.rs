//! The `rdsdiag` binary: parse the command line, call the library, map the outcome to an exit
//! code. All behaviour lives in the library (`rdsdiag::…`) and in `cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    // Panics inside a capture's parsers are caught per capture by the pipeline (and the hook
    // that would print them is silenced in `cli`). This is the backstop for a panic anywhere
    // else: one line on stderr and exit code 2, never 101 without a word.
    match std::panic::catch_unwind(cli::run) {
        Ok(code) => code,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            eprintln!("rdsdiag: internal error ({what}); please report it with the command line");
            std::process::ExitCode::from(2)
        }
    }
}
