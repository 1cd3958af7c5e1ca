//! dokk on a laptop, the engine over SSH (seed 000's way in), against a real sshd on
//! 127.0.0.1 left at its defaults (MaxStartups 10:30:100) and 50 real containers: status,
//! logs, capacity, the console, a shell, a deploy, a dropped connection, every way dokk ends,
//! the errors a new user meets, and a Docker CLI context. Each test has its own sshd, so the
//! connections it accepted are counted exactly; after each, no ssh process of dokk's is left.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::ssh::Sshd;
use common::{Dokk, Project, Tmux, docker_ok, version_image, wait_until};
use serde_json::Value;

const SCREEN_TIMEOUT: Duration = Duration::from_secs(20);
const FLEET: usize = 50;

/// `FLEET` containers in one Compose project: a CPU burner at a quarter of a core, a logger,
/// and idle replicas of six services with limits, started a few at a time.
fn fleet(project: &Project) {
    project.run(
        "burner",
        1,
        &["--cpus", "0.25", "--memory", "32m"],
        &["sh", "-c", "while :; do :; done"],
    );
    project.run(
        "logger",
        1,
        &["--memory", "32m"],
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done",
        ],
    );
    let rest: Vec<usize> = (0..FLEET - 2).collect();
    std::thread::scope(|scope| {
        for chunk in rest.chunks(FLEET.div_ceil(6)) {
            scope.spawn(move || {
                for &n in chunk {
                    let service = format!("idle{}", n % 6);
                    project.run(
                        &service,
                        n as u32 + 1,
                        &["--cpus", "0.05", "--memory", "16m"],
                        &["sleep", "900"],
                    );
                }
            });
        }
    });
    assert_eq!(project.ids().len(), FLEET);
}

