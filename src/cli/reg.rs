//! `rdsdiag reg <CAPTURE> <KEY> [<VALUE>] [--recurse]`: `reg query` over offline evidence, in text
//! (looks like `reg query`) or JSON, whichever form (hive, `.reg`, `reg query` text) it came in.

use std::path::PathBuf;

use clap::Args;

use rdsdiag::pipeline;
use rdsdiag::render;

use super::{finish, show_error, show_failure, Exit, Format, LimitArgs, Output};

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

pub fn run_reg(args: &RegArgs, out: Output) -> Exit {
    let q = pipeline::RegQuery {
        key: args.key.clone(),
        value: args.value.clone(),
        recurse: args.recurse,
    };
    let report = match pipeline::reg(&args.capture, &q, &args.limits.options()) {
        Ok(r) => r,
        Err(pipeline::RegError::Capture(f)) => {
            show_failure(&f);
            return Exit::InputError;
        }
        Err(pipeline::RegError::Key(e)) => {
            show_error(
                e.to_string(),
                Some("keys start with HKLM\\SYSTEM, HKLM\\SOFTWARE, HKCU or HKU\\<SID>".into()),
            );
            return Exit::InputError;
        }
    };
    let (rendered, for_people) = match args.format {
        Format::Json => (render::json::pretty(&report), false),
        Format::Text => {
            let host = if out.text.tz.is_host() {
                pipeline::host_time_zone(&args.capture, &args.limits.options()).ok()
            } else {
                None
            };
            let tz = out.zone(host.as_ref());
            (Ok(render::reg::render_text_with(&report.answer, &tz)), true)
        }
    };
    let written = out.write(rendered, for_people);
    out.note(&render::notes::warnings(
        report
            .inputs
            .iter()
            .filter(|i| i.kind.is_registry())
            .map(|i| (i.path.as_str(), i.problems.as_slice())),
    ));
    finish(written, report.status())
}
