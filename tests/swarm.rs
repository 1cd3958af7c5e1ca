//! The Swarm backend against a real three-node swarm (tests/swarm-lab.sh: three dockerd in
//! their own network namespaces): status as the manager reports it, reservations per node,
//! capacity checked against the real scheduler, deploys that keep the whole spec, a crashing
//! image rolled back, rollback and `--to`, logs across nodes, read-only, a node lost and back.
//! The tests share the lab, so they take turns.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::swarm::{Lab, LabService, NODES, lab};
use common::wait_until;
use serde_json::Value;

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(dokk: &common::Dokk, args: &[&str]) -> (i32, String, String) {
    let output = dokk.command().args(args).output().expect("dokk runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn status(lab: &Lab) -> Value {
    let (code, out, err) = run(&lab.dokk(false), &["status", "--json"]);
    assert_eq!(code, 0, "dokk status failed: {err}");
    serde_json::from_str(&out).expect("status JSON")
}

fn spec(lab: &Lab, service: &str) -> Value {
    let json: Value =
        serde_json::from_str(&lab.docker(&["service", "inspect", service])).expect("inspect JSON");
    json[0]["Spec"].clone()
}

fn image(lab: &Lab, service: &str) -> String {
    lab.docker(&[
        "service",
        "inspect",
        service,
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ])
}

#[test]
fn status_shows_what_the_manager_reports_with_reservations_summed_per_node() {
    let _turn = turn();
    let lab = lab();
    let web = LabService::create(
        &lab,
        "t-status",
        &[
            "--replicas",
            "4",
            "--reserve-cpu",
            "0.25",
            "--reserve-memory",
            "32M",
            "--limit-cpu",
            "0.5",
            "--label",
            "traefik.http.routers.web.rule=Host(`grades.example.edu`)",
            "dokk-swarm/app:v1",
        ],
    );
    lab.wait_running(&web.name, 4);
    let manager = lab.running_tasks(&web.name);
    let nodes: std::collections::BTreeSet<&str> = manager.iter().map(|(_, n)| n.as_str()).collect();
    assert!(nodes.len() >= 2, "4 tasks on one node: {manager:?}");

    let status = status(&lab);
    assert_eq!(status["kind"], "swarm");
    let service = status["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "t-status")
        .expect("t-status in the status");
    assert_eq!(service["replicas_running"], 4);
    assert_eq!(service["replicas_total"], 4);
    assert_eq!(service["image"], "dokk-swarm/app:v1");
    assert_eq!(service["cpu_reservation_cores"], 0.25);
    assert_eq!(service["memory_reservation_bytes"], 32 << 20);
    assert_eq!(service["cpu_limit_cores"], 0.5);
    assert_eq!(service["route"], "grades.example.edu");
    // Each running task on the node the manager names.
    let mut shown: Vec<(String, String)> = service["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["state"] == "running" && t["desired_state"] == "running")
        .map(|t| {
            (
                format!("t-status.{}", t["slot"]),
                t["node"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    shown.sort();
    let mut expected = manager.clone();
    expected.sort();
    assert_eq!(shown, expected);

    // Reserved per node: the sum over the tasks running there, as the manager places them.
    for node in status["nodes"].as_array().expect("nodes") {
        let hostname = node["hostname"].as_str().expect("hostname");
        assert!(NODES.contains(&hostname), "unknown node {hostname}");
        let here = lab
            .docker(&[
                "node",
                "ps",
                hostname,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Name}} {{.CurrentState}}",
            ])
            .lines()
            .filter(|l| l.starts_with("t-status.") && l.contains("Running"))
            .count();
        let cpu = node["cpu_reserved_cores"].as_f64().expect("cpu reserved");
        let memory = node["memory_reserved_bytes"]
            .as_u64()
            .expect("memory reserved");
        assert!(
            (cpu - 0.25 * here as f64).abs() < 1e-9,
            "{hostname}: {cpu} cores reserved for {here} tasks"
        );
        assert_eq!(memory, here as u64 * (32 << 20), "{hostname}");
        assert_eq!(node["state"], "ready");
        assert!(
            node["zone"]
                .as_str()
                .is_some_and(|z| z.starts_with("eu-west-1"))
        );
        assert!(
            node["usage_missing"].is_null(),
            "{hostname}: {}",
            node["usage_missing"]
        );
    }
    let warnings = status["warnings"].to_string();
    assert!(warnings.contains("single manager"), "{warnings}");
}

#[test]
fn capacity_fits_exactly_the_room_the_scheduler_finds() {
    let _turn = turn();
    let lab = lab();
    let dokk = lab.dokk(false);
    // Reservations of half the CPUs of a node: the room is what is left on each node.
    let cpus: f64 = lab
        .docker(&[
            "node",
            "inspect",
            NODES[0],
            "--format",
            "{{.Description.Resources.NanoCPUs}}",
        ])
        .parse::<f64>()
        .expect("NanoCPUs")
        / 1e9;
    let each = format!("{}", cpus / 4.0);
    let cases: [(&str, Vec<&str>); 3] = [
        ("t-cap", vec![]),
        (
            "t-cap-zone",
            vec!["--constraint", "node.labels.zone==eu-west-1b"],
        ),
        ("t-cap-spread", vec!["--replicas-max-per-node", "1"]),
    ];
    for (name, extra) in cases {
        let mut args = vec!["--replicas", "1", "--reserve-cpu", each.as_str()];
        args.extend(extra.iter().copied());
        args.push("dokk-swarm/app:v1");
        let service = LabService::create(&lab, name, &args);
        lab.wait_running(name, 1);
        let (code, out, err) = run(
            &dokk,
            &["capacity", "--json", "--scale", &format!("{name}=1")],
        );
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(&out).expect("capacity JSON");
        let room: u64 = report["scale"][0]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["room"].as_u64().expect("a bounded room"))
            .sum();
        let most = room + 1;
        let (fits, _, _) = run(&dokk, &["capacity", "--scale", &format!("{name}={most}")]);
        let (over, _, _) = run(
            &dokk,
            &["capacity", "--scale", &format!("{name}={}", most + 1)],
        );
        assert_eq!((fits, over), (0, 1), "{name}: room {room}");
        // The real scheduler agrees: one more than the room stays pending.
        lab.docker(&["service", "scale", "-d", &format!("{name}={}", most + 1)]);
        lab.wait_running(name, most as usize);
        let pending = || {
            lab.docker(&[
                "service",
                "ps",
                name,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.CurrentState}}",
            ])
            .lines()
            .filter(|l| l.starts_with("Pending"))
            .count()
        };
        assert!(
            wait_until(Duration::from_secs(20), || pending() == 1),
            "{name}: expected one task pending, the manager shows {}",
            pending()
        );
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(lab.running_tasks(name).len(), most as usize, "{name}");
        let status = status(&lab);
        let reason = status["services"]
            .as_array()
            .expect("services")
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| {
                s["tasks"]
                    .as_array()?
                    .iter()
                    .find(|t| t["state"] == "pending")
                    .map(|t| format!("{} {}", t["error"], t["message"]))
            })
            .unwrap_or_default();
        assert!(reason.contains("no suitable node"), "{name}: {reason}");
        drop(service);
    }
}

#[test]
fn a_deploy_keeps_the_whole_spec_a_crash_rolls_back_and_rollbacks_work() {
    let _turn = turn();
    let lab = lab();
    let dokk = lab.dokk(false);
    let web = LabService::create(
        &lab,
        "t-deploy",
        &[
            "--replicas",
            "2",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            "--env",
            "GREETING=hello",
            "--mount",
            "type=volume,src=t-deploy-data,dst=/data",
            "--label",
            "team=grades",
            "--container-label",
            "kept=yes",
            "--constraint",
            "node.role!=nobody",
            "--reserve-cpu",
            "0.1",
            "--limit-memory",
            "64M",
            "--update-parallelism",
            "1",
            "--update-delay",
            "1s",
            "--update-monitor",
            "3s",
            "--update-failure-action",
            "rollback",
            "--rollback-monitor",
            "2s",
            "dokk-swarm/app:v1",
        ],
    );
    lab.wait_running(&web.name, 2);
    let before = spec(&lab, &web.name);
    assert!(
        !before["TaskTemplate"]["ContainerSpec"]["Healthcheck"].is_null(),
        "the test service has a health check"
    );
    let wait = ["--yes", "--wait", "--poll", "1s", "--timeout", "3m"];

    let mut args = vec!["deploy", "t-deploy", "--image", "dokk-swarm/app:v2"];
    args.extend(wait);
    let (code, out, err) = run(&dokk, &args);
    assert_eq!(code, 0, "deploy failed: {out}{err}");
    assert!(out.contains("stable"), "{out}");
    assert!(
        err.contains("t-deploy.1") && err.contains("running"),
        "per-task progress: {err}"
    );
    let mut after = spec(&lab, &web.name);
    assert_eq!(
        after["TaskTemplate"]["ContainerSpec"]["Image"],
        "dokk-swarm/app:v2"
    );
    after["TaskTemplate"]["ContainerSpec"]["Image"] =
        before["TaskTemplate"]["ContainerSpec"]["Image"].clone();
    assert_eq!(after, before, "only the image may change");
    lab.wait_running(&web.name, 2);

    // A crashing image: Swarm's failure action puts v2 back; dokk says so and exits 1.
    let mut args = vec!["deploy", "t-deploy", "--image", "dokk-swarm/app:v3-bad"];
    args.extend(wait);
    let (code, out, err) = run(&dokk, &args);
    assert_eq!(code, 1, "a failed rollout exits 1: {out}{err}");
    assert!(out.contains("rolled back"), "{out}");
    assert_eq!(image(&lab, &web.name), "dokk-swarm/app:v2");

    // --to an image from the journal, then Swarm's own rollback to the spec before it.
    let mut args = vec!["rollback", "t-deploy", "--to", "dokk-swarm/app:v1"];
    args.extend(wait);
    let (code, out, err) = run(&dokk, &args);
    assert_eq!(code, 0, "rollback --to: {out}{err}");
    assert_eq!(image(&lab, &web.name), "dokk-swarm/app:v1");
    let mut args = vec!["rollback", "t-deploy"];
    args.extend(wait);
    let (code, out, err) = run(&dokk, &args);
    assert_eq!(code, 0, "native rollback: {out}{err}");
    assert_eq!(image(&lab, &web.name), "dokk-swarm/app:v2");
    let mut back = spec(&lab, &web.name);
    back["TaskTemplate"]["ContainerSpec"]["Image"] =
        before["TaskTemplate"]["ContainerSpec"]["Image"].clone();
    assert_eq!(back, before, "a rollback keeps the spec too");

    // The history lists what the journal saw.
    let (code, out, _) = run(&dokk, &["history", "t-deploy"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("dokk-swarm/app:v3-bad") && out.contains("dokk-swarm/app:v1"),
        "{out}"
    );
}

#[test]
fn read_only_refuses_every_mutation_without_touching_the_service() {
    let _turn = turn();
    let lab = lab();
    let readonly = lab.dokk(true);
    let web = LabService::create(
        &lab,
        "t-readonly",
        &["--replicas", "1", "dokk-swarm/app:v1"],
    );
    let version = || {
        lab.docker(&[
            "service",
            "inspect",
            &web.name,
            "--format",
            "{{.Version.Index}}",
        ])
    };
    let before = version();
    for args in [
        vec![
            "deploy",
            "t-readonly",
            "--image",
            "dokk-swarm/app:v2",
            "--yes",
        ],
        vec!["rollback", "t-readonly", "--yes"],
        vec![
            "rollback",
            "t-readonly",
            "--to",
            "dokk-swarm/app:v2",
            "--yes",
        ],
        vec!["scale", "t-readonly=3", "--yes"],
        vec!["node", "drain", NODES[1], "--yes"],
    ] {
        let (code, _, err) = run(&readonly, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("read-only"), "{args:?}: {err}");
    }
    assert_eq!(version(), before, "the service was not updated");
    let availability = lab.docker(&[
        "node",
        "inspect",
        NODES[1],
        "--format",
        "{{.Spec.Availability}}",
    ]);
    assert_eq!(availability, "active", "the node was not drained");
}

#[test]
fn logs_merge_tasks_from_several_nodes_in_time_order() {
    let _turn = turn();
    let lab = lab();
    let dokk = lab.dokk(false);
    let web = LabService::create(
        &lab,
        "t-logs",
        &[
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "1",
            "dokk-swarm/app:v1",
        ],
    );
    lab.wait_running(&web.name, 3);
    std::thread::sleep(Duration::from_secs(3));
    let (code, out, err) = run(&dokk, &["logs", "t-logs", "--json"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let tags: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["replica"].as_str()).collect();
    let nodes: std::collections::BTreeSet<&str> = tags
        .iter()
        .filter_map(|t| t.split_once('@').map(|(_, n)| n))
        .collect();
    assert_eq!(nodes.len(), 3, "one task on each node: {tags:?}");
    let times: Vec<&str> = lines.iter().filter_map(|l| l["time"].as_str()).collect();
    assert!(times.len() >= 6, "{out}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time order: {times:?}"
    );
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("start v1 on"))
    }));
    drop(web);

    // A service with a TTY: the engine sends its logs raw, not in frames.
    let tty = LabService::create(
        &lab,
        "t-logs-tty",
        &["--replicas", "1", "--tty", "dokk-swarm/app:v1"],
    );
    lab.wait_running(&tty.name, 1);
    std::thread::sleep(Duration::from_secs(3));
    let (code, out, err) = run(&dokk, &["logs", "t-logs-tty", "--json"]);
    assert_eq!(code, 0, "{err}");
    let messages: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter_map(|l| l["message"].as_str().map(str::to_string))
        .collect();
    assert!(
        messages
            .first()
            .is_some_and(|m| m.starts_with("start v1 on")),
        "{messages:?}"
    );
    assert!(
        messages.len() >= 3 && messages[1..].iter().all(|m| m.starts_with("tick v1 ")),
        "whole lines, nothing taken for a frame header: {messages:?}"
    );
}

