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
