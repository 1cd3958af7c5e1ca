//! Against the real Docker engine: what dokk reports equals what `docker inspect` and
//! `docker stats` say, and the live watcher sees changes as they happen.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Dokk, Project, docker_ok, wait_until};
use dokk::backend::docker::SamplingOptions;
use serde_json::Value;

/// The capacity test compares against every container on the engine: the other tests hold
/// this shared while they start and remove containers, and it holds it alone.
static ENGINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn status_json(dokk: &Dokk) -> Value {
    let output = dokk
        .command()
        .args(["status", "--json"])
        .output()
        .expect("dokk runs");
    assert!(
        output.status.success(),
        "dokk status failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

fn service<'a>(status: &'a Value, project: &str, name: &str) -> &'a Value {
    status["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["project"] == project && s["name"] == name)
        .unwrap_or_else(|| panic!("{project}/{name} not in {status:#}"))
}

fn inspect(id: &str, format: &str) -> String {
    docker_ok(&["inspect", "--format", format, id])
}

#[test]
fn status_json_equals_docker_inspect() {
    let _shared = ENGINE.blocking_read();
    let project = Project::new("inspect");
    let health = ["--health-cmd", "true", "--health-interval", "1s"];
    let web_args = [&["--cpus", "0.5", "--memory", "256m"][..], &health[..]].concat();
    let web1 = project.run("web-prod", 1, &web_args, &["sleep", "600"]);
    let web2 = project.run("web-prod", 2, &web_args, &["sleep", "600"]);
    let api = project.run(
        "api",
        1,
        &[
            "--cpu-quota",
            "25000",
            "--cpu-period",
            "100000",
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        &["sleep", "600"],
    );
    let worker = project.run("worker", 1, &[], &["sleep", "600"]);
    let stopped = project.run("batch", 1, &["--cpus", "0.1"], &["true"]);
    assert!(wait_until(Duration::from_secs(20), || {
        inspect(&web1, "{{.State.Health.Status}}") == "healthy"
            && inspect(&web2, "{{.State.Health.Status}}") == "healthy"
            && inspect(&api, "{{.State.Health.Status}}") == "unhealthy"
            && inspect(&stopped, "{{.State.Status}}") == "exited"
    }));

    let dokk = Dokk::new();
    let status = status_json(&dokk);
    assert_eq!(status["kind"], "docker");
    assert_eq!(status["context"], "default");
    let cpus: u64 = docker_ok(&["info", "--format", "{{.NCPU}}"])
        .parse()
        .expect("NCPU");
    let memory: u64 = docker_ok(&["info", "--format", "{{.MemTotal}}"])
        .parse()
        .expect("MemTotal");
    assert_eq!(status["host"]["cpus"], cpus);
    assert_eq!(status["host"]["memory_bytes"], memory);

    let web = service(&status, &project.name, "web-prod");
    let nano: f64 = inspect(&web1, "{{.HostConfig.NanoCpus}}")
        .parse()
        .expect("NanoCpus");
    let mem: u64 = inspect(&web1, "{{.HostConfig.Memory}}")
        .parse()
        .expect("Memory");
    assert_eq!(web["replicas_running"], 2);
    assert_eq!(web["replicas_total"], 2);
    assert_eq!(web["health"], "healthy");
    assert_eq!(web["env"], "prod");
    assert_eq!(
        web["cpu_limit_cores"].as_f64(),
        Some(2.0 * nano / 1e9),
        "{web:#}"
    );
    assert_eq!(web["memory_limit_bytes"].as_u64(), Some(2 * mem));
    assert_eq!(web["image"], common::IMAGE);
    assert!(web["cpu_percent"].is_number(), "a usage sample: {web:#}");
    assert!(web["memory_bytes"].as_u64().is_some_and(|m| m > 0));

    let api_json = service(&status, &project.name, "api");
    let quota: f64 = inspect(&api, "{{.HostConfig.CpuQuota}}")
        .parse()
        .expect("quota");
    let period: f64 = inspect(&api, "{{.HostConfig.CpuPeriod}}")
        .parse()
        .expect("period");
    assert_eq!(api_json["cpu_limit_cores"].as_f64(), Some(quota / period));
    assert_eq!(api_json["memory_limit_bytes"].as_u64(), Some(64 << 20));
    assert_eq!(api_json["health"], "unhealthy");

    let worker_json = service(&status, &project.name, "worker");
    assert_eq!(
        inspect(&worker, "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}"),
        "0 0"
    );
    assert!(
        worker_json["cpu_limit_cores"].is_null(),
        "no limit is null, not 0: {worker_json:#}"
    );
    assert!(worker_json["memory_limit_bytes"].is_null());
    assert!(
        status["allocated"]["unlimited"]
            .as_array()
            .expect("unlimited")
            .iter()
            .any(|n| n == &format!("{}-worker-1", project.name))
    );

    let batch = service(&status, &project.name, "batch");
    assert_eq!(batch["replicas_running"], 0);
    assert_eq!(batch["replicas_total"], 1);
    assert_eq!(batch["state"], "stopped");
}

#[test]
fn cpu_reads_within_two_points_of_docker_stats() {
    let _shared = ENGINE.blocking_read();
    let project = Project::new("cpu");
    let id = project.run(
        "burner",
        1,
        &["--cpus", "0.25"],
        &["sh", "-c", "while :; do :; done"],
    );
    std::thread::sleep(Duration::from_secs(2));
    let dokk = Dokk::new();
    for attempt in 0..3 {
        // Both sample the same second: dokk in a thread, `docker stats` here.
        let handle = {
            let mut command = dokk.command();
            std::thread::spawn(move || command.args(["status", "--json"]).output().expect("dokk"))
        };
        let reference = docker_ok(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", &id]);
        let output = handle.join().expect("thread");
        let status: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let ours = service(&status, &project.name, "burner")["cpu_percent"]
            .as_f64()
            .expect("cpu");
        let theirs: f64 = reference
            .trim_end_matches('%')
            .parse()
            .expect("docker stats CPU%");
        println!("attempt {attempt}: dokk {ours:.2}%, docker stats {theirs:.2}%");
        if (ours - theirs).abs() <= 2.0 {
            // A busy loop held at 0.25 CPU reads about 25%, less only under heavy contention.
            assert!((10.0..=35.0).contains(&ours), "got {ours}");
            return;
        }
    }
    panic!("dokk and docker stats differed by more than 2 points three times");
}

/// What `docker stats --no-stream` shows for one container: CPU % and memory in bytes.
fn docker_stats(id: &str) -> (f64, f64) {
    let line = docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.CPUPerc}} {{.MemUsage}}",
        id,
    ]);
    let mut fields = line.split_whitespace();
    let cpu = fields.next().expect("CPU%").trim_end_matches('%');
    let memory = fields.next().expect("memory");
    let (number, unit) = memory.split_at(memory.find(|c: char| c.is_alphabetic()).expect("a unit"));
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other}"),
    };
    (
        cpu.parse().expect("CPU%"),
        number.parse::<f64>().expect("memory") * scale,
    )
}

