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

/// Resolve a capture's settings and attribute their machine-policy values to GPOs from the
/// view's Group Policy evidence (the GPO list of its SOFTWARE hive, its `Registry.pol` and
/// `GPT.INI` files). The Group Policy evidence is returned when there is any.
pub fn resolve_capture(view: &RegistryView) -> (super::Settings, Option<super::GroupPolicy>) {
    let mut settings = super::resolve(view);
    let gp = super::GroupPolicy::read(view, view.group_policy_files());
    super::gpo::attribute(&mut settings, crate::catalog::settings::catalog(), &gp);
    (settings, (!gp.is_empty()).then_some(gp))
}
