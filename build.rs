//! Embeds the web apps' built bundle (`web/dist`, committed) in the binary,
//! so `stampede serve` on a fresh clone serves the staff console and the POS
//! app with no Node.js and no extra step. Writes `$OUT_DIR/web_assets.rs`: a
//! sorted table of (path under dist, bytes). An absent `web/dist` gives an
//! empty table (the API still serves; the apps answer 404).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Read when the script runs, not when it was compiled: a build script
    // compiled for another checkout sharing this build directory is reused.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dist = Path::new(&root).join("web").join("dist");
    // Relative, and read back through CARGO_MANIFEST_DIR below: a build
    // directory shared by two checkouts (CI's clone beside a working copy)
    // then always embeds the files of the checkout being built.
    println!("cargo:rerun-if-changed=web/dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &mut files);
    }
    files.sort();
    let mut out = String::from("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let rel = file.strip_prefix(&dist).expect("under dist").to_string_lossy().replace('\\', "/");
        let path = format!("/web/dist/{rel}");
        writeln!(out, "    ({rel:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {path:?}))),")
            .expect("write");
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("web_assets.rs");
    std::fs::write(target, out).expect("write web_assets.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read web/dist").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
