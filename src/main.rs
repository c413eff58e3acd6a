//! The `rdsdiag` binary: parse the command line, call the library, map the outcome to an exit
//! code. All behaviour lives in the library (`rdsdiag::…`) and in `cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
