//! Requests per full Swarm refresh against the minimum, the time to the first full frame and
//! a frame's draw time, on a three-node lab swarm (tests/swarm-lab.sh, its own folder, names
//! and network, torn down after) running 20 services of 5 tasks.
//! `cargo bench --bench swarm_calls [-- SERVICES REPLICAS]`. A program that prints figures.

use std::process::Command;
use std::time::{Duration, Instant};

use dokk::app::{Msg, State, update};
use dokk::backend::BackendEvent;
use dokk::backend::swarm::{NodeUsage, spawn_swarm_watcher};
use dokk::config::{Context, SwarmTarget, Target, Theme, Thresholds};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DIR: &str = "/tmp/dokk-swarm-bench";
const PREFIX: &str = "dokkbn";

/// Brings the lab up, and down again when dropped (a panic included).
struct Lab;

impl Lab {
    fn up() -> Lab {
        let lab = Lab;
        assert!(
            lab.script("up"),
            "tests/swarm-lab.sh up failed (see {DIR}/failed)"
        );
        lab
    }

    fn script(&self, verb: &str) -> bool {
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/swarm-lab.sh"))
            .arg(verb)
            .env("SWLAB_DIR", DIR)
            .env("SWLAB_PREFIX", PREFIX)
            .env("SWLAB_NET", "192.168.235")
            .status()
            .is_ok_and(|s| s.success())
    }

    fn manager(&self) -> String {
        format!("unix://{DIR}/{PREFIX}-n1/docker.sock")
    }

    fn docker(&self, args: &[&str]) -> String {
        let output = Command::new("docker")
            .env("DOCKER_HOST", self.manager())
            .args(args)
            .output()
            .expect("docker runs");
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.script("down");
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let services: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let replicas: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let lab = Lab::up();
    let seeding = Instant::now();
    for i in 0..services {
        let stack = if i % 2 == 0 { "evergreen" } else { "grades" };
        lab.docker(&[
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            &format!("{stack}_svc{i:02}"),
            "--label",
            &format!("com.docker.stack.namespace={stack}"),
            "--replicas",
            &replicas.to_string(),
            "--reserve-cpu",
            "0.01",
            "--limit-memory",
            "32M",
            "dokk-swarm/app:v1",
        ]);
    }
    let tasks = services * replicas;
    let running = || {
        lab.docker(&[
            "node",
            "ps",
            "--format",
            "{{.CurrentState}}",
            &format!("{PREFIX}-n1"),
            &format!("{PREFIX}-n2"),
            &format!("{PREFIX}-n3"),
        ])
        .lines()
        .filter(|l| l.starts_with("Running"))
        .count()
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while running() < tasks && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!(
        "{services} services, {} of {tasks} tasks running after {:.0} s",
        running(),
        seeding.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(measure(&lab, services, tasks));
}

async fn measure(lab: &Lab, services: usize, tasks: usize) {
    let target = SwarmTarget {
        host: lab.manager(),
        nodes: Default::default(),
        node_host: Some(format!("unix://{DIR}/{{hostname}}/docker.sock")),
    };
    let context = Context {
        name: "bench".into(),
        target: Target::Swarm(target.clone()),
        readonly: true,
        refresh: Duration::from_secs(1),
        theme: None,
    };
    let mut state = State::new(
        context,
        vec!["bench".into()],
        Theme::default_theme(),
        Thresholds::default(),
    );
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let started = Instant::now();
    let watcher = spawn_swarm_watcher(target, Duration::from_secs(1), tx);
    let (mut first_frame, mut usage_frame) = (None, None);
    let (mut calls, mut took) = (Vec::new(), Vec::new());
    let (mut sampled, mut running) = (0, tasks);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while calls.len() < 6 || usage_frame.is_none() {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            eprintln!("stopped waiting after 90 s");
            break;
        };
        match &event {
            BackendEvent::Swarm(snapshot) => {
                calls.push(snapshot.calls);
                running = snapshot
                    .state
                    .tasks
                    .iter()
                    .filter(|t| t.is_running())
                    .count();
                took.push(snapshot.took.as_secs_f64() * 1e3);
            }
            BackendEvent::SwarmUsage(usage) => {
                sampled = usage
                    .nodes
                    .values()
                    .map(|n| match n {
                        NodeUsage::Sampled { tasks, .. } => *tasks,
                        NodeUsage::Missing(_) => 0,
                    })
                    .sum();
            }
            _ => {}
        }
        let is_usage = matches!(event, BackendEvent::SwarmUsage(_));
        update(&mut state, Msg::Backend(event, chrono::Utc::now()));
        if state
            .swarm
            .as_ref()
            .is_some_and(|s| !s.state.services.is_empty())
        {
            terminal
                .draw(|frame| dokk::ui::draw(frame, &state))
                .expect("draw");
            first_frame.get_or_insert(started.elapsed());
            if is_usage && sampled >= running {
                usage_frame.get_or_insert(started.elapsed());
            }
        }
    }
    watcher.abort();
    let mut frames = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        terminal
            .draw(|frame| dokk::ui::draw(frame, &state))
            .expect("draw");
        frames.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    // The first refresh also connects (GET /version); the steady ones are what a refresh costs.
    let steady: Vec<usize> = calls[1..].to_vec();
    let minimum = 3; // one list each of nodes, services (with their counts) and tasks
    let mean = steady.iter().sum::<usize>() as f64 / steady.len() as f64;
    println!(
        "Swarm requests per full refresh: 3 nodes, {services} services, {tasks} tasks ({running} running)"
    );
    println!("minimum: GET /nodes + GET /services?status=true + GET /tasks = {minimum}");
    println!("first refresh (connects: + GET /version): {}", calls[0]);
    println!(
        "steady refreshes: {steady:?}: {:.2}× the minimum",
        mean / minimum as f64
    );
    println!(
        "manager refresh median {:.1} ms (of {})",
        median(&mut took[1..].to_vec()),
        steady.len()
    );
    println!(
        "usage round: one container list per node + one stats sample per task ({} requests for {sampled} tasks sampled)",
        3 + sampled
    );
    println!(
        "first full frame (services and tasks) {:.0} ms after start; with every task's usage {:.0} ms",
        first_frame.unwrap_or_default().as_secs_f64() * 1e3,
        usage_frame.unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "frame draw median {:.2} ms (160×45, of 50)",
        median(&mut frames)
    );
}
