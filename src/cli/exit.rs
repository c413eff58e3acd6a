//! The exit codes of rdsdiag, defined in one place (documented in the README).

/// What a run ended with. An input error outranks findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: everything given was analysed and nothing worth attention was found.
    Clean = 0,
    /// 1: analysed, and problems were found (findings, or damaged/unreadable evidence).
    Problems = 1,
    /// 2: usage error, or a capture could not be analysed at all (missing path, refused archive).
    InputError = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

impl From<rdsdiag::report::RunStatus> for Exit {
    /// The one rule: how the run ended decides the exit code, whatever the command and format.
    fn from(s: rdsdiag::report::RunStatus) -> Self {
        match s {
            rdsdiag::report::RunStatus::Clean => Exit::Clean,
            rdsdiag::report::RunStatus::Attention => Exit::Problems,
            rdsdiag::report::RunStatus::Failed => Exit::InputError,
        }
    }
}
