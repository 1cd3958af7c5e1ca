//! The log engine's figures: a program that prints them, not a timed test.
//! `cargo bench --bench logs` (needs a Docker engine for the last figure).
//!
//! 1. lines per second ingested (parse the engine's timestamp, sanitise, push into the buffer);
//! 2. regex search time over 1 M buffered lines;
//! 3. RSS after 5 M lines through a default (100 k line) buffer;
//! 4. frame time of the log view while a container writes about 50 k lines/s.

use std::time::{Duration, Instant};

use dokk::app::{LogView, State, View};
use dokk::backend::docker::logs::{LogEvent, LogRequest, parse_line, stream_logs};
use dokk::config::{Context, Theme, Thresholds};
use dokk::logs::{LogBatch, LogBuffer, Search, Stream};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The engine's timestamp for line `i` (increasing: a container's lines come in order),
/// followed by a message from the pool.
fn stamped(i: usize, message: &[u8]) -> Vec<u8> {
    let mut line = format!(
        "2026-11-22T{:02}:{:02}:{:02}.{:06}000Z ",
        (i / 3_600_000_000) % 24,
        (i / 60_000_000) % 60,
        (i / 1_000_000) % 60,
        i % 1_000_000
    )
    .into_bytes();
    line.extend_from_slice(message);
    line
}

