//! The capture's registry view as a [`RegistrySource`], so the resolver and the host facts read
//! hives and registry text exports through the same four-way lookups.

use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegValue, RegistryView};

use super::source::{KeyInfo, RegistrySource};

impl RegistrySource for RegistryView {
    fn value(&self, hive: HiveKind, path: &str, name: &str) -> Lookup<RegValue> {
        RegistryView::value(self, hive, path, name)
    }

    fn provides(&self, hive: HiveKind) -> bool {
        RegistryView::provides(self, hive)
    }

    fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyInfo> {
        RegistryView::key(self, hive, path).map(|k| KeyInfo {
            subkeys: k.subkeys,
            values: k.values.into_iter().map(|v| v.provenance.value).collect(),
            file: k.file,
            form: k.form,
            hive: k.hive,
            key: k.source_key,
        })
    }
}

/// A capture's configuration: the settings, the Group Policy evidence (when there is any) and
/// what its gpresult output says (when it holds some).
#[derive(Debug, Clone)]
pub struct ResolvedCapture {
    pub settings: super::Settings,
    pub group_policy: Option<super::GroupPolicy>,
    pub gpresult: Option<super::GpresultSummary>,
}

/// Resolve a capture's settings and attribute their machine-policy values to GPOs from all its
/// Group Policy evidence: the GPO list of its SOFTWARE hive, its `Registry.pol` and `GPT.INI`
/// files, and its gpresult `reports` (which name the winner where the pol files cannot).
pub fn resolve_capture(
    view: &RegistryView,
    reports: &[crate::gpresult::Report],
) -> ResolvedCapture {
    let cat = crate::catalog::settings::catalog();
    let mut settings = super::resolve(view);
    let gpresult = super::gpresult::from_reports(reports, Some(&settings));
    let mut gp = super::GroupPolicy::read(view, view.group_policy_files());
    gp.add_gpresult(gpresult.as_ref(), cat);
    super::gpo::attribute(&mut settings, cat, &gp);
    // Policy values in the registry are Group Policy evidence too: the model then says what is
    // known of their GPOs (the list's state, "gpresult not provided"), even with no list or file.
    let policy = crate::catalog::settings::SourceKind::Policy;
    let has_policy = settings
        .iter()
        .any(|s| s.source == Some(policy) || s.shadowed.iter().any(|x| x.source == policy));
    ResolvedCapture {
        group_policy: (!gp.is_empty() || has_policy).then_some(gp),
        settings,
        gpresult,
    }
}
