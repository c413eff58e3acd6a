//! `rdsdiag config <CAPTURE>...`: the effective RDS configuration and host facts of each capture,
//! as a readable table or as JSON (`captures[].settings.<name>`, `captures[].host`).

use std::path::PathBuf;

use clap::Args;

use rdsdiag::pipeline;
use rdsdiag::render;

use super::{finish, show_error, Exit, Format, LimitArgs, Output};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Captures: folders, .zip files or loose files (hives, .reg/reg query text).
    #[arg(required = true, value_name = "CAPTURE")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `verbose` (the global `-v`): show, for each setting a GPO set, every applied GPO's step (the
/// Group Policy chain).
pub fn run_config(args: &ConfigArgs, out: Output, verbose: u8) -> Exit {
    let report = pipeline::config(&args.paths, &args.limits.options());
    for c in &report.captures {
        if let Some(e) = &c.error {
            show_error(e.clone(), Some("check the path".into()));
        }
    }
    let (rendered, for_people) = match args.format {
        Format::Json => (render::json::pretty(&report), false),
        Format::Text => (
            Ok(render::config::render_report_with(
                &report,
                render::config::RenderOptions {
                    evidence: true,
                    chain: verbose > 0,
                },
            )),
            true,
        ),
    };
    finish(out.write(rendered, for_people), report.status())
}