fn ssh_context(dokk: &Dokk, address: &str) {
    std::fs::write(
        dokk.config(),
        format!("[contexts.evergreen]\nkind = \"docker\"\nhost = \"{address}\"\n"),
    )
    .expect("config");
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dokk: &Dokk, ssh_command: &str, args: &[&str]) -> Run {
    let output = dokk
        .command()
        .env("DOKK_SSH_COMMAND", ssh_command)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("dokk runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The services of `project` in `dokk status --json`, without what changes between two runs.
fn services_of(status: &Value, project: &str) -> Vec<Value> {
    status["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter(|s| s["project"] == project)
        .map(|s| {
            let mut s = s.clone();
            for key in ["cpu_percent", "memory_bytes", "started_at"] {
                s.as_object_mut().map(|o| o.remove(key));
            }
            s
        })
        .collect()
}

fn cpu_of(status: &Value, project: &str, service: &str) -> f64 {
    status["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["project"] == project && s["name"] == service)
        .and_then(|s| s["cpu_percent"].as_f64())
        .unwrap_or_else(|| panic!("no CPU figure for {service}"))
}

/// `docker stats --no-stream`'s CPU % of one container.
fn docker_stats_cpu(id: &str) -> f64 {
    docker_ok(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", id])
        .trim_end_matches('%')
        .parse()
        .expect("a percentage")
}

fn assert_no_ssh_left(sshd: &Sshd, when: &str) {
    let left = sshd.client_processes_after_exit();
    assert!(left.is_empty(), "ssh left running after {when}: {left:?}");
}

#[test]
fn a_fleet_of_50_over_ssh_status_logs_capacity_and_every_way_dokk_ends() {
    let project = Project::new("sshfleet");
    fleet(&project);
    let sshd = Sshd::start();
    let dokk = Dokk::new();
    ssh_context(&dokk, &sshd.address());
    let ssh = sshd.ssh_command();

    // status: one connection for 50 inspects and 50 stats, the same fleet as locally.
    let before = sshd.accepted();
    let remote = run(&dokk, &ssh, &["--context", "evergreen", "status", "--json"]);
    assert_eq!(remote.code, Some(0), "{}", remote.stderr);
    assert_eq!(
        sshd.accepted() - before,
        1,
        "one SSH connection per dokk run"
    );
    assert_eq!(sshd.refused_early(), 0, "{}", sshd.log());
    assert_no_ssh_left(&sshd, "status");
    let local = run(&dokk, &ssh, &["status", "--json"]);
    assert_eq!(local.code, Some(0), "{}", local.stderr);
    let remote: Value = serde_json::from_str(&remote.stdout).expect("JSON");
    let local: Value = serde_json::from_str(&local.stdout).expect("JSON");
    let remote_services = services_of(&remote, &project.name);
    assert_eq!(remote_services.len(), 8);
    assert_eq!(remote_services, services_of(&local, &project.name));
    let burner = &project.ids()[..]
        .iter()
        .find(|id| docker_ok(&["inspect", "--format", "{{.Name}}", id]).contains("burner"))
        .expect("the burner")
        .clone();
    let reference = docker_stats_cpu(burner);
    let over_ssh = cpu_of(&remote, &project.name, "burner");
    println!("burner CPU: over SSH {over_ssh:.1} %, docker stats {reference:.1} %");
    assert!(
        (over_ssh - reference).abs() <= 5.0,
        "over SSH {over_ssh} vs docker stats {reference}"
    );

    // logs and capacity.
    let logger = format!("{}/logger", project.name);
    let logs = run(
        &dokk,
        &ssh,
        &["--context", "evergreen", "logs", &logger, "--tail", "3"],
    );
    assert_eq!(logs.code, Some(0), "{}", logs.stderr);
    assert_eq!(
        logs.stdout.lines().filter(|l| l.contains("tick-")).count(),
        3,
        "{}",
        logs.stdout
    );
    let capacity = run(
        &dokk,
        &ssh,
        &["--context", "evergreen", "capacity", "--json"],
    );
    assert!(
        matches!(capacity.code, Some(0 | 1)),
        "{}{}",
        capacity.stdout,
        capacity.stderr
    );
    let capacity: Value = serde_json::from_str(&capacity.stdout).expect("capacity JSON");
    assert!(capacity["fits"].is_boolean(), "{capacity}");
    assert_no_ssh_left(&sshd, "logs and capacity");

    // SIGTERM and SIGHUP while following logs, and kill -9: no ssh stays behind.
    for signal in ["TERM", "HUP", "KILL"] {
        let mut child = dokk
            .command()
            .env("DOKK_SSH_COMMAND", &ssh)
            .args(["--context", "evergreen", "logs", &logger, "--follow"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dokk runs");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 16];
        std::io::Read::read_exact(&mut stdout, &mut first).expect("logs arrive");
        assert!(!sshd.client_processes().is_empty(), "dokk's ssh is running");
        let pid = child.id().to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let _ = child.wait();
        assert_no_ssh_left(&sshd, &format!("SIG{signal}"));
    }
}

#[test]
fn the_console_over_ssh_reads_cgroups_on_the_host_opens_a_shell_and_survives_a_drop() {
    let project = Project::new("sshtui");
    project.run(
        "burner",
        1,
        &["--cpus", "0.25", "--memory", "32m"],
        &["sh", "-c", "while :; do :; done"],
    );
    project.run("box", 1, &["--memory", "32m"], &["sleep", "900"]);
    let mut sshd = Sshd::start();
    let dokk = Dokk::new();
    ssh_context(&dokk, &sshd.address());
    let env = format!("DOKK_SSH_COMMAND='{}'", sshd.ssh_command());
    let line = format!("{} --context evergreen", dokk.shell_line(&env));
    let before = sshd.accepted();
    let tmux = Tmux::start("sshtui", 160, 40, &line);
    tmux.wait_for(
        &["● live", "usage read from cgroups on the host over SSH"],
        SCREEN_TIMEOUT,
    )
    .unwrap_or_else(|s| panic!("not live over SSH:\n{s}"));
    tmux.send(&[":", &format!("filter {}", project.name), "Enter"]);
    // The burner's quarter of a core, measured on the host.
    let burner_cores = |screen: &str| -> Option<f64> {
        let row = screen.lines().find(|l| l.contains("burner"))?;
        row.split_whitespace()
            .find_map(|w| w.strip_suffix("/0.25")?.parse().ok())
    };
    let mut screen = String::new();
    let measured = wait_until(SCREEN_TIMEOUT, || {
        screen = tmux.capture();
        burner_cores(&screen).is_some()
    });
    assert!(measured, "no usage for the burner:\n{screen}");
    let cores = burner_cores(&screen).unwrap_or_default();
    assert!((0.2..=0.27).contains(&cores), "{cores}:\n{screen}");

    // A shell in `box` (the selected row, first by name), through the same connection.
    tmux.send(&["s"]);
    tmux.wait_for(&["`exit` returns to dokk"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no shell:\n{s}"));
    tmux.send(&["-l", "echo over-ssh-$((40+2))"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["over-ssh-42"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no output from the shell:\n{s}"));
    tmux.send(&["-l", "exit"]);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["back from the shell"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("not back from the shell:\n{s}"));
    assert_eq!(
        sshd.accepted() - before,
        1,
        "the shell used the same connection"
    );

    // The host drops off the network: shown as a lost engine, and recovered from.
    sshd.go_away();
    tmux.wait_for(&["DISCONNECTED"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("the drop is not shown:\n{s}"));
    sshd.come_back();
    tmux.wait_for(
        &["● live", "usage read from cgroups on the host over SSH"],
        SCREEN_TIMEOUT,
    )
    .unwrap_or_else(|s| panic!("not live again:\n{s}"));
    assert_eq!(
        sshd.accepted() - before,
        2,
        "one reconnect, one more connection"
    );
    assert_eq!(
        sshd.client_processes().len(),
        1,
        "{:?}",
        sshd.client_processes()
    );

    tmux.send(&["q"]);
    assert!(wait_until(Duration::from_secs(5), || !tmux.alive()));
    assert_no_ssh_left(&sshd, "q");

    // Killed outright: its ssh ends with it.
    let tmux = Tmux::start("sshtui-kill", 120, 30, &line);
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("not live over SSH:\n{s}"));
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &tmux.pid.to_string()])
        .status();
    assert_no_ssh_left(&sshd, "kill -9");
}

#[test]
fn a_deploy_over_ssh() {
    let v1 = version_image("ssh-v1", true);
    let v2 = version_image("ssh-v2", true);
    let project = Project::new("sshdeploy");
    let health = [
        "--health-cmd",
        "test -f /ok",
        "--health-interval",
        "1s",
        "--memory",
        "32m",
    ];
    project.run_image("api", 1, &health, &v1, &["sleep", "900"]);
    let sshd = Sshd::start();
    let dokk = Dokk::new();
    ssh_context(&dokk, &sshd.address());
    let service = format!("{}/api", project.name);
    let before = sshd.accepted();
    let deploy = run(
        &dokk,
        &sshd.ssh_command(),
        &[
            "--context",
            "evergreen",
            "deploy",
            &service,
            "--image",
            &v2,
            "--yes",
        ],
    );
    assert_eq!(deploy.code, Some(0), "{}{}", deploy.stdout, deploy.stderr);
    assert_eq!(sshd.accepted() - before, 1);
    let ids = project.ids();
    assert_eq!(ids.len(), 1, "one replica, not a parked one beside it");
    assert_eq!(docker_ok(&["exec", &ids[0], "cat", "/version"]), "ssh-v2");
    assert_no_ssh_left(&sshd, "deploy");
}

#[test]
fn ssh_errors_say_what_to_do() {
    let sshd = Sshd::start();
    let dokk = Dokk::new();
    let status = |address: &str, ssh: &str| {
        ssh_context(&dokk, address);
        let result = run(&dokk, ssh, &["--context", "evergreen", "status"]);
        assert_eq!(result.code, Some(1), "{}{}", result.stdout, result.stderr);
        assert_no_ssh_left(&sshd, address);
        result.stderr
    };
    let unknown_key = status(
        &sshd.address(),
        &Sshd::ssh_command_with(&sshd.config_without_host_key()),
    );
    assert!(
        unknown_key.contains("host key of 127.0.0.1 is not known")
            && unknown_key.contains("run `ssh root@127.0.0.1` once"),
        "{unknown_key}"
    );
    let wrong_key = status(
        &sshd.address(),
        &Sshd::ssh_command_with(&sshd.config_with_wrong_key()),
    );
    assert!(
        wrong_key.contains("refused the login") && wrong_key.contains("ssh-add"),
        "{wrong_key}"
    );
    let no_engine = status(
        &format!("{}/run/dokk-test-no-engine.sock", sshd.address()),
        &sshd.ssh_command(),
    );
    assert!(
        no_engine.contains("no Docker engine socket at /run/dokk-test-no-engine.sock")
            && no_engine.contains("systemctl status docker"),
        "{no_engine}"
    );
    let closed_port = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        status(&format!("ssh://root@127.0.0.1:{port}"), &sshd.ssh_command())
    };
    assert!(
        closed_port.contains("nothing listens for SSH"),
        "{closed_port}"
    );
}

#[test]
fn a_docker_cli_context_works_with_no_dokk_config() {
    let project = Project::new("sshctx");
    project.run("web", 1, &["--memory", "32m"], &["sleep", "900"]);
    let sshd = Sshd::start();
    let dokk = Dokk::new();
    let docker_config = tempfile::tempdir().expect("tempdir");
    let name = format!("dokktest-ctx-{}", std::process::id());
    let docker_cli = |args: &[&str]| {
        let output = std::process::Command::new("docker")
            .env("DOCKER_CONFIG", docker_config.path())
            .args(args)
            .output()
            .expect("docker runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let host = format!("host={}", sshd.address());
    docker_cli(&["context", "create", &name, "--docker", &host]);
    let status = |args: &[&str]| {
        let output = dokk
            .command()
            .env("DOCKER_CONFIG", docker_config.path())
            .env("DOKK_SSH_COMMAND", sshd.ssh_command())
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .args(args)
            .output()
            .expect("dokk runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        json
    };
    let named = status(&["--context", &name, "status", "--json"]);
    assert_eq!(named["context"], name.as_str());
    assert_eq!(named["host"]["address"], sshd.address().as_str());
    assert_eq!(services_of(&named, &project.name).len(), 1);
    // `docker context use` makes it the one dokk opens with no --context.
    docker_cli(&["context", "use", &name]);
    let current = status(&["status", "--json"]);
    assert_eq!(current["context"], name.as_str());
    assert_eq!(sshd.accepted(), 2);
    assert_no_ssh_left(&sshd, "status");
}
