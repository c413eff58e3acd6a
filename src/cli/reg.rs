//! `rdsdiag reg <CAPTURE> <KEY> [<VALUE>] [--recurse]`: `reg query` over offline evidence, in text
//! (looks like `reg query`) or JSON, whichever form (hive, `.reg`, `reg query` text) it came in.

use std::path::PathBuf;

use clap::Args;

use rdsdiag::evidence::{InputKind, ProblemSeverity};
use rdsdiag::registry::query::{self, QueryState};
use rdsdiag::registry::RegistryView;

use super::{show_error, write_stdout, Exit, Format, LimitArgs};

#[derive(Debug, Args)]
pub struct RegArgs {
    /// A capture: folder, .zip file or loose hive / .reg / reg query file.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// Key, e.g. "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server" (HKLM, HKCU, SYSTEM\…,
    /// CCS for CurrentControlSet, and / as separator are accepted).
    #[arg(value_name = "KEY")]
    pub key: String,
    /// Only this value ("(Default)" or "@" for the unnamed value).
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
    /// Include every key below KEY (like reg query /s).
    #[arg(short = 's', long)]
    pub recurse: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run_reg(args: &RegArgs, quiet: bool) -> Exit {
    let mut capture = match rdsdiag::capture::open(&args.capture, &args.limits.capture_options()) {
        Ok(c) => c,
        Err(e) => {
            show_error(e.to_string(), Some("check the path".into()));
            return Exit::InputError;
        }
    };
    let view = RegistryView::load(&capture.inputs).apply_to(&mut capture.inputs);
    let result = match query::run(&view, &args.key, args.value.as_deref(), args.recurse) {
        Ok(r) => r,
        Err(e) => {
            show_error(
                e.to_string(),
                Some("keys start with HKLM\\SYSTEM, HKLM\\SOFTWARE, HKCU or HKU\\<SID>".into()),
            );
            return Exit::InputError;
        }
    };
    let rendered = match args.format {
        Format::Json => serde_json::to_string_pretty(&result)
            .map(|s| s + "\n")
            .unwrap_or_default(),
        Format::Text => query::render_text(&result),
    };
    write_stdout(&rendered);
    let registry = [
        InputKind::Hive,
        InputKind::HiveLog,
        InputKind::RegExport,
        InputKind::RegQuery,
    ];
    let mut damaged = false;
    for i in capture.inputs.iter().filter(|i| registry.contains(&i.kind)) {
        for p in i
            .problems
            .iter()
            .filter(|p| p.severity >= ProblemSeverity::Warning)
        {
            damaged = true;
            if !quiet {
                eprintln!("warning: {}: {} [{}]", i.path, p.message, p.code);
            }
        }
    }
    match result.state {
        QueryState::Found if !damaged => Exit::Clean,
        _ => Exit::Problems,
    }
}
