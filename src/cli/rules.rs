//! `rdsdiag rules` and `rdsdiag explain <ID>`: the rule registry and each rule's page, from the
//! same text as `docs/rules/` and the remedy in findings (touches no capture); and
//! `rdsdiag explain <SETTING> <CAPTURE>...`: how a setting of each capture was resolved.

use clap::{Args, ValueEnum};

use rdsdiag::pipeline;
use rdsdiag::render;
use rdsdiag::report::RunStatus;

use super::{finish, show_error, write_stdout, Exit, Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
    Md,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id, e.g. RDS-LIC-NO-SERVER (case-insensitive); or, with captures, a setting
    /// (`licensing_mode`, `max_idle_time`, …; `rdsdiag config` lists them).
    pub id: String,
    /// Captures: explain how the setting was resolved in each — every source with the winner
    /// and what it shadowed, the evidence, and the Group Policy chain (which GPO set it, which
    /// it beat, gpresult and user policy).
    #[arg(value_name = "CAPTURE")]
    pub paths: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub limits: super::LimitArgs,
}

pub fn run_rules(args: &RulesArgs) -> Exit {
    let rows = pipeline::rules();
    let rendered = match args.format {
        RulesFormat::Json => render::json::pretty(&rows),
        RulesFormat::Md => Ok(render::rules::markdown(&rows)),
        RulesFormat::Text => Ok(render::rules::text(&rows)),
    };
    let out = Output {
        text: Default::default(),
        quiet: false,
        list_width: 0,
    };
    let written = out.write(rendered, false);
    finish(written, RunStatus::Clean)
}

pub fn run_explain(args: &ExplainArgs, out: &Output) -> Exit {
    if !args.paths.is_empty() {
        return explain_setting(args, out);
    }
    match pipeline::explain(&args.id) {
        Ok(meta) => {
            write_stdout(&render::rules::explain_text(meta.doc, out.list_width()));
            Exit::Clean
        }
        Err(known) => {
            show_error(
                format!("no rule {:?}", args.id),
                Some(format!("known rules: {}", known.join(", "))),
            );
            Exit::InputError
        }
    }
}

/// `explain <SETTING> <CAPTURE>...`.
fn explain_setting(args: &ExplainArgs, out: &Output) -> Exit {
    let cat = rdsdiag::catalog::settings::catalog();
    let name = args.id.trim().to_ascii_lowercase();
    if cat.setting(&name).is_none() {
        let known: Vec<&str> = cat.settings.iter().map(|s| s.name.as_str()).collect();
        show_error(
            format!("no setting {:?}", args.id),
            Some(format!("known settings: {}", known.join(", "))),
        );
        return Exit::InputError;
    }
    let report = pipeline::config(&args.paths, &args.limits.options());
    for c in &report.captures {
        if let Some(e) = &c.error {
            super::show_capture_error(e, c.error_kind);
        }
    }
    let text = render::config::explain_setting(&report, &name, out.list_width());
    finish(out.write(Ok(text), true), report.status())
}
