//! Embeds the `init` templates (runtime/cli/templates/<lang>/…) in the
//! binary: writes `$OUT_DIR/templates.rs`, a table of (template, path,
//! bytes, executable).
#![allow(clippy::expect_used, reason = "a build script reports failure by panicking")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("read templates").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        // Python's byte-code caches are not templates.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "__pycache__" || name.ends_with(".pyc") {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("templates");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut code = String::from("pub static TEMPLATE_FILES: &[(&str, &str, &[u8], bool)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file.strip_prefix(&root).expect("under templates");
        let mut parts = relative.iter().map(|p| p.to_str().expect("UTF-8 names"));
        let template = parts.next().expect("a template folder");
        let path: Vec<&str> = parts.collect();
        let executable =
            std::fs::metadata(file).expect("metadata").permissions().mode() & 0o111 != 0;
        code.push_str(&format!(
            "    ({template:?}, {:?}, include_bytes!({:?}), {executable}),\n",
            path.join("/"),
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    std::fs::write(out, code).expect("write templates.rs");
}
