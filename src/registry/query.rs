//! `rdsdiag reg`: `reg query` over offline evidence. Resolves a full key name
//! (`HKLM\SYSTEM\CurrentControlSet\…`) through the [`RegistryView`], returns a serialisable result,
//! and renders it as text that looks like `reg query` output.
