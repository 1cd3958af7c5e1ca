//! Requests per full ECS refresh against the minimum, and the time to the first full screen,
//! on a large cluster seeded into the local AWS endpoint (the moto server).
//! `cargo bench --bench ecs_calls [-- SERVICES TASKS]` (default 2000 and 10000); needs moto
//! (`source demo/lib.sh && ensure_moto`). A program that prints figures, not a timed test.

#[path = "../tests/common/ecs.rs"]
#[allow(dead_code)]
mod seed;

use std::time::Instant;

use dokk::app::{Msg, State, update};
use dokk::backend::BackendEvent;
use dokk::backend::ecs::{Aws, Refresher};
use dokk::config::{Context, EcsTarget, Target, Theme, Thresholds};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let services: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let tasks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(services, tasks));
}

async fn run(services: usize, tasks: usize) {
    let cluster = "bench";
    let seeding = Instant::now();
    seed::seed_large(cluster, services, tasks).await;
    eprintln!(
        "seeded {services} services and {tasks} tasks in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );
    let target = EcsTarget {
        profile: None,
        region: Some(seed::REGION.into()),
        cluster: Some(cluster.into()),
        endpoint_url: Some(seed::endpoint()),
    };
    let aws = Aws::from_config(&seed::aws_config().await, target.clone());
    let context = Context {
        name: "bench".into(),
        target: Target::Ecs(target),
        readonly: true,
        refresh: std::time::Duration::from_secs(10),
        theme: None,
    };
    let mut state = State::new(
        context,
        vec!["bench".into()],
        Theme::default_theme(),
        Thresholds::default(),
    );
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("terminal");
    let mut refresher = Refresher::default();

    // First full screen: connect, one full refresh, one frame.
    let started = Instant::now();
    let first = refresher.refresh(&aws, cluster).await;
    let refreshed = started.elapsed();
    let listed = first.tasks.as_ref().map_or(0, Vec::len);
    update(
        &mut state,
        Msg::Backend(BackendEvent::Ecs(Box::new(first)), chrono::Utc::now()),
    );
    terminal
        .draw(|frame| dokk::ui::draw(frame, &state))
        .expect("draw");
    let first_screen = started.elapsed();
    let moto_cpu_before = moto_cpu_seconds();
    let first_calls = aws.calls.take();

    let mut steady_times = Vec::new();
    let mut steady_calls = Default::default();
    for _ in 0..3 {
        let t = Instant::now();
        let snapshot = refresher.refresh(&aws, cluster).await;
        steady_times.push(t.elapsed().as_secs_f64());
        assert!(
            snapshot.errors.keys().all(|s| s.label() == "metrics"),
            "{:?}",
            snapshot.errors
        );
        steady_calls = aws.calls.take();
    }
    steady_times.sort_by(f64::total_cmp);
    let moto_cpu = moto_cpu_seconds() - moto_cpu_before;

    // The list pages are what the endpoint returns (moto answers each list in one page; AWS
    // in pages of 100); the stopped-task listing is dokk's extra.
    let pages = |name: &str| steady_calls.get(name).copied().unwrap_or(0);
    let minimum = services.div_ceil(10) as u64
        + tasks.div_ceil(100) as u64
        + pages("ListServices")
        + pages("ListTasks").saturating_sub(1)
        + pages("ListContainerInstances")
        + pages("DescribeContainerInstances");
    let total = |calls: &std::collections::BTreeMap<String, u64>| calls.values().sum::<u64>();
    println!("ECS requests per full refresh: {services} services, {tasks} tasks ({listed} listed)");
    println!(
        "minimum (issue 4): ⌈S/10⌉ DescribeServices + ⌈T/100⌉ DescribeTasks + the endpoint's list pages (ListServices, ListTasks of running tasks, ListContainerInstances) + DescribeContainerInstances = {minimum}"
    );
    println!("{:<28} {:>8} {:>8}", "operation", "first", "steady");
    let operations: std::collections::BTreeSet<&String> =
        first_calls.keys().chain(steady_calls.keys()).collect();
    for operation in operations {
        println!(
            "{:<28} {:>8} {:>8}",
            operation,
            first_calls.get(operation).copied().unwrap_or(0),
            steady_calls.get(operation).copied().unwrap_or(0)
        );
    }
    println!(
        "{:<28} {:>8} {:>8}",
        "total",
        total(&first_calls),
        total(&steady_calls)
    );
    println!(
        "steady refresh / minimum: {:.3} (the extra: ListTasks for stopped tasks, and GetMetricData once a minute)",
        total(&steady_calls) as f64 / minimum as f64
    );
    println!(
        "first full refresh {:.2} s, first full screen {:.2} s; steady refresh median {:.2} s (of 3)",
        refreshed.as_secs_f64(),
        first_screen.as_secs_f64(),
        steady_times[1]
    );
    println!(
        "the endpoint (moto) spent {moto_cpu:.1} CPU-s serving the 3 steady refreshes ({:.1} s of wall time)",
        steady_times.iter().sum::<f64>()
    );
}

/// CPU seconds the moto server has used so far (0 when it is not found).
fn moto_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let ticks = 100.0; // USER_HZ on Linux
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let cmdline = std::fs::read_to_string(e.path().join("cmdline")).ok()?;
            cmdline.contains("moto_server").then_some(())?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks)
        })
        .sum()
}
