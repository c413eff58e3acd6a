//! The one rule for how a run ended, the same for every command and every output format. The
//! CLI maps it to the exit code (`cli/exit.rs`); the library decides it.

use serde::Serialize;

use crate::capture::Input;
use crate::evidence::{InputStatus, Problem, ProblemSeverity};

/// How a run ended, worst last (so `max` combines captures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything given was read and nothing worth attention was found.
    Clean,
    /// Read, and something needs attention: damaged or unreadable evidence, a finding, a
    /// disconnect pattern, a key that is not there.
    Attention,
    /// A capture could not be analysed at all (missing, refused, unreadable, a parser panicked).
    Failed,
}

/// Whether an input's evidence is damaged or unusable: it was only partly read, rejected, or a
/// reader met a problem of warning severity or worse (`worst`: the worst severity of its
/// problems).
pub fn input_damaged(status: InputStatus, worst: Option<ProblemSeverity>) -> bool {
    matches!(status, InputStatus::Partial | InputStatus::Rejected)
        || worst.is_some_and(|w| w >= ProblemSeverity::Warning)
}

/// The worst severity among `problems`.
pub fn worst_severity(problems: &[Problem]) -> Option<ProblemSeverity> {
    problems.iter().map(|p| p.severity).max()
}

/// [`RunStatus::Attention`] when any input is damaged, else [`RunStatus::Clean`].
pub fn status_of<'a>(inputs: impl IntoIterator<Item = (InputStatus, &'a [Problem])>) -> RunStatus {
    if inputs
        .into_iter()
        .any(|(s, p)| input_damaged(s, worst_severity(p)))
    {
        RunStatus::Attention
    } else {
        RunStatus::Clean
    }
}

/// [`status_of`] over a capture's inventory.
pub fn status_of_inputs(inputs: &[Input]) -> RunStatus {
    status_of(inputs.iter().map(|i| (i.status, i.problems.as_slice())))
}

/// What the analysis of one capture concluded, for people and for fleet counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A finding of warning severity or worse, a licensing disconnect or a problem pattern in
    /// the timeline: something is wrong, whether or not a rule could name the cause.
    Problems,
    /// Nothing found, and every check could be decided on undamaged evidence of this host alone.
    Healthy,
    /// Nothing found, but the evidence cannot rule a problem out: checks undecided for missing
    /// evidence, damaged or unreadable inputs, or other computers' evidence mixed in.
    Inconclusive,
    /// The capture could not be analysed.
    Failed,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Problems => "problems",
            Verdict::Healthy => "healthy",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Failed => "failed",
        }
    }

    /// Parse the JSON name back (fleet digests read capture lines).
    pub fn from_name(name: &str) -> Option<Verdict> {
        [
            Verdict::Problems,
            Verdict::Healthy,
            Verdict::Inconclusive,
            Verdict::Failed,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }

    /// The verdict from what a capture's analysis holds.
    pub fn decide(c: VerdictInputs) -> Verdict {
        if c.failed {
            Verdict::Failed
        } else if c.problem_findings || c.licensing_disconnects > 0 || c.patterns > 0 {
            Verdict::Problems
        } else if c.undecided || c.damaged || c.mixed {
            Verdict::Inconclusive
        } else {
            Verdict::Healthy
        }
    }

    /// How a capture with this verdict ends a run: failed; problems, damaged evidence or mixed
    /// machines need attention; else clean (an inconclusive capture on sound evidence is clean:
    /// nothing was found, and the verdict says what is missing).
    pub fn run_status(self, damaged: bool, mixed: bool) -> RunStatus {
        match self {
            Verdict::Failed => RunStatus::Failed,
            Verdict::Problems => RunStatus::Attention,
            _ if damaged || mixed => RunStatus::Attention,
            _ => RunStatus::Clean,
        }
    }
}

/// What [`Verdict::decide`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerdictInputs {
    pub failed: bool,
    /// A finding of warning severity or worse.
    pub problem_findings: bool,
    pub licensing_disconnects: usize,
    /// Disconnect patterns of the timeline (any kind).
    pub patterns: usize,
    /// Some rule could not be decided.
    pub undecided: bool,
    /// An input is damaged or unreadable ([`input_damaged`]).
    pub damaged: bool,
    /// Other computers' evidence is mixed in.
    pub mixed: bool,
}
