//! `rdsdiag rules` and `rdsdiag explain <ID>`: the rule registry and each rule's page, from the
//! same text as `docs/rules/` and the remedy in findings. Touches no capture.

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
    /// A rule id, e.g. RDS-LIC-NO-SERVER (case-insensitive).
    pub id: String,
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
