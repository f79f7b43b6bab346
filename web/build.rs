//! Builds the console (`web/ui`) with npm when its sources are newer than `web/ui/dist`, so
//! `cargo build` on a fresh clone produces a binary that serves it. The assets are compiled
//! into the crate by `include_dir!` in `src/console.rs`.
//!
//! Cargo reruns this script only when a watched source changes (`rerun-if-changed`); the build
//! output itself is not watched, since writing it would make every later build look stale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// What the console build reads; `src` and `public` are folders, watched whole by Cargo.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "svelte.config.js",
    "tsconfig.json",
];

fn main() {
    // Read at run time, not with `env!`: Cargo may reuse this script's binary for a copy of
    // the workspace at another path.
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        eprintln!("error: CARGO_MANIFEST_DIR is not set; build sonde-web with cargo");
        std::process::exit(1);
    };
    let ui = PathBuf::from(manifest_dir).join("ui");
    for source in SOURCES {
        println!("cargo:rerun-if-changed=ui/{source}");
    }
    println!("cargo:rerun-if-env-changed=SONDE_UI_SKIP_BUILD");

    let built = ui.join("dist").join("index.html");
    let built_at = modified(&built);
    let newest_source = SOURCES.iter().filter_map(|s| newest(&ui.join(s))).max();
    let stale = match (built_at, newest_source) {
        (None, _) => true,
        (Some(built), Some(source)) => source > built,
        (Some(_), None) => false,
    };
    if !stale {
        return;
    }
    // Packagers that ship a prebuilt `dist` (and have no Node) can opt out of the rebuild.
    if built_at.is_some() && std::env::var_os("SONDE_UI_SKIP_BUILD").is_some() {
        println!(
            "cargo:warning=web/ui/dist is older than its sources; SONDE_UI_SKIP_BUILD keeps it"
        );
        return;
    }
    if let Err(message) = build(&ui) {
        eprintln!("error: the Sonde console (web/ui) could not be built: {message}");
        eprintln!(
            "To build it by hand: install Node.js 20 or later with npm (Debian: apt-get install \
             nodejs npm), then run `npm ci && npm run build` in web/ui, and build again."
        );
        std::process::exit(1);
    }
}

/// `npm ci` when `node_modules` is missing or older than the lock file (npm records what it
/// installed in `node_modules/.package-lock.json`), then `npm run build`.
fn build(ui: &Path) -> Result<(), String> {
    let installed = modified(&ui.join("node_modules/.package-lock.json"));
    let locked = modified(&ui.join("package-lock.json"));
    if installed.is_none() || locked > installed {
        run(ui, &["ci", "--no-audit", "--no-fund"])?;
    }
    run(ui, &["run", "build"])
}

fn run(dir: &Path, args: &[&str]) -> Result<(), String> {
    let shown = format!("npm {}", args.join(" "));
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        // npm's own output goes to Cargo's build log; a failure is summed up below.
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "npm is not installed (or not on PATH)".to_owned(),
            _ => format!("cannot run `{shown}`: {e}"),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` in {} failed ({status})", dir.display()))
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything under it.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = path.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .max()
}
