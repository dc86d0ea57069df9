//! The competition's submission starter kit (`templates/submission/`), built into the binary so that
//! `harvester template init DIR` writes it anywhere.

use std::path::Path;

/// `(file name, contents)` of the kit.
pub const FILES: &[(&str, &str)] = &[
    ("model.py", include_str!("../templates/submission/model.py")),
    (
        "make_submission.py",
        include_str!("../templates/submission/make_submission.py"),
    ),
    (
        "weights.json",
        include_str!("../templates/submission/weights.json"),
    ),
    (
        "README.md",
        include_str!("../templates/submission/README.md"),
    ),
];

/// Write the kit into `dir` (created if missing); existing files are kept unless `force`.
pub fn init(dir: &Path, force: bool) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !force {
        if let Some((name, _)) = FILES.iter().find(|(n, _)| dir.join(n).exists()) {
            return Err(format!(
                "{} already exists (use --force to overwrite)",
                dir.join(name).display()
            ));
        }
    }
    let mut written = Vec::new();
    for (name, text) in FILES {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p.display().to_string());
    }
    Ok(written)
}