/// Both ways of sampling (cgroup files, and one-shot requests to the engine with rows off
/// screen asked less often) read what `docker stats` reads for a busy and an idle container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_usage_matches_docker_stats_from_cgroups_and_from_the_engine() {
    let _shared = ENGINE.read().await;
    use dokk::backend::BackendEvent;
    let project = Project::new("sampling");
    let burner = project.run(
        "burner",
        1,
        &["--cpus", "0.25"],
        &["sh", "-c", "while :; do :; done"],
    );
    let idle = project.run("idle", 1, &["--memory", "64m"], &["sleep", "600"]);
    let host = dokk::backend::docker::default_host();
    for cgroups in [true, false] {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        // Only the burner is on screen: the idle container is asked every tenth refresh.
        let (_on_screen_tx, on_screen) =
            tokio::sync::watch::channel(Some(Arc::new(HashSet::from([burner.clone()]))));
        let options = SamplingOptions { cgroups, on_screen };
        let watcher =
            dokk::backend::docker::spawn_watcher(host.clone(), Duration::from_secs(1), tx, options);
        let snapshot = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match rx.recv().await {
                    Some(BackendEvent::Snapshot(s))
                        if s.usage.contains_key(&burner) && s.usage.contains_key(&idle) =>
                    {
                        return s;
                    }
                    Some(_) => {}
                    None => panic!("watcher stopped"),
                }
            }
        })
        .await
        .expect("usage for both containers");
        if cgroups {
            assert_eq!(snapshot.sampling.polled, 0, "{:?}", snapshot.sampling);
            assert!(snapshot.sampling.from_cgroups >= 2);
        } else {
            assert_eq!(snapshot.sampling.from_cgroups, 0, "{:?}", snapshot.sampling);
            assert_eq!(
                snapshot.sampling.off_screen_every,
                Some(dokk::backend::docker::OFF_SCREEN_EVERY as u32)
            );
        }
        // The next snapshots' figures, against `docker stats` over the same seconds; three
        // tries, as a busy machine can starve either side for a moment.
        let mut latest = snapshot;
        let mut agreed = false;
        for attempt in 0..3 {
            let reference = tokio::task::spawn_blocking({
                let (burner, idle) = (burner.clone(), idle.clone());
                move || (docker_stats(&burner), docker_stats(&idle))
            });
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(BackendEvent::Snapshot(s))) =
                    tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
                {
                    latest = s;
                }
            }
            let ((cpu, _), (_, idle_memory)) = reference.await.expect("docker stats");
            let ours = latest.usage[&burner];
            let idle_ours = latest.usage[&idle];
            println!(
                "cgroups {cgroups}, attempt {attempt}: burner {:.2}% (docker stats {cpu:.2}%), \
                 idle {} B (docker stats {idle_memory:.0} B)",
                ours.cpu_percent, idle_ours.memory_bytes
            );
            // docker stats rounds memory to three figures.
            let memory_difference = (idle_ours.memory_bytes as f64 - idle_memory).abs();
            if (10.0..=35.0).contains(&ours.cpu_percent)
                && (ours.cpu_percent - cpu).abs() <= 5.0
                && memory_difference <= idle_memory * 0.02 + 64.0 * 1024.0
            {
                agreed = true;
                break;
            }
        }
        assert!(agreed, "dokk and docker stats disagreed three times");
        watcher.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_started_while_watching_appears_within_two_seconds() {
    let _shared = ENGINE.read().await;
    use dokk::backend::BackendEvent;
    let project = Project::new("live");
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let watcher = dokk::backend::docker::spawn_watcher(
        dokk::backend::docker::default_host(),
        Duration::from_secs(1),
        tx,
        SamplingOptions::for_host(&dokk::backend::docker::default_host()),
    );
    // Wait for the first snapshot.
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(BackendEvent::Snapshot(_)) = rx.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(first.is_ok(), "no first snapshot");

    let name = project.name.clone();
    let id = tokio::task::spawn_blocking(move || {
        let project = Project { name };
        let id = project.run("late", 1, &["--cpus", "0.1"], &["sleep", "600"]);
        std::mem::forget(project);
        id
    })
    .await
    .expect("docker run");
    let started = Instant::now();
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await {
                Some(BackendEvent::Snapshot(s))
                    if s.containers.iter().any(|c| c.id == id && c.is_running()) =>
                {
                    return started.elapsed();
                }
                Some(_) => {}
                None => panic!("watcher stopped"),
            }
        }
    })
    .await
    .expect("the new container never appeared");
    println!("appeared after {seen:?}");
    assert!(seen < Duration::from_secs(2), "took {seen:?}");

    // Removal shows too, and its stats stream is closed.
    docker_ok(&["rm", "-f", &id]);
    let gone = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            // Other tests start and stop containers meanwhile: wait for a snapshot where the
            // streams have caught up with them too.
            if let Some(BackendEvent::Snapshot(s)) = rx.recv().await
                && !s.containers.iter().any(|c| c.id == id)
            {
                let running = s.containers.iter().filter(|c| c.is_running()).count();
                if s.sampling.total() == running {
                    return (s.sampling.total(), running);
                }
            }
        }
    })
    .await
    .expect("removal seen, with one stats stream per running container");
    assert_eq!(gone.0, gone.1, "one stats stream per running container");
    watcher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_no_stats_stream_behind() {
    let _shared = ENGINE.read().await;
    use dokk::backend::BackendEvent;
    let project = Project::new("churn");
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let watcher = dokk::backend::docker::spawn_watcher(
        dokk::backend::docker::default_host(),
        Duration::from_millis(200),
        tx,
        SamplingOptions::for_host(&dokk::backend::docker::default_host()),
    );
    let name = project.name.clone();
    let churn = tokio::task::spawn_blocking(move || {
        let project = Project { name };
        for round in 0..15 {
            let id = project.run("churn", round, &[], &["sleep", "600"]);
            if round % 3 == 0 {
                docker_ok(&["stop", "-t", "0", &id]);
            }
            docker_ok(&["rm", "-f", &id]);
        }
        std::mem::forget(project);
    });
    let mut last = None;
    while !churn.is_finished() {
        if let Ok(Some(BackendEvent::Snapshot(s))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            last = Some(s);
        }
    }
    churn.await.expect("churn");
    // Once the events of the churn are in, the last snapshot must hold exactly one stats
    // stream per running container and none of the churned ones.
    let settled = |s: &dokk::model::FleetSnapshot| {
        let running = s.containers.iter().filter(|c| c.is_running()).count();
        let ours = s
            .containers
            .iter()
            .filter(|c| c.project.as_deref() == Some(project.name.as_str()))
            .count();
        ours == 0 && s.sampling.total() == running
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !last.as_deref().is_some_and(settled) && Instant::now() < deadline {
        if let Ok(Some(BackendEvent::Snapshot(s))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            last = Some(s);
        }
    }
    let last = last.expect("snapshots arrived");
    let running = last.containers.iter().filter(|c| c.is_running()).count();
    assert!(
        settled(&last),
        "{} stats streams for {running} running containers",
        last.sampling.total()
    );
    watcher.abort();
}

/// Every running container's CPU (cores) and memory (bytes) limits as `docker inspect` has
/// them, and the names of those without one.
fn engine_limits() -> (f64, u64, Vec<String>, u64) {
    let ids = docker_ok(&["ps", "-q", "--no-trunc"]);
    let (mut cpu, mut memory, mut unlimited, mut reserved) = (0.0, 0u64, Vec::new(), 0u64);
    for id in ids.lines().filter(|l| !l.is_empty()) {
        let fields = inspect(
            id,
            "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} {{.HostConfig.Memory}} {{.Name}} {{.HostConfig.MemoryReservation}}",
        );
        let parts: Vec<&str> = fields.split_whitespace().collect();
        let number = |i: usize| {
            parts
                .get(i)
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let cores = if number(0) > 0 {
            Some(number(0) as f64 / 1e9)
        } else if number(1) > 0 && number(2) > 0 {
            Some(number(1) as f64 / number(2) as f64)
        } else {
            None
        };
        let bytes = (number(3) > 0).then_some(number(3) as u64);
        reserved += number(5).max(0) as u64;
        cpu += cores.unwrap_or(0.0);
        memory += bytes.unwrap_or(0);
        if cores.is_none() || bytes.is_none() {
            unlimited.push(
                parts
                    .get(4)
                    .unwrap_or(&"")
                    .trim_start_matches('/')
                    .to_string(),
            );
        }
    }
    unlimited.sort();
    (cpu, memory, unlimited, reserved)
}

fn capacity(dokk: &Dokk, scale: &[&str]) -> (Option<i32>, Value) {
    let mut command = dokk.command();
    command.args(["capacity", "--json"]);
    for s in scale {
        command.args(["--scale", s]);
    }
    let output = command.output().expect("dokk runs");
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), json)
}