/// A rollout subcommand that asks nothing and follows closely, its audit log beside it.
fn change(dokk: &common::Dokk, args: &[&str]) -> (i32, Value, String) {
    let output = dokk
        .command()
        .env(
            "DOKK_AUDIT_LOG",
            dokk.config().with_file_name("audit.jsonl"),
        )
        .args(args)
        .args([
            "--yes",
            "--wait",
            "--json",
            "--poll",
            "500ms",
            "--timeout",
            "2m",
        ])
        .output()
        .expect("dokk runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        output.status.code().unwrap_or(-1),
        report,
        format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    )
}

fn task_ids(lab: &Lab, service: &str) -> Vec<String> {
    let mut ids: Vec<String> = lab
        .docker(&[
            "service",
            "ps",
            service,
            "--filter",
            "desired-state=running",
            "--format",
            "{{.ID}}",
        ])
        .lines()
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

#[test]
fn scale_and_drain_move_tasks_and_say_why_when_they_cannot() {
    let _turn = turn();
    let lab = lab();
    let dokk = lab.dokk(false);
    let web = LabService::create(
        &lab,
        "t-scale",
        &[
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "2",
            "dokk-swarm/app:v1",
        ],
    );
    lab.wait_running(&web.name, 3);
    // Whatever happens below, the node is active again for the next test.
    struct Reactivate<'a>(&'a Lab);
    impl Drop for Reactivate<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .docker_on(0, &["node", "update", "--availability", "active", NODES[1]]);
        }
    }
    let _reactivate = Reactivate(&lab);

    let (code, report, text) = change(&dokk, &["scale", "t-scale=4"]);
    assert_eq!(
        (code, report["result"].as_str()),
        (0, Some("stable")),
        "{text}"
    );
    assert_eq!(lab.running_tasks(&web.name).len(), 4);

    // A drain: the tasks on n2 start elsewhere; dokk returns once they run there.
    let (code, report, text) = change(&dokk, &["node", "drain", NODES[1]]);
    assert_eq!(
        (code, report["result"].as_str()),
        (0, Some("stable")),
        "{text}"
    );
    let running = lab.running_tasks(&web.name);
    assert_eq!(running.len(), 4, "{running:?}");
    assert!(
        running.iter().all(|(_, node)| node != NODES[1]),
        "{running:?}"
    );
    let availability = |node: &str| {
        lab.docker(&[
            "node",
            "inspect",
            node,
            "--format",
            "{{.Spec.Availability}}",
        ])
    };
    assert_eq!(availability(NODES[1]), "drain");

    // One more than two nodes at two per node hold: dokk says which task is stuck and why.
    let (code, report, text) = change(&dokk, &["scale", "t-scale=5"]);
    assert_eq!(code, 1, "{text}");
    let reason = report["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("stuck") && reason.contains("no suitable node"),
        "{text}"
    );
    let (code, report, text) = change(&dokk, &["node", "activate", NODES[1]]);
    assert_eq!(
        (code, report["result"].as_str()),
        (0, Some("stable")),
        "{text}"
    );
    assert_eq!(availability(NODES[1]), "active");
    lab.wait_running(&web.name, 5);

    // The same tag again replaces every task; an update with no task to replace ends too.
    let before = task_ids(&lab, &web.name);
    let (code, _, text) = change(
        &dokk,
        &["deploy", "t-scale", "--image", "dokk-swarm/app:v1"],
    );
    assert_eq!(code, 0, "{text}");
    let after = task_ids(&lab, &web.name);
    assert!(
        after.len() == 5 && after.iter().all(|id| !before.contains(id)),
        "{before:?} → {after:?}"
    );
    let (code, _, text) = change(&dokk, &["scale", "t-scale=0"]);
    assert_eq!(code, 0, "{text}");
    let started = std::time::Instant::now();
    let (code, _, text) = change(
        &dokk,
        &["deploy", "t-scale", "--image", "dokk-swarm/app:v2"],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(image(&lab, &web.name), "dokk-swarm/app:v2");

    // Every change is in the audit log, with what it went from and to.
    let audit =
        std::fs::read_to_string(dokk.config().with_file_name("audit.jsonl")).expect("audit log");
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an audit line"))
        .map(|l| {
            format!(
                "{} {} {}→{} {}",
                l["action"], l["service"], l["from"], l["to"], l["result"]
            )
            .replace('"', "")
        })
        .collect();
    assert_eq!(
        actions,
        [
            "scale t-scale 3 tasks→4 tasks stable",
            "drain dokksw-n2 active→drain stable",
            "scale t-scale 4 tasks→5 tasks failed",
            "activate dokksw-n2 drain→active stable",
            "deploy t-scale dokk-swarm/app:v1→dokk-swarm/app:v1 stable",
            "scale t-scale 5 tasks→0 tasks stable",
            "deploy t-scale dokk-swarm/app:v1→dokk-swarm/app:v2 stable",
        ],
        "{audit}"
    );
}

