//! Re-runs one ignored test of the current test binary in a child process whose `HOME` is a temporary
//! directory (changing this process's environment would need `unsafe`, and the real home must never be
//! touched). Included with `#[path]` by the ops tests that read configs from `HOME`.

#[path = "../../../../tests/support/isolated.rs"]
mod isolated;

/// Runs the ignored test `in_temp_home` of this binary with `HOME` (and `marker_var`) set to a fresh
/// temporary directory and the daemons' path variables removed; asserts that it passed.
pub(crate) fn run_in_temp_home(marker_var: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "in_temp_home",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("HOME", &home)
    .env(marker_var, &home);
    isolated::scrub_env(&mut cmd);
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
