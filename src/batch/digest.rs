//! The few facts of a capture that the fleet summary and the cross-capture correlation need,
//! read back from the capture's JSON line (never from in-memory types), so a single run and a
//! merge of shard outputs compute from exactly the same input.

use serde::Serialize;
use serde_json::Value;

use crate::evidence::{InputStatus, ProblemSeverity};
use crate::report::{input_damaged, CaptureReport, RunStatus, Verdict};

/// What the fleet layer knows about one capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub path: String,
    pub failed: Option<String>,
    /// NetBIOS name, upper case, when known.
    pub computer: Option<String>,
    /// `domain`, `workgroup` or `unknown`.
    pub membership: String,
    pub domain: Option<String>,
    pub build: Option<u64>,
    pub version: Option<String>,
    pub session_host: bool,
    pub license_server: bool,
    /// Effective licensing mode name (`per_user`), or `unknown`/`not_set`.
    pub licensing_mode: String,
    /// Effective license servers, as configured.
    pub license_servers: Vec<String>,
    /// Finding ids of the capture, sorted.
    pub findings: Vec<String>,
    /// What the analysis concluded (`report::Verdict`).
    pub verdict: Verdict,
    /// How the capture ended, by the one rule (`Verdict::run_status`): failed, needs attention
    /// (problems, damaged evidence, mixed machines), or clean.
    pub status: RunStatus,
    /// Whether an input of the capture is damaged or unreadable.
    pub damaged: bool,
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn json<T: Serialize + ?Sized>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