#[test]
fn a_lost_node_is_shown_down_its_tasks_move_and_it_comes_back() {
    let _turn = turn();
    let lab = lab();
    let web = LabService::create(&lab, "t-lost", &["--replicas", "3", "dokk-swarm/app:v1"]);
    lab.wait_running(&web.name, 3);
    lab.lab_script(&["kill", "3"]);
    let node_state = |status: &Value| {
        status["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["hostname"] == NODES[2]).cloned())
            .unwrap_or_default()
    };
    let down = wait_until(Duration::from_secs(60), || {
        node_state(&status(&lab))["state"] == "down"
    });
    let status_now = status(&lab);
    lab.lab_script(&["start", "3"]);
    assert!(down, "{} not down: {}", NODES[2], node_state(&status_now));
    let node = node_state(&status_now);
    assert!(
        node["usage_missing"]
            .as_str()
            .is_some_and(|w| w.contains("down")),
        "{node}"
    );
    assert!(
        status_now["warnings"]
            .to_string()
            .contains(&format!("{} down", NODES[2]))
    );
    assert!(
        wait_until(Duration::from_secs(60), || {
            let tasks = lab.running_tasks(&web.name);
            tasks.len() == 3 && tasks.iter().all(|(_, n)| n != NODES[2])
        }),
        "tasks not rescheduled off {}: {:?}",
        NODES[2],
        lab.running_tasks(&web.name)
    );
    assert!(
        wait_until(
            Duration::from_secs(60),
            || node_state(&status(&lab))["state"] == "ready"
        ),
        "{} did not come back",
        NODES[2]
    );
}

#[test]
fn the_console_shows_services_tasks_by_node_reserved_bars_and_logs() {
    let _turn = turn();
    let lab = lab();
    let dokk = lab.dokk(false);
    let web = LabService::create(
        &lab,
        "t-console",
        &[
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "1",
            "--reserve-cpu",
            "0.5",
            "--reserve-memory",
            "64M",
            "--limit-cpu",
            "1",
            "dokk-swarm/app:v1",
        ],
    );
    lab.wait_running(&web.name, 3);
    let tmux = common::Tmux::start("swarm", 180, 30, &dokk.shell_line(""));
    let wait = |needles: &[&str]| {
        tmux.wait_for(needles, Duration::from_secs(20))
            .unwrap_or_else(|screen| panic!("{needles:?} not on screen:\n{screen}"))
    };
    let screen = wait(&["Services", "t-console", "3/3", "single manager"]);
    assert!(screen.contains("(swarm)"), "{screen}");
    tmux.send(&["Enter"]);
    let screen = wait(&["SLOT", "t-console.1", "t-console.3"]);
    for node in NODES {
        assert!(
            screen.contains(node),
            "{node} missing in the tasks:\n{screen}"
        );
    }
    tmux.send(&["Escape"]);
    wait(&["STACK", "SERVICE"]);
    tmux.send(&["n"]);
    let screen = wait(&["CPU RESERVED", "leader", "eu-west-1b"]);
    assert!(screen.contains("▰"), "reserved bars:\n{screen}");
    assert!(
        screen.contains("0.50/"),
        "0.5 cores reserved on each node:\n{screen}"
    );
    tmux.send(&["Escape"]);
    wait(&["STACK", "SERVICE"]);
    tmux.send(&["l"]);
    let screen = wait(&["Logs", "@dokksw-n1", "@dokksw-n2", "@dokksw-n3", "tick v1"]);
    assert!(screen.contains("t-console (3 tasks)"), "{screen}");
    tmux.send(&["Escape"]);
    wait(&["STACK", "SERVICE"]);

    // A drain asks first and says what moves; no changes nothing.
    tmux.send(&["n"]);
    wait(&["CPU RESERVED"]);
    tmux.send(&["Down", "d"]);
    let screen = wait(&[
        "Drain node dokksw-n2?",
        "stop there and start on other nodes",
    ]);
    assert!(screen.contains("t-console: 1 task(s) move"), "{screen}");
    tmux.send(&["n"]);
    wait(&["cancelled: nothing changed"]);
    tmux.send(&["Escape"]);
    wait(&["STACK", "SERVICE"]);
    // `:scale` applies, after a yes, and follows the tasks until they run.
    tmux.send(&[":", "scale t-console=2", "Enter"]);
    wait(&["Scale t-console?", "3 tasks → 2 tasks"]);
    tmux.send(&["y"]);
    wait(&["scale t-console: 3 tasks → 2 tasks: stable"]);
    assert_eq!(lab.running_tasks(&web.name).len(), 2);
    tmux.send(&["Escape"]);
    tmux.send(&["q"]);
}
