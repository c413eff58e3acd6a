pub fn placeholder() {}
pub mod evtx;