impl Digest {
    /// The digest of a capture report: [`Digest::from_value`] of the JSON form of the parts a
    /// digest reads (the same serialisation its capture line holds), without serialising the
    /// timeline, the inputs or the evidence again.
    pub fn of_report(r: &CaptureReport) -> Digest {
        let mut m = serde_json::Map::new();
        m.insert("path".into(), json(&r.path));
        m.insert("status".into(), json(&r.status));
        m.insert("verdict".into(), json(&r.verdict));
        if !r.mixed.is_empty() {
            m.insert("mixed".into(), json(&r.mixed));
        }
        if let Some(e) = &r.error {
            m.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(h) = &r.host {
            m.insert("host".into(), json(h));
        }
        if let Some(st) = &r.settings {
            m.insert("settings".into(), json(st));
        }
        m.insert(
            "findings".into(),
            Value::Array(
                r.findings
                    .iter()
                    .map(|f| serde_json::json!({ "id": f.id, "severity": f.severity }))
                    .collect(),
            ),
        );
        m.insert(
            "inputs".into(),
            Value::Array(
                r.inputs
                    .iter()
                    .map(|i| {
                        let problems: Vec<Value> = i
                            .problems
                            .iter()
                            .map(|p| serde_json::json!({ "severity": p.severity }))
                            .collect();
                        serde_json::json!({ "status": i.status, "problems": problems })
                    })
                    .collect(),
            ),
        );
        Digest::from_value(&Value::Object(m))
    }

    /// Read the digest of a capture line (or of one element of `analyze --format json`'s
    /// `captures`).
    pub fn from_value(v: &Value) -> Digest {
        let path = s(v, "/path").unwrap_or("").to_string();
        let failed = (s(v, "/status") == Some("failed"))
            .then(|| s(v, "/error").unwrap_or("failed").to_string());
        let computer = (s(v, "/host/computer_name/state") == Some("found"))
            .then(|| s(v, "/host/computer_name/value").map(str::to_uppercase))
            .flatten()
            .or_else(|| s(v, "/host/names_in_logs/0/name").map(str::to_string));
        let role = |name: &str| {
            v.pointer("/host/roles")
                .and_then(Value::as_array)
                .and_then(|roles| roles.iter().find(|r| s(r, "/role") == Some(name)))
                .and_then(|r| s(r, "/detected"))
                == Some("yes")
        };
        let licensing_mode = match s(v, "/settings/licensing_mode/state") {
            Some("unknown") | None => "unknown".to_string(),
            Some(_) => s(v, "/settings/licensing_mode/value/name")
                .map(str::to_string)
                .or_else(|| {
                    v.pointer("/settings/licensing_mode/value/code")
                        .and_then(Value::as_u64)
                        .map(|c| format!("code_{c}"))
                })
                .unwrap_or_else(|| "not_set".into()),
        };
        let license_servers = match s(v, "/settings/license_servers/state") {
            Some("set") => v
                .pointer("/settings/license_servers/value")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut findings: Vec<String> = v
            .pointer("/findings")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| s(f, "/id"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        findings.sort();
        findings.dedup();
        let damaged = inputs_damaged(v);
        let mixed = v
            .pointer("/mixed")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let verdict = if failed.is_some() {
            Verdict::Failed
        } else {
            s(v, "/verdict")
                .and_then(Verdict::from_name)
                .unwrap_or(Verdict::Inconclusive)
        };
        let status = verdict.run_status(damaged, mixed);
        Digest {
            path,
            failed,
            computer,
            membership: s(v, "/host/membership/kind")
                .unwrap_or("unknown")
                .to_string(),
            domain: s(v, "/host/membership/domain").map(str::to_ascii_lowercase),
            build: v
                .pointer("/host/windows_version/build")
                .and_then(Value::as_u64),
            version: s(v, "/host/windows_version/name").map(str::to_string),
            session_host: role("session_host"),
            license_server: role("license_server"),
            licensing_mode,
            license_servers,
            findings,
            verdict,
            status,
            damaged,
        }
    }

    /// Whether a configured server name (NetBIOS, FQDN, `\\name`) names this capture's machine.
    /// An FQDN must also agree with the capture's domain when that is known. IP addresses are
    /// never matched: the hives do not say which address a machine had when the logs were written.
    pub fn answers_to(&self, server: &str) -> bool {
        let Some(me) = &self.computer else {
            return false;
        };
        let name = server.trim().trim_start_matches('\\').to_ascii_lowercase();
        if name.parse::<std::net::IpAddr>().is_ok() {
            return false;
        }
        let (short, suffix) = match name.split_once('.') {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (name.clone(), None),
        };
        if short != me.to_ascii_lowercase() {
            return false;
        }
        match (suffix, &self.domain) {
            (Some(sfx), Some(d)) => &sfx == d,
            _ => true,
        }
    }
}

/// Whether an input of a capture line is damaged, by the one rule (`report::input_damaged`)
/// applied to the statuses and problem severities the line holds.
fn inputs_damaged(v: &Value) -> bool {
    let Some(inputs) = v.pointer("/inputs").and_then(Value::as_array) else {
        return false;
    };
    inputs.iter().any(|i| {
        let status = match s(i, "/status") {
            Some("partial") => InputStatus::Partial,
            Some("rejected") => InputStatus::Rejected,
            _ => InputStatus::Parsed,
        };
        let worst = i
            .pointer("/problems")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .map(|p| match s(p, "/severity") {
                        Some("error") => ProblemSeverity::Error,
                        Some("warning") => ProblemSeverity::Warning,
                        _ => ProblemSeverity::Info,
                    })
                    .max()
            })
            .unwrap_or_default();
        input_damaged(status, worst)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(computer: &str, domain: Option<&str>) -> Digest {
        Digest::from_value(&serde_json::json!({
            "path": "x", "status": "analysed",
            "host": {
                "computer_name": {"state": "found", "value": computer},
                "membership": {"kind": if domain.is_some() { "domain" } else { "workgroup" }, "domain": domain},
            },
        }))
    }

    #[test]
    fn server_names_match_netbios_and_fqdn_in_the_same_domain_only() {
        let d = ls("LS01", Some("Contoso.local"));
        assert!(d.answers_to("LS01"));
        assert!(d.answers_to("ls01.contoso.local"));
        assert!(d.answers_to(r"\\LS01"));
        assert!(
            !d.answers_to("ls01.fabrikam.local"),
            "same short name, other domain"
        );
        assert!(!d.answers_to("LS02"));
        assert!(!d.answers_to("10.0.0.5"), "addresses are never matched");
        let wg = ls("LS01", None);
        assert!(
            wg.answers_to("ls01.contoso.local"),
            "domain unknown: the short name decides"
        );
    }

    #[test]
    fn failed_lines_and_missing_fields_give_safe_defaults() {
        let d = Digest::from_value(
            &serde_json::json!({"path": "p", "status": "failed", "error": "boom"}),
        );
        assert_eq!(d.failed.as_deref(), Some("boom"));
        assert_eq!(d.licensing_mode, "unknown");
        assert!(d.license_servers.is_empty() && d.computer.is_none() && !d.session_host);
    }
}