#[test]
fn capacity_sums_limits_as_docker_inspect_and_gates_a_scale_up() {
    let _alone = ENGINE.blocking_write();
    let project = Project::new("capacity");
    project.run(
        "cap-web",
        1,
        &["--cpus", "0.5", "--memory", "256m"],
        &["sleep", "600"],
    );
    project.run(
        "cap-web",
        2,
        &["--cpus", "0.5", "--memory", "256m"],
        &["sleep", "600"],
    );
    let free = project.run("cap-free", 1, &[], &["sleep", "600"]);
    let free_name = inspect(&free, "{{.Name}}")
        .trim_start_matches('/')
        .to_string();
    let dokk = Dokk::new();
    // Other tests start and stop containers meanwhile: compare when the engine held still.
    let mut checked = false;
    // Up to about two minutes: the churn test of this binary runs at the same time.
    for _ in 0..60 {
        let before = engine_limits();
        let (code, json) = capacity(&dokk, &[]);
        let after = engine_limits();
        if before != after {
            std::thread::sleep(std::time::Duration::from_millis(500));
            continue;
        }
        let (cpu, memory, unlimited, reserved) = before;
        assert_eq!(json["memory_reservations"], reserved, "{json:#}");
        assert!(
            (json["cpu"]["allocated"].as_f64().unwrap_or(-1.0) - cpu).abs() < 1e-6,
            "{json:#}"
        );
        assert_eq!(json["memory"]["allocated"], memory, "{json:#}");
        let mut reported: Vec<String> = json["unlimited"]
            .as_array()
            .expect("unlimited")
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        reported.sort();
        assert_eq!(reported, unlimited);
        assert!(reported.contains(&free_name), "{reported:?}");
        let capacity_cpu = json["cpu"]["capacity"].as_f64().unwrap_or(0.0);
        let capacity_memory = json["memory"]["capacity"].as_u64().unwrap_or(0);
        let web = json["services"]
            .as_array()
            .expect("services")
            .iter()
            .find(|s| s["name"] == "cap-web")
            .expect("cap-web");
        assert_eq!(web["replicas"], 2);
        assert_eq!(web["cpu_per_replica"], 0.5);
        assert_eq!(web["memory_per_replica"], 256u64 << 20);
        let room = (((capacity_cpu - cpu) / 0.5 + 1e-9).floor().max(0.0) as u64)
            .min((capacity_memory.saturating_sub(memory)) / (256 << 20));
        assert_eq!(web["headroom"], room, "{json:#}");
        let fits_now = cpu <= capacity_cpu + 1e-9 && memory <= capacity_memory;
        assert_eq!(code, Some(if fits_now { 0 } else { 1 }));
        // One replica more than the headroom does not fit, and says so with exit 1.
        let too_many = format!("cap-web={}", 2 + room + 1);
        let (code, json) = capacity(&dokk, &[too_many.as_str()]);
        assert_eq!(code, Some(1), "{json:#}");
        assert_eq!(json["fits"], false);
        if fits_now && engine_limits() == after {
            let exactly = format!("cap-web={}", 2 + room);
            let (code, json) = capacity(&dokk, &[exactly.as_str()]);
            assert_eq!(code, Some(0), "{json:#}");
        }
        checked = true;
        break;
    }
    assert!(checked, "the engine never held still for the comparison");

    // Bad input: exit 2, nothing printed on stdout.
    let output = dokk
        .command()
        .args(["capacity", "--scale", "nope=3"])
        .output()
        .expect("dokk runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no service `nope`"));
}
