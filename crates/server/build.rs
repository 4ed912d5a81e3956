//! Builds the web UI (`web/`, React + Vite) so that `cargo build` alone produces a binary
//! with a working UI on a fresh machine.
//!
//! - Reruns when the web sources change (`web/src`, `index.html`, `package.json`,
//!   `package-lock.json`, `vite.config.ts`, `tsconfig.json`).
//! - When `web/dist` is missing or older than those sources: `npm ci` (only when
//!   `node_modules` is missing or older than `package-lock.json`), then `npm run build`.
//! - `FRAMEBUS_SKIP_WEB_BUILD=1` skips npm entirely: whatever `web/dist` holds is embedded,
//!   or a small page saying the UI was not built.
//!
//! Tells `src/ui.rs` which folder to embed through the `FRAMEBUS_UI_DIR` env variable.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Inputs of the web build, relative to `web/`.
const WEB_INPUTS: &[&str] = &[
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest_dir.join("../../web");
    let web = web.canonicalize().unwrap_or(web);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-env-changed=FRAMEBUS_SKIP_WEB_BUILD");
    for input in WEB_INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    // A deleted build is rebuilt (a missing path always reruns this script).
    println!(
        "cargo:rerun-if-changed={}",
        web.join("dist/index.html").display()
    );

    let dist = web.join("dist");
    let skip = std::env::var("FRAMEBUS_SKIP_WEB_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        println!(
            "cargo:warning=FRAMEBUS_SKIP_WEB_BUILD is set: not building web/ (embedding what web/dist holds)"
        );
    } else if web.join("package.json").exists() && dist_is_stale(&web, &dist) {
        build_web(&web);
    }

    let ui_dir = if dist.join("index.html").is_file() {
        dist
    } else {
        placeholder(&out_dir)
    };
    println!("cargo:rustc-env=FRAMEBUS_UI_DIR={}", ui_dir.display());
}

/// True when `dist/index.html` is missing or older than any web input.
fn dist_is_stale(web: &Path, dist: &Path) -> bool {
    let Some(built) = mtime(&dist.join("index.html")) else {
        return true;
    };
    WEB_INPUTS
        .iter()
        .filter_map(|input| newest_mtime(&web.join(input)))
        .any(|t| t > built)
}

fn build_web(web: &Path) {
    let lock = web.join("package-lock.json");
    // npm writes node_modules/.package-lock.json on every install.
    let installed = mtime(&web.join("node_modules/.package-lock.json"));
    let need_install = match (installed, mtime(&lock)) {
        (None, _) => true,
        (Some(installed), Some(lock)) => lock > installed,
        (Some(_), None) => false,
    };
    if need_install {
        let cmd = if lock.exists() { "ci" } else { "install" };
        npm(web, &[cmd, "--no-audit", "--no-fund"]).unwrap_or_else(|msg| panic!("{msg}"));
    }
    // Build into a private folder and swap it in, so that a concurrent build (another
    // profile, another target dir) never embeds a half-written dist.
    let tmp = format!(".dist-build-{}", std::process::id());
    let tmp_dir = web.join(&tmp);
    let built = npm(
        web,
        &["run", "build", "--", "--outDir", &tmp, "--emptyOutDir"],
    );
    if built.is_err() {
        let _ = fs::remove_dir_all(&tmp_dir);
    }
    built.unwrap_or_else(|msg| panic!("{msg}"));
    let dist = web.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).expect("remove old web/dist");
    }
    fs::rename(&tmp_dir, &dist).expect("move the web build into web/dist");
    // Date the build like its newest input rather than now: cargo then sees it as older than
    // this run and does not run the script (and rebuild the crate) once more for it.
    let newest = WEB_INPUTS
        .iter()
        .filter_map(|input| newest_mtime(&web.join(input)))
        .max();
    if let (Some(t), Ok(f)) = (
        newest,
        fs::File::options()
            .write(true)
            .open(dist.join("index.html")),
    ) {
        let _ = f.set_modified(t);
    }
}

/// Runs npm in `web/`; the error is the message to panic with.
fn npm(web: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(web)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "\n\nframebus-server: building the web UI needs Node.js (20 or newer) and npm, \
                 but running `npm` failed: {e}.\n\
                 Install them (Debian/Ubuntu: `apt-get install nodejs npm`), or set \
                 FRAMEBUS_SKIP_WEB_BUILD=1 to build the binary without rebuilding the UI.\n\n"
            )
        });
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "\n\nframebus-server: `npm {}` failed in {} ({status}).\n\
             See npm's output above; FRAMEBUS_SKIP_WEB_BUILD=1 builds without the UI.\n\n",
            args.join(" "),
            web.display()
        ))
    }
}

/// A one-page UI saying that the real one was not built.
fn placeholder(out_dir: &Path) -> PathBuf {
    let dir = out_dir.join("ui-placeholder");
    fs::create_dir_all(&dir).expect("create placeholder dir");
    let page = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>framebus</title>
<style>body{background:#111418;color:#d8dee9;font:16px system-ui,sans-serif;margin:3rem}code{color:#8fbcbb}</style>
</head><body><div id="root" data-testid="app-root">
<h1>framebus</h1>
<p>The web UI was not built into this binary (<code>FRAMEBUS_SKIP_WEB_BUILD</code> was set and
<code>web/dist</code> did not exist).</p>
<p>Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild framebus.
The API is still served under <code>/api/v1</code> and <code>/ws/stream</code>.</p>
</div></body></html>
"#;
    fs::write(dir.join("index.html"), page).expect("write placeholder page");
    dir
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Newest modification time of a file, or of any file under a folder.
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut newest = meta.modified().ok();
    for entry in fs::read_dir(path).ok()?.flatten() {
        if let Some(t) = newest_mtime(&entry.path()) {
            newest = Some(newest.map_or(t, |n| n.max(t)));
        }
    }
    newest
}
