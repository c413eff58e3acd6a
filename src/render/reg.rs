//! `reg`: the answer to a `reg query` over offline evidence, rendered like `reg query` prints it.

use crate::registry::query::{display_key, QueryState, RegQueryResult};
use crate::registry::{RegData, SourceForm};

/// Data as `reg query` prints it (reference §14.2).
pub fn display_data(d: &RegData) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    match d {
        RegData::Sz(s) | RegData::ExpandSz(s) | RegData::Link(s) => s.clone(),
        RegData::Dword(v) | RegData::DwordBigEndian(v) => format!("0x{v:x}"),
        RegData::Qword(v) => format!("0x{v:x}"),
        RegData::MultiSz(items) => items.join("\\0"),
        RegData::None(b) | RegData::Binary(b) => hex(b),
        RegData::Other { bytes, .. } => hex(bytes),
    }
}

fn form_name(f: SourceForm) -> &'static str {
    match f {
        SourceForm::Hive => "hive",
        SourceForm::RegExport => ".reg export",
        SourceForm::RegQuery => "reg query text",
        SourceForm::PolicyFile => "Registry.pol",
    }
}

/// Render like `reg query`: a blank line, the key, its values indented by four spaces; without
/// `recurse`, the subkeys as full names. Ends with where the answer came from, or an `ERROR:`
/// line saying why there is none.
pub fn render_text(r: &RegQueryResult) -> String {
    render_text_with(r, &super::tz::OutputTz::utc())
}

/// As [`render_text`], with each key's last write time (from hive files; text exports carry
/// none) as a `;` comment line under the key, in `tz`, as RECmd shows it.
pub fn render_text_with(r: &RegQueryResult, tz: &super::tz::OutputTz) -> String {
    let mut out = String::new();
    match &r.state {
        QueryState::Found => {}
        QueryState::Absent => {
            out.push_str(
                "ERROR: The system was unable to find the specified registry key or value.\n",
            );
            return out;
        }
        QueryState::NotProvided => {
            out.push_str(&format!(
                "ERROR: the capture holds no evidence for {} (no source covers this part of the {} hive).\n",
                display_key(r.hive, &r.path),
                r.hive
            ));
            return out;
        }
        QueryState::Unreadable(u) => {
            let at = u
                .offset
                .map(|o| format!(" at offset {o:#x}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "ERROR: unreadable in {}{at}: {}\n",
                u.file, u.reason
            ));
            return out;
        }
    }
    let mut sources: Vec<(String, SourceForm)> = Vec::new();
    for k in &r.keys {
        out.push('\n');
        out.push_str(&k.key);
        out.push('\n');
        if let Some(t) = k.last_written {
            out.push_str(&format!("    ; last written {}\n", tz.format(t)));
        }
        for v in &k.values {
            let name = if v.provenance.value.is_empty() {
                "(Default)"
            } else {
                v.provenance.value.as_str()
            };
            out.push_str(&format!(
                "    {name}    {}    {}\n",
                v.provenance.value_type,
                display_data(&v.data)
            ));
        }
        if !r.recurse && r.value.is_none() && !k.subkeys.is_empty() {
            out.push('\n');
            for s in &k.subkeys {
                out.push_str(&format!("{}\\{s}\n", k.key));
            }
        }
        for u in &k.unreadable {
            let at = u
                .offset
                .map(|o| format!(" at offset {o:#x}"))
                .unwrap_or_default();
            out.push_str(&format!("    ; unreadable{at}: {}\n", u.reason));
        }
        if !sources
            .iter()
            .any(|(f, form)| *f == k.file && *form == k.form)
        {
            sources.push((k.file.clone(), k.form));
        }
    }
    out.push('\n');
    for (f, form) in sources {
        out.push_str(&format!("; source: {f} ({})\n", form_name(form)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_reg_query() {
        assert_eq!(display_data(&RegData::Dword(42)), "0x2a");
        assert_eq!(display_data(&RegData::Binary(vec![0xab, 1])), "AB01");
        assert_eq!(
            display_data(&RegData::MultiSz(vec!["a".into(), "b".into()])),
            "a\\0b"
        );
    }
}