fn raw_line(i: usize) -> Vec<u8> {
    let level = if i.is_multiple_of(97) {
        "error"
    } else {
        "info"
    };
    format!(
        "level={level} msg=\"request done\" path=/api/events/{} status={} duration={}ms",
        i % 5000,
        if i.is_multiple_of(211) { 503 } else { 200 },
        i % 900
    )
    .into_bytes()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Parses, sanitises and buffers `raw` in batches of 1024, as the backend does.
fn ingest(buffer: &mut LogBuffer, raw: &[Vec<u8>]) {
    let source: std::sync::Arc<str> = "web.1".into();
    for chunk in raw.chunks(1024) {
        let lines = chunk
            .iter()
            .map(|line| parse_line(Stream::Stdout, line))
            .collect();
        buffer.push_batch(LogBatch {
            source: source.clone(),
            lines,
        });
    }
}

/// Lines `from..to` as the engine sends them.
fn engine_lines(pool: &[Vec<u8>], from: usize, to: usize) -> Vec<Vec<u8>> {
    (from..to)
        .map(|i| stamped(i, &pool[i % pool.len()]))
        .collect()
}

/// Run in a child process of its own, so its peak RSS is the buffer's, not the benchmark's.
fn rss_after_five_million() {
    let pool: Vec<Vec<u8>> = (0..10_000).map(raw_line).collect();
    let mut buffer = LogBuffer::new(dokk::logs::DEFAULT_MAX_LINES);
    for start in (0..5_000_000).step_by(100_000) {
        ingest(&mut buffer, &engine_lines(&pool, start, start + 100_000));
    }
    println!("{} {} {}", rss_kb("VmRSS"), rss_kb("VmHWM"), buffer.len());
}

fn main() {
    if std::env::args().any(|a| a == "--rss-child") {
        rss_after_five_million();
        return;
    }
    let pool: Vec<Vec<u8>> = (0..100_000).map(raw_line).collect();
    let raw = engine_lines(&pool, 0, 1_000_000);

    // 1. Ingest rate.
    let mut rates = Vec::new();
    for _ in 0..5 {
        let mut buffer = LogBuffer::new(1_000_000);
        let start = Instant::now();
        ingest(&mut buffer, &raw);
        rates.push(1_000_000.0 / start.elapsed().as_secs_f64());
    }
    let ingest_rate = median(rates);

    // 2. Search over 1 M lines.
    let mut buffer = LogBuffer::new(1_000_000);
    ingest(&mut buffer, &raw);
    drop(raw);
    let mut times = Vec::new();
    for pattern in ["status=503", r"duration=8\d\dms", "level=error.*events/4"] {
        let search = Search::new(pattern).expect("valid pattern");
        for _ in 0..3 {
            let start = Instant::now();
            // What the log view does when a search is typed: mark every matching line.
            buffer.mark_all(|line| search.is_match(&line.text));
            let found = buffer.marked();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert!(found > 0, "{pattern} matches something");
        }
    }
    let search_ms = median(times.clone());
    let search_max = times.iter().copied().fold(0.0, f64::max);
    drop(buffer);

    // 3. RSS after 5 M lines through the default buffer, in a process of its own.
    let child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("--rss-child")
        .output()
        .expect("child runs");
    let figures: Vec<u64> = String::from_utf8_lossy(&child.stdout)
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let (rss_after, rss_peak, kept) = match figures.as_slice() {
        [rss, peak, kept] => (*rss, *peak, *kept),
        _ => (0, 0, 0),
    };

    println!(
        "dokk log engine benchmark ({} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:<48} {:>14} {:>12}", "figure", "measured", "goal");
    println!(
        "{:<48} {:>14} {:>12}",
        "ingest (parse + sanitise + buffer), lines/s, median of 5",
        format!("{:.0}", ingest_rate),
        ">= 500000"
    );
    println!(
        "{:<48} {:>14} {:>12}",
        format!("regex search (mark) over 1 M lines, ms (median; max {search_max:.0})"),
        format!("{search_ms:.1}"),
        "< 100"
    );
    println!(
        "{:<48} {:>14} {:>12}",
        format!("RSS after 5 M lines ({kept} kept), MB"),
        format!("{:.1}", rss_after as f64 / 1024.0),
        "<= 80"
    );
    println!(
        "{:<48} {:>14} {:>12}",
        "peak RSS while ingesting them, MB",
        format!("{:.1}", rss_peak as f64 / 1024.0),
        ""
    );

    // 4. Frame time while a container writes about 50 k lines/s.
    match frame_times() {
        Ok((p50, p99, rate)) => {
            println!(
                "{:<48} {:>14} {:>12}",
                format!("frame time at {rate:.0} lines/s in, ms p50"),
                format!("{p50:.2}"),
                ""
            );
            println!(
                "{:<48} {:>14} {:>12}",
                "frame time, ms p99",
                format!("{p99:.2}"),
                "< 16"
            );
        }
        Err(error) => println!("frame time: not measured ({error})"),
    }
}

/// Streams a chatty container's logs into a log view and draws it at 60 frames a second
/// for 10 s on a 160x48 test terminal; returns frame time p50, p99 and the lines/s ingested.
fn frame_times() -> Result<(f64, f64, f64), String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let built = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{root}/demo/lib.sh' && ensure_image"))
        .status()
        .map_err(|e| e.to_string())?;
    if !built.success() {
        return Err("no Docker engine or image".into());
    }
    // About 50 k lines/s in all, from three replicas (one container's json-file log tops out
    // lower than that on a small engine): 2500-line bursts every 40 ms each.
    let script = "while :; do seq 100000 102500; usleep 40000; done";
    let mut ids = Vec::new();
    for replica in 1..=3 {
        let name = format!("dokk-bench-chatty-{}-{replica}", std::process::id());
        let output = std::process::Command::new("docker")
            .args([
                "run",
                "-d",
                "--rm",
                "--name",
                &name,
                "dokk-demo:latest",
                "sh",
                "-c",
                script,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        ids.push(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let docker = dokk::backend::docker::connect(&dokk::backend::docker::default_host())
            .await
            .map_err(|e| e.to_string())?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let containers = ids
            .iter()
            .enumerate()
            .map(|(n, id)| (id.clone(), format!("chatty.{}", n + 1)))
            .collect();
        let request = LogRequest {
            containers,
            tail: Some(0),
            since: None,
            follow: true,
        };
        let reader = tokio::spawn(stream_logs(docker, request, tx));
        let context = Context::local_docker("bench");
        let mut state = State::new(
            context,
            vec![],
            Theme::default_theme(),
            Thresholds::default(),
        );
        let mut view = LogView::new("chatty".into(), 1, dokk::logs::DEFAULT_MAX_LINES);
        view.set_search(Search::new("1019\\d").ok());
        state.logs = Some(view);
        state.view = View::Logs(Box::new(View::Fleet));
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).map_err(|e| e.to_string())?;
        let mut frames = Vec::new();
        let mut ingested = 0usize;
        let start = Instant::now();
        let mut next = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            while let Ok(event) = rx.try_recv() {
                if let LogEvent::Batch(batch) = &event {
                    ingested += batch.lines.len();
                }
                if let Some(view) = state.logs.as_mut() {
                    view.on_event(event);
                }
            }
            let frame = Instant::now();
            terminal
                .draw(|f| dokk::ui::draw(f, &state))
                .map_err(|e| e.to_string())?;
            frames.push(frame.elapsed().as_secs_f64() * 1000.0);
            next += Duration::from_millis(16);
            tokio::time::sleep_until(next.into()).await;
        }
        reader.abort();
        let rate = ingested as f64 / start.elapsed().as_secs_f64();
        let p50 = percentile(&mut frames, 0.5);
        let p99 = percentile(&mut frames, 0.99);
        Ok((p50, p99, rate))
    });
    for id in &ids {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", id])
            .output();
    }
    result
}
