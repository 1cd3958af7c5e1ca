//! The real binary in tmux, read off the screen as a person would: a small fleet, losing and
//! regaining the engine, and containers churning while dokk watches.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Dokk, Project, Tmux, docker_ok, proc_status, wait_until};

const SCREEN_TIMEOUT: Duration = Duration::from_secs(15);

#[test]
fn fleet_in_tmux_shows_services_limits_and_no_limit() {
    let project = Project::new("tmux");
    project.run(
        "shop-prod",
        1,
        &["--cpus", "0.5", "--memory", "256m"],
        &["sleep", "600"],
    );
    project.run(
        "shop-staging",
        1,
        &["--cpus", "0.25", "--memory", "128m"],
        &["sleep", "600"],
    );
    project.run("unbounded", 1, &[], &["sleep", "600"]);
    let dokk = Dokk::new();
    let tmux = Tmux::start("fleet", 160, 40, &dokk.shell_line(""));
    let screen = tmux
        .wait_for(
            &[
                &project.name,
                "shop-prod",
                "shop-staging",
                "unbounded",
                "● live",
            ],
            SCREEN_TIMEOUT,
        )
        .unwrap_or_else(|screen| panic!("fleet not shown:\n{screen}"));
    // Limits as set: 0.50 cores / 256 MiB for prod, none for the unbounded one.
    let prod = screen
        .lines()
        .find(|l| l.contains("shop-prod"))
        .expect("prod row");
    assert!(prod.contains("/0.50") && prod.contains("/256"), "{prod}");
    assert!(prod.contains("PROD"), "{prod}");
    let unbounded = screen
        .lines()
        .find(|l| l.contains("unbounded"))
        .expect("row");
    assert!(unbounded.contains("no limit"), "{unbounded}");

    // `/` filters to matching services.
    tmux.send(&["/", "staging"]);
    let filtered = tmux
        .wait_for(&["shop-staging", "/staging"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("filter prompt not shown:\n{s}"));
    assert!(!filtered.contains("unbounded"), "{filtered}");
    tmux.send(&["Enter"]);
    // Enter opens the only service's detail: its effective limits.
    tmux.send(&["Enter"]);
    tmux.wait_for(
        &[
            "Limits (effective, from HostConfig)",
            "0.25 cores",
            "128 MiB",
        ],
        SCREEN_TIMEOUT,
    )
    .unwrap_or_else(|s| panic!("detail not shown:\n{s}"));
    tmux.send(&["Escape"]);
    tmux.wait_for(&["▾ ", "⏎ detail"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not back:\n{s}"));
    tmux.send(&["?"]);
    tmux.wait_for(&["any key closes this help"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no help:\n{s}"));
    tmux.send(&["q"]);
    tmux.send(&["q"]);
    assert!(
        wait_until(Duration::from_secs(5), || !tmux.alive()),
        "q quits"
    );
}

/// A socat proxy in front of the engine's socket, in its own process group so that cutting
/// it also cuts the connections it already forwards.
struct Proxy {
    child: Child,
}

impl Proxy {
    fn start(socket: &std::path::Path) -> Proxy {
        let _ = std::fs::remove_file(socket);
        let child = Command::new("setsid")
            .arg("socat")
            .arg(format!(
                "UNIX-LISTEN:{},fork,unlink-early",
                socket.display()
            ))
            .arg("UNIX-CONNECT:/var/run/docker.sock")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (Debian package socat) runs");
        assert!(
            wait_until(Duration::from_secs(5), || socket.exists()),
            "proxy socket"
        );
        Proxy { child }
    }

    fn cut(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

#[test]
fn losing_the_engine_is_shown_and_survived() {
    let project = Project::new("cut");
    project.run("steady", 1, &["--cpus", "0.1"], &["sleep", "600"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let mut proxy = Proxy::start(&socket);
    let dokk = Dokk::new();
    let host = format!("DOCKER_HOST=unix://{}", socket.display());
    let tmux = Tmux::start("cut", 160, 30, &dokk.shell_line(&host));
    tmux.wait_for(&["steady", "● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));

    proxy.cut();
    let screen = tmux
        .wait_for(&["DISCONNECTED", "showing data"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("disconnection not shown:\n{s}"));
    assert!(
        screen.contains("steady"),
        "the last data stays on screen:\n{screen}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(tmux.alive(), "dokk keeps running without its engine");

    let _proxy = Proxy::start(&socket);
    let restored = std::time::Instant::now();
    tmux.wait_for(&["● live"], Duration::from_secs(5))
        .unwrap_or_else(|s| panic!("not live again within 5 s:\n{s}"));
    println!("live again after {:?}", restored.elapsed());
}

#[test]
fn churn_while_watching_does_not_grow_threads_or_memory() {
    let project = Project::new("rss");
    let dokk = Dokk::new();
    let tmux = Tmux::start("rss", 160, 40, &dokk.shell_line(""));
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    // Warm up: one round, so lazily allocated buffers exist before the baseline.
    let churn = |rounds: u32| {
        for round in 0..rounds {
            let id = project.run("churn", round, &["--cpus", "0.1"], &["sleep", "600"]);
            std::thread::sleep(Duration::from_millis(300));
            docker_ok(&["rm", "-f", &id]);
        }
    };
    churn(3);
    std::thread::sleep(Duration::from_secs(2));
    let threads_before = proc_status(tmux.pid, "Threads");
    let rss_before = proc_status(tmux.pid, "VmRSS");
    churn(25);
    std::thread::sleep(Duration::from_secs(3));
    assert!(tmux.alive(), "dokk survived the churn");
    let threads_after = proc_status(tmux.pid, "Threads");
    let rss_after = proc_status(tmux.pid, "VmRSS");
    println!("threads {threads_before} -> {threads_after}, RSS {rss_before} kB -> {rss_after} kB");
    assert!(
        threads_before > 0 && rss_before > 0,
        "read /proc/{}/status",
        tmux.pid
    );
    assert!(
        threads_after <= threads_before,
        "threads grew: {threads_before} -> {threads_after}"
    );
    assert!(
        rss_after < rss_before + 4096,
        "RSS grew by more than 4 MiB: {rss_before} -> {rss_after} kB"
    );
    let screen = tmux.capture();
    assert!(
        !screen.contains(&project.name),
        "removed containers are gone from the screen:\n{screen}"
    );
}
