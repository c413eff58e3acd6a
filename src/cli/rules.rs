//! `rdsdiag rules` and `rdsdiag explain <ID>`: the rule registry and each rule's page, from the
//! same text as `docs/rules/` and the remedy in findings. Touches no capture.

use clap::{Args, ValueEnum};
use serde::Serialize;

use rdsdiag::batch::FLEET_RULES;
use rdsdiag::diagnose::{rules::RULES, RuleMeta};

use super::{show_error, write_stdout, Exit};

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

#[derive(Serialize)]
struct RuleRow {
    id: &'static str,
    severity: &'static str,
    title: String,
    links: Vec<String>,
}

/// Every rule: per-capture rules, then the fleet rules of `batch`.
fn all_rules() -> impl Iterator<Item = &'static RuleMeta> {
    RULES
        .iter()
        .map(|r| r.meta())
        .chain(FLEET_RULES.iter().copied())
}

pub fn run_rules(args: &RulesArgs) -> Exit {
    let rows: Vec<RuleRow> = all_rules()
        .map(|m| {
            let doc = m.parsed();
            RuleRow {
                id: m.id,
                severity: m.severity.name(),
                title: doc.title.clone(),
                links: doc.links(),
            }
        })
        .collect();
    let out = match args.format {
        RulesFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
        RulesFormat::Md => {
            let mut s = String::from("| id | severity | title |\n|---|---|---|\n");
            for r in &rows {
                s.push_str(&format!("| {} | {} | {} |\n", r.id, r.severity, r.title));
            }
            s
        }
        RulesFormat::Text => {
            let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
            rows.iter()
                .map(|r| format!("{:<width$}  {:<7}  {}\n", r.id, r.severity, r.title))
                .collect()
        }
    };
    write_stdout(&out);
    Exit::Clean
}

pub fn run_explain(args: &ExplainArgs) -> Exit {
    match all_rules().find(|m| m.id.eq_ignore_ascii_case(args.id.trim())) {
        Some(meta) => {
            write_stdout(meta.doc);
            Exit::Clean
        }
        None => {
            let known: Vec<&str> = all_rules().map(|m| m.id).collect();
            show_error(
                format!("no rule {:?}", args.id),
                Some(format!("known rules: {}", known.join(", "))),
            );
            Exit::InputError
        }
    }
}
