//! The real binary: start-up failures, first start, restart, graceful stop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_stampede");

/// The binary in `dir` with a clean environment plus `env`.
pub fn stampede(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run_to_exit(mut cmd: Command) -> Output {
    cmd.arg("serve").stdin(Stdio::null());
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the process should have exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn assert_one_line_failure(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must exit non-zero; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    assert!(lines[0].contains(needle), "{needle:?} in {:?}", lines[0]);
}

#[test]
fn unknown_key_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run_to_exit(stampede(dir.path(), &[("STAMPEDE_SERVER__PROT", "9")]));
    assert_one_line_failure(&out, "server.prot: unknown key");
    std::fs::write(dir.path().join("stampede.toml"), "[database]\nbackend = \"sqlite\"\nurll = \"x\"\n")
        .expect("write");
    let out = run_to_exit(stampede(dir.path(), &[]));
    assert_one_line_failure(&out, "database.urll: unknown key");
}

#[test]
fn bad_value_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run_to_exit(stampede(dir.path(), &[("STAMPEDE_SERVER__PORT", "eighty")]));
    assert_one_line_failure(&out, "server.port:");
    let out = run_to_exit(stampede(dir.path(), &[("STAMPEDE_DATABASE__BACKEND", "oracle")]));
    assert_one_line_failure(&out, "database.backend:");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// `stampede worker` on the embedded default (in-process queues) is a
/// configuration error: exit code 2, one line naming the key, nothing opened.
#[test]
fn worker_without_sqs_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("dir");
    let out = stampede(dir.path(), &[]).arg("worker").stdin(Stdio::null()).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_one_line_failure(&out, "queue.backend: `stampede worker` reads the SQS queues");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn unreachable_postgres_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run_to_exit(stampede(
        dir.path(),
        &[
            ("STAMPEDE_DATABASE__BACKEND", "postgres"),
            ("STAMPEDE_DATABASE__URL", "postgres://postgres@127.0.0.1:1/stampede"),
            ("STAMPEDE_DATABASE__CONNECT_TIMEOUT_SECS", "2"),
        ],
    ));
    assert_one_line_failure(&out, "cannot reach the database at 127.0.0.1:1/stampede");
}

/// A running server and what it printed when it started.
pub struct Running {
    pub child: Child,
    pub port: u16,
    pub printed: Vec<String>,
}

pub fn start(dir: &Path) -> Running {
    start_with(dir, &[])
}

pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Running {
    let mut all = vec![("STAMPEDE_SERVER__PORT", "0"), ("STAMPEDE_LOG__LEVEL", "warn")];
    all.extend_from_slice(env);
    let mut child = stampede(dir, &all)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let mut port = None;
    // Everything up to the "health:" line that closes the start-up message.
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("Stampede is listening on http://127.0.0.1:") {
            port = rest.split(' ').next().and_then(|p| p.parse().ok());
        }
        let done = line.starts_with("  health:");
        printed.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Running { child, port: port.expect("listening line"), printed }
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "must stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(port: u16, path: &str) -> u16 {
    // A tiny blocking HTTP/1.1 GET, to keep this test free of a runtime.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    buf.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status line")
}

#[test]
fn first_start_creates_the_owner_once_and_restart_keeps_data() {
    let dir = tempfile::tempdir().expect("dir");
    let mut first = start(dir.path());
    let text = first.printed.join("\n");
    assert!(text.contains("First start: created the owner account of \"My Business\""), "{text}");
    assert!(text.contains("email:             owner@stampede.local"), "{text}");
    let password_line = first.printed.iter().find(|l| l.contains("one-time password:")).expect("password shown");
    assert!(password_line.split(':').nth(1).is_some_and(|p| p.trim().len() == 20), "{password_line}");
    assert_eq!(get(first.port, "/healthz"), 200);
    assert_eq!(get(first.port, "/readyz"), 200);
    assert!(dir.path().join("data/stampede.db").exists(), "SQLite file in ./data");
    assert!(sigterm(&mut first.child).success(), "graceful stop exits 0");

    let mut second = start(dir.path());
    let text = second.printed.join("\n");
    assert!(!text.contains("First start"), "the owner is created once: {text}");
    assert_eq!(get(second.port, "/readyz"), 200);
    assert!(sigterm(&mut second.child).success());

    // The data outlived both processes.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        let mut opts = stampede_store::testing::TestDatabase::sqlite().options.clone();
        opts.url = dir.path().join("data/stampede.db").display().to_string();
        let store = stampede_store::open(&opts).await.expect("open");
        assert_eq!(store.count_staff().await.expect("count"), 1);
        let owner = store
            .find_staff_by_email(&stampede_domain::email::Email::parse("owner@stampede.local").expect("email"))
            .await
            .expect("find")
            .expect("owner kept");
        assert!(owner.must_change_password);
    });
}
