//! placeholder
use std::path::Path;
pub fn run(_root: &Path) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
