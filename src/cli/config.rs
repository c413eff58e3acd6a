//! `rdsdiag config <CAPTURE>...`: the effective RDS configuration and host facts of each capture,
//! as a readable table or as JSON (`captures[].settings.<name>`, `captures[].host`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use rdsdiag::pipeline;
use rdsdiag::render;

use super::{finish, show_capture_error, Exit, LimitArgs, Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Text,
    Json,
    /// One row per setting of every capture (docs/csv.md).
    Csv,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Captures: folders, .zip files or loose files (hives, .reg/reg query text).
    #[arg(required = true, value_name = "CAPTURE")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Text)]
    pub format: ConfigFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The global `-v` shows source tags and, for each setting a GPO set, every applied GPO's step (the
/// Group Policy chain).
pub fn run_config(args: &ConfigArgs, out: Output) -> Exit {
    let report = pipeline::config(&args.paths, &args.limits.options());
    for c in &report.captures {
        if let Some(e) = &c.error {
            show_capture_error(e, c.error_kind);
        }
    }
    let (rendered, for_people) = match args.format {
        ConfigFormat::Json => (render::json::pretty(&report), false),
        ConfigFormat::Csv => (render::csv::config(&report), false),
        ConfigFormat::Text => {
            let ro = render::config::RenderOptions {
                width: out.list_width(),
                source_tags: out.text.verbose > 0,
                chain: out.text.verbose > 0,
                ..Default::default()
            };
            (Ok(render::config::render_report_with(&report, ro)), true)
        }
    };
    finish(out.write(rendered, for_people), report.status())
}
