//! The binary's edges: bad input is exit code 2 with file:line:column, never a panic.

mod common;

use common::Dokk;

#[test]
fn malformed_config_prints_file_line_column_and_exits_2() {
    let dokk = Dokk::new();
    std::fs::write(
        dokk.config(),
        "theme = \"dark\"\n\n[contexts.evergreen]\nkind = \"docker\"\nrefresh_ms = \"fast\"\n",
    )
    .expect("write");
    let output = dokk.command().args(["status"]).output().expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let location = format!("{}:5:14:", dokk.config().display());
    assert!(stderr.contains(&location), "{stderr}");
    assert!(
        stderr.contains("expected u64") || stderr.contains("integer"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_key_names_its_line() {
    let dokk = Dokk::new();
    std::fs::write(
        dokk.config(),
        "[contexts.prod]\nkind = \"docker\"\nreadonyl = true\n",
    )
    .expect("write");
    let output = dokk.command().output().expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(":3:1:") && stderr.contains("readonyl"),
        "{stderr}"
    );
}

#[test]
fn unknown_context_lists_known_ones_and_exits_2() {
    let dokk = Dokk::new();
    std::fs::write(dokk.config(), "[contexts.evergreen]\nkind = \"docker\"\n").expect("write");
    let output = dokk
        .command()
        .args(["status", "--context", "prod"])
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown context `prod`"), "{stderr}");
    assert!(stderr.contains("default, evergreen"), "{stderr}");
}

#[test]
fn bad_theme_file_names_its_line_and_exits_2() {
    let dokk = Dokk::new();
    let theme = dokk.home.path().join("mine.toml");
    std::fs::write(&theme, "fg = \"chartreuse-ish\"\n").expect("write");
    let output = dokk
        .command()
        .args(["status", "--theme"])
        .arg(&theme)
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mine.toml:1:6:") && stderr.contains("not a colour"),
        "{stderr}"
    );
}

#[test]
fn unreachable_engine_in_status_is_exit_1_with_a_hint() {
    let dokk = Dokk::new();
    let output = dokk
        .command()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["status"])
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unix:///nonexistent/docker.sock"),
        "{stderr}"
    );
    assert!(stderr.contains("systemctl start docker"), "{stderr}");
}

#[test]
fn recover_with_nothing_to_repair_says_so_and_an_unreachable_engine_keeps_the_intent() {
    let dokk = Dokk::new();
    let audit = dokk.home.path().join("audit.jsonl");
    let recover = |args: &[&str]| {
        let output = dokk
            .command()
            .env("DOKK_AUDIT_LOG", &audit)
            .arg("recover")
            .args(args)
            .output()
            .expect("dokk runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = recover(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("no interrupted rollout"), "{stdout}");
    let (code, stdout, _) = recover(&["--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim(), "[]");

    // A rollout cut off on a host that cannot be reached now: said, exit 1, the intent kept
    // for the next try.
    std::fs::write(
        dokk.config(),
        "[contexts.far]\nkind = \"docker\"\nhost = \"tcp://127.0.0.1:9\"\n",
    )
    .expect("config");
    let rollouts = dokk.home.path().join("rollouts");
    std::fs::create_dir_all(&rollouts).expect("rollouts");
    let intent = rollouts.join("far+shop%2Fweb.json");
    std::fs::write(
        &intent,
        r#"{"context":"far","service":"shop/web","action":"deploy","from":"web:1","to":"web:2",
            "pid":1,"started":"2026-12-04T10:00:00Z","step":"  stopping abc",
            "replicas":[{"name":"shop-web-1","id":"abc","image":"web:1"}]}"#,
    )
    .expect("intent");
    let (code, stdout, stderr) = recover(&["--context", "far"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("shop/web") && stdout.contains("cannot be reached"),
        "{stdout}"
    );
    assert!(intent.exists(), "the intent stays for the next try");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
