//! `rdsdiag config <CAPTURE>...`: the effective RDS configuration and host facts of each capture,
//! as a readable table or as JSON (`captures[].settings.<name>`, `captures[].host`).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use rdsdiag::config::{self, render::render_text, Settings};
use rdsdiag::evidence::ProblemSeverity;
use rdsdiag::host::facts::host_facts;
use rdsdiag::host::HostIdentity;
use rdsdiag::registry::RegistryView;
use rdsdiag::report::HostReport;

use super::{show_error, write_stdout, Exit, Format, LimitArgs};

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

#[derive(Debug, Serialize)]
struct CaptureConfig {
    path: PathBuf,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<HostReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<Settings>,
}

#[derive(Debug, Serialize)]
struct ConfigReport {
    schema_version: u32,
    captures: Vec<CaptureConfig>,
}

pub fn run_config(args: &ConfigArgs, quiet: bool) -> Exit {
    let opts = args.limits.capture_options();
    let mut exit = Exit::Clean;
    let mut captures = Vec::new();
    for path in &args.paths {
        let mut capture = match rdsdiag::capture::open(path, &opts) {
            Ok(c) => c,
            Err(e) => {
                show_error(e.to_string(), Some("check the path".into()));
                exit = Exit::InputError;
                captures.push(CaptureConfig {
                    path: path.clone(),
                    status: "failed",
                    error: Some(e.to_string()),
                    host: None,
                    settings: None,
                });
                continue;
            }
        };
        let view = RegistryView::load(&capture.inputs).apply_to(&mut capture.inputs);
        let damaged = capture
            .inputs
            .iter()
            .flat_map(|i| &i.problems)
            .any(|p| p.severity >= ProblemSeverity::Warning);
        if damaged && exit == Exit::Clean {
            exit = Exit::Problems;
        }
        captures.push(CaptureConfig {
            path: path.clone(),
            status: "analysed",
            error: None,
            host: Some(HostReport {
                identity: HostIdentity::read(&view),
                facts: host_facts(&view),
            }),
            settings: Some(config::resolve(&view)),
        });
    }
    let report = ConfigReport {
        schema_version: 1,
        captures,
    };
    let rendered = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)
            .map(|s| s + "\n")
            .unwrap_or_default(),
        Format::Text => render(&report),
    };
    if !quiet || args.format == Format::Json {
        write_stdout(&rendered);
    }
    exit
}

fn render(report: &ConfigReport) -> String {
    let mut out = String::new();
    for (i, c) in report.captures.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("Capture: {}\n", c.path.display()));
        if let Some(e) = &c.error {
            out.push_str(&format!("  failed: {e}\n"));
            continue;
        }
        if let Some(h) = &c.host {
            out.push_str(&format!(
                "Computer name:            {}\n",
                h.identity.computer_name.display()
            ));
            out.push_str(&h.facts.render_text());
        }
        if let Some(s) = &c.settings {
            out.push('\n');
            out.push_str(&render_text(s));
        }
    }
    out
}
