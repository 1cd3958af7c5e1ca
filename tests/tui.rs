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

/// Filters the fleet down to one service by name, so it is the selected row.
fn select_only(tmux: &Tmux, name: &str) {
    tmux.send(&[":", &format!("filter {name}"), "Enter"]);
    tmux.wait_for(
        &[&format!("filter: {name}"), &format!("▾ {name}")],
        SCREEN_TIMEOUT,
    )
    .unwrap_or_else(|s| panic!("{name} not alone on screen:\n{s}"));
}

#[test]
fn hostile_logs_never_reach_the_terminal_raw() {
    let project = Project::new("evil");
    let id = project.run("hostile", 1, &[], &["sh", "-c", common::HOSTILE_SCRIPT]);
    assert!(wait_until(SCREEN_TIMEOUT, || docker_ok(&["logs", &id])
        .contains("END-OF-HOSTILE")));
    let dokk = Dokk::new();
    let tmux = Tmux::start("evil", 140, 30, &dokk.shell_line(""));
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    let title_before = tmux.title();
    select_only(&tmux, &project.name);
    tmux.send(&["l"]);
    let screen = tmux
        .wait_for(
            &[
                "END-OF-HOSTILE",
                "red plain",
                "after-title",
                "bellhere",
                "30%",
            ],
            SCREEN_TIMEOUT,
        )
        .unwrap_or_else(|s| panic!("log lines not shown:\n{s}"));
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "raw ESC or BEL on screen"
    );
    assert!(!screen.contains("pwned"), "{screen}");
    assert_eq!(tmux.title(), title_before, "the pane title did not change");
    // Still responsive after the 1 MB line: toggles and search answer at once.
    tmux.send(&["t"]);
    tmux.wait_for(&["· time"], Duration::from_secs(2))
        .unwrap_or_else(|s| panic!("t did nothing:\n{s}"));
    // Wrapped, the long line fills the screen; the view still answers.
    tmux.send(&["w"]);
    tmux.wait_for(&["· wrap"], Duration::from_secs(2))
        .unwrap_or_else(|s| panic!("w did nothing:\n{s}"));
    tmux.send(&["/", "bell"]);
    tmux.wait_for(&["matching lines"], Duration::from_secs(2))
        .unwrap_or_else(|s| panic!("no search:\n{s}"));
    tmux.send(&["Escape"]);
    tmux.send(&["Escape"]);
    tmux.wait_for(&["⏎ detail"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not back:\n{s}"));
}

#[test]
fn a_shell_in_a_busybox_container_as_a_non_root_user() {
    let project = Project::new("shell");
    project.run("box", 1, &["--user", "1000"], &["sleep", "600"]);
    let dokk = Dokk::new();
    let tmux = Tmux::start("shell", 120, 30, &dokk.shell_line(""));
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    select_only(&tmux, &project.name);
    tmux.send(&["s"]);
    tmux.wait_for(&["`exit` returns to dokk", "/ $"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no shell prompt:\n{s}"));
    tmux.send(&["-l", "echo hi-$((40+2)) uid=$(id -u)"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["hi-42 uid=1000"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no output:\n{s}"));
    // The window size is passed on, and follows a resize.
    tmux.send(&["-l", "echo size=$(stty size)"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["size=30 120"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("size not passed:\n{s}"));
    tmux.resize(100, 24);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["-l", "echo resized=$(stty size)"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["resized=24 100"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("resize not followed:\n{s}"));
    tmux.send(&["-l", "exit"]);
    tmux.send(&["Enter"]);
    let screen = tmux
        .wait_for(&["▾ ", "back from the shell"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not back after exit:\n{s}"));
    assert!(
        screen.contains(&project.name),
        "exactly where it was: still filtered\n{screen}"
    );
    // dokk reads keys again.
    tmux.send(&["?"]);
    tmux.wait_for(&["any key closes this help"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("keys lost:\n{s}"));
}

#[test]
fn a_shell_in_a_stopped_container_or_a_read_only_context_is_refused_clearly() {
    let project = Project::new("noshell");
    let stopped = project.run("stopped", 1, &[], &["true"]);
    assert!(wait_until(SCREEN_TIMEOUT, || docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}}",
        &stopped
    ]) == "exited"));
    project.run("guarded", 1, &[], &["sleep", "600"]);
    let shell_less = common::image_without_shell();
    let bare = format!("com.docker.compose.project={}", project.name);
    let bare_name = format!("{}-bare-1", project.name);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &bare_name,
        "--label",
        &bare,
        "--label",
        "com.docker.compose.service=bare",
        "--label",
        "com.docker.compose.container-number=1",
        &shell_less,
        "/busybox",
        "sleep",
        "600",
    ]);
    let dokk = Dokk::new();
    let tmux = Tmux::start("noshell", 140, 30, &dokk.shell_line(""));
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    select_only(&tmux, &project.name);
    // Sorted by name: "bare", "guarded", then "stopped".
    tmux.send(&["s"]);
    tmux.wait_for(&["has no shell: tried bash, sh, ash"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no clear message for an image without a shell:\n{s}"));
    tmux.send(&["j", "j", "s"]);
    tmux.wait_for(&["is not running (exited with 0)"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no clear message:\n{s}"));
    drop(tmux);

    let tmux = Tmux::start(
        "readonly",
        140,
        30,
        &format!("{} --readonly", dokk.shell_line("")),
    );
    tmux.wait_for(&["READ-ONLY"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no READ-ONLY badge:\n{s}"));
    select_only(&tmux, &project.name);
    tmux.send(&["s"]);
    tmux.wait_for(&["refused: exec in", "read-only"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("exec not refused:\n{s}"));
}

/// `r` on a service: a dialog shows the change, `y` rolls back, the progress ends stable, and
/// the engine runs the previous image.
#[test]
fn rollback_from_the_console_with_the_confirm_dialog() {
    let v1 = common::version_image("v1", true);
    let v2 = common::version_image("v2", true);
    let project = Project::new("tuiroll");
    let args = ["--health-cmd", "test -f /ok", "--health-interval", "1s"];
    project.run_image("web", 1, &args, &v1, &["sleep", "600"]);
    assert!(wait_until(Duration::from_secs(30), || {
        project.ids().iter().all(|id| {
            common::docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", id]) == "healthy"
        })
    }));
    let dokk = Dokk::new();
    let audit = dokk.home.path().join("audit.jsonl");
    let service = format!("{}/web", project.name);
    let output = dokk
        .command()
        .env("DOKK_AUDIT_LOG", &audit)
        .args(["deploy", &service, "--image", &v2, "--yes"])
        .output()
        .expect("dokk runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let line = dokk.shell_line(&format!("DOKK_AUDIT_LOG={}", audit.display()));
    let tmux = Tmux::start("rollback", 140, 40, &line);
    tmux.wait_for(&[&project.name], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not shown:\n{s}"));
    select_only(&tmux, &project.name);
    // `h`: the images it ran, the live one marked.
    tmux.send(&["h"]);
    tmux.wait_for(&["History of", "● live", &v1], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no history:\n{s}"));
    tmux.send(&["Escape"]);
    tmux.send(&["r"]);
    let dialog = tmux
        .wait_for(
            &["Roll back", &format!("{v2} → {v1}"), "y / Enter"],
            SCREEN_TIMEOUT,
        )
        .unwrap_or_else(|s| panic!("no confirm dialog:\n{s}"));
    assert!(dialog.contains("n / Esc"), "{dialog}");
    tmux.send(&["y"]);
    tmux.wait_for(&["✓ rollback", "stable"], Duration::from_secs(90))
        .unwrap_or_else(|s| panic!("rollback did not end stable:\n{s}"));
    let images: Vec<String> = project
        .ids()
        .iter()
        .map(|id| common::docker_ok(&["inspect", "--format", "{{.Config.Image}}", id]))
        .collect();
    assert_eq!(images, [v1]);
}

/// `d` on a service: the image field starts on the image it runs, Ctrl-U clears it, Tab
/// completes from the engine's images, Enter shows the change with what the new image's
/// defaults bring, `y` deploys it to stable. A deploy to an image that never turns healthy
/// ends failed, and the service runs what it ran before.
#[test]
fn deploy_from_the_console_with_completion_the_diff_and_a_revert() {
    let v1 = common::version_image("v1", true);
    let v2 = common::derived_image(
        "dokk-deploy-test:v2-console",
        &common::version_image("v2", true),
        &["ENV RELEASE=2", "LABEL dokk.test.release=2"],
    );
    let broken = common::version_image("v3", false);
    let project = Project::new("tuideploy");
    let args = ["--health-cmd", "test -f /ok", "--health-interval", "1s"];
    project.run_image("web", 1, &args, &v1, &["sleep", "600"]);
    let images = || -> Vec<String> {
        project
            .ids()
            .iter()
            .map(|id| common::docker_ok(&["inspect", "--format", "{{.Config.Image}}", id]))
            .collect()
    };
    assert!(wait_until(Duration::from_secs(30), || {
        project.ids().iter().all(|id| {
            common::docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", id]) == "healthy"
        })
    }));
    let dokk = Dokk::new();
    let audit = dokk.home.path().join("audit.jsonl");
    let line = dokk.shell_line(&format!("DOKK_AUDIT_LOG={}", audit.display()));
    let tmux = Tmux::start("deploy", 160, 40, &line);
    tmux.wait_for(&[&project.name], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not shown:\n{s}"));
    select_only(&tmux, &project.name);

    tmux.send(&["d"]);
    tmux.wait_for(&["image: ", &v1, "Tab completes"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no image field on the running image:\n{s}"));
    tmux.send(&["C-u"]);
    tmux.send(&["-l", "dokk-deploy-test:v2-c"]);
    tmux.send(&["Tab"]);
    tmux.wait_for(&[&format!("image: {v2}")], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("Tab did not complete {v2}:\n{s}"));
    tmux.send(&["Enter"]);
    let dialog = tmux
        .wait_for(
            &[
                "Deploy",
                &format!("{v1} → {v2}"),
                "env: + RELEASE",
                "label: + dokk.test.release=2",
                "y / Enter",
            ],
            SCREEN_TIMEOUT,
        )
        .unwrap_or_else(|s| panic!("no confirm dialog with the diff:\n{s}"));
    assert!(
        !dialog.contains("command:"),
        "the command is the container's own:\n{dialog}"
    );
    tmux.send(&["y"]);
    tmux.wait_for(&["✓ deploy", "stable"], Duration::from_secs(90))
        .unwrap_or_else(|s| panic!("deploy did not end stable:\n{s}"));
    assert_eq!(images(), std::slice::from_ref(&v2));

    tmux.send(&["Escape"]);
    tmux.send(&["d", "C-u"]);
    tmux.send(&["-l", &broken]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["Deploy", &format!("{v2} → {broken}")], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no confirm dialog:\n{s}"));
    tmux.send(&["y"]);
    let failed = tmux
        .wait_for(
            &["✗ deploy", "failed", "rolled back"],
            Duration::from_secs(150),
        )
        .unwrap_or_else(|s| panic!("the broken deploy did not end failed:\n{s}"));
    assert!(failed.contains(&format!("runs {v2} again")), "{failed}");
    assert_eq!(images(), [v2]);
    let audit = std::fs::read_to_string(&audit).expect("audit log");
    assert_eq!(audit.lines().count(), 2, "{audit}");
    assert!(audit.contains("\"result\":\"failed\""), "{audit}");
}

/// The smallest t4g type with at least `cpu` vCPUs and `memory` bytes (from AWS's pages, as
/// in data/ec2-instance-types.toml), or `None` when no t4g is that large.
fn smallest_t4g(cpu: f64, memory: u64) -> Option<&'static str> {
    const GIB: u64 = 1 << 30;
    [
        ("t4g.nano", 2, GIB / 2),
        ("t4g.micro", 2, GIB),
        ("t4g.small", 2, 2 * GIB),
        ("t4g.medium", 2, 4 * GIB),
        ("t4g.large", 2, 8 * GIB),
        ("t4g.xlarge", 4, 16 * GIB),
        ("t4g.2xlarge", 8, 32 * GIB),
    ]
    .into_iter()
    .find(|(_, vcpus, mem)| f64::from(*vcpus) >= cpu && *mem >= memory)
    .map(|(name, _, _)| name)
}

#[test]
fn a_what_if_that_does_not_fit_names_the_smallest_instance_type() {
    let project = Project::new("advice");
    project.run(
        "advice-web",
        1,
        &["--cpus", "0.5", "--memory", "256m"],
        &["sleep", "600"],
    );
    let dokk = Dokk::new();
    std::fs::write(
        dokk.config(),
        "default_context = \"evergreen\"\n[contexts.evergreen]\nkind = \"docker\"\ninstance_type = \"t4g.medium\"\n",
    )
    .expect("config");
    // Ten replicas of half a core do not fit on this 2-CPU machine.
    let output = dokk
        .command()
        .args(["capacity", "--scale", "advice-web=10", "--json"])
        .output()
        .expect("dokk runs");
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let advice = &json["instance_advice"];
    assert_eq!(advice["current"], "t4g.medium", "{json:#}");
    let cpu = advice["needed_cpu"].as_f64().expect("needed_cpu");
    let memory = advice["needed_memory_bytes"].as_u64().expect("memory");
    assert!(cpu >= 5.0, "ten half-core replicas: {cpu}");
    let first = &advice["types"][0];
    match smallest_t4g(cpu, memory) {
        Some(name) => {
            assert_eq!(first["name"], name, "{advice:#}");
            assert_eq!(first["same_family"], true);
        }
        None => assert_eq!(first["same_family"], false, "{advice:#}"),
    }
    for t in advice["types"].as_array().expect("types") {
        assert_eq!(t["architecture"], "arm64", "the images are arm64: {t}");
        assert!(t["vcpus"].as_f64().unwrap_or(0.0) >= cpu, "{t}");
        assert!(t["memory_bytes"].as_u64().unwrap_or(0) >= memory, "{t}");
    }
    let expected = first["name"].as_str().expect("a type").to_string();

    // The same in the console's capacity view.
    let tmux = Tmux::start("advice", 160, 50, &dokk.shell_line(""));
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    tmux.send(&[":", "scale advice-web=10", "Enter"]);
    let screen = tmux
        .wait_for(
            &[
                "does not fit",
                "instance types that hold",
                "(now t4g.medium)",
            ],
            SCREEN_TIMEOUT,
        )
        .unwrap_or_else(|s| panic!("no advice on screen:\n{s}"));
    assert!(
        screen.contains(&expected),
        "{expected} not named:\n{screen}"
    );
}
