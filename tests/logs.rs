//! Logs against the real engine: order, merged replicas, exact grep, hostile output.

mod common;

use std::time::Duration;

use common::{Dokk, Project, docker_ok, wait_until};
use serde_json::Value;

fn logs_json(dokk: &Dokk, args: &[&str]) -> Vec<Value> {
    let output = dokk
        .command()
        .arg("logs")
        .args(args)
        .arg("--json")
        .output()
        .expect("dokk runs");
    assert!(
        output.status.success(),
        "dokk logs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn wait_for_logs(id: &str, needle: &str) {
    assert!(
        wait_until(Duration::from_secs(20), || docker_ok(&["logs", id])
            .contains(needle)),
        "{id} never printed {needle}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatty_containers_lines_reach_the_view_in_order() {
    use dokk::backend::docker::logs::{LogRequest, stream_logs};
    let project = Project::new("chatty");
    let name = project.name.clone();
    let id = tokio::task::spawn_blocking(move || {
        let project = Project { name };
        let id = project.run("chatty", 1, &[], &["sh", "-c", "seq 1 20000; sleep 600"]);
        std::mem::forget(project);
        id
    })
    .await
    .expect("docker run");
    let docker = dokk::backend::docker::connect(&dokk::backend::docker::default_host())
        .await
        .expect("engine");
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let request = LogRequest {
        containers: vec![(id, "chatty.1".into())],
        tail: None,
        since: None,
        follow: true,
    };
    let reader = tokio::spawn(stream_logs(docker, request, tx));
    let mut view = dokk::app::LogView::new("chatty".into(), 1, 100_000);
    let filled = tokio::time::timeout(Duration::from_secs(20), async {
        while view.buffer.len() < 20_000 {
            match rx.recv().await {
                Some(event) => view.on_event(event),
                None => break,
            }
        }
    })
    .await;
    reader.abort();
    assert!(filled.is_ok(), "only {} lines arrived", view.buffer.len());
    let numbers: Vec<u32> = view
        .buffer
        .iter()
        .map(|l| l.text.parse().expect("a number"))
        .collect();
    assert_eq!(numbers, (1..=20_000).collect::<Vec<u32>>());
    assert!(
        view.buffer.iter().all(|l| l.time.is_some()),
        "every line has the engine's timestamp"
    );
}

#[test]
fn two_replicas_merge_in_time_order_tagged_by_replica() {
    let project = Project::new("merge");
    let script =
        |tag: &str| format!("for i in 1 2 3 4 5 6; do echo {tag}$i; sleep 0.3; done; sleep 600");
    let first = project.run("api", 1, &[], &["sh", "-c", &script("a")]);
    std::thread::sleep(Duration::from_millis(150));
    let second = project.run("api", 2, &[], &["sh", "-c", &script("b")]);
    wait_for_logs(&first, "a6");
    wait_for_logs(&second, "b6");
    let dokk = Dokk::new();
    let lines = logs_json(&dokk, &[&format!("{}/api", project.name)]);
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().expect("message"))
        .collect();
    // What the engine itself says, merged by its timestamps.
    let mut reference: Vec<(chrono::DateTime<chrono::FixedOffset>, String)> = [&first, &second]
        .iter()
        .flat_map(|id| {
            docker_ok(&["logs", "-t", id])
                .lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(t, m)| {
                    (
                        chrono::DateTime::parse_from_rfc3339(t).expect("a timestamp"),
                        m.to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    reference.sort();
    let expected: Vec<&str> = reference.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(messages, expected);
    assert_ne!(
        &messages[..6],
        ["a1", "a2", "a3", "a4", "a5", "a6"],
        "the replicas interleave"
    );
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = lines
        .iter()
        .map(|l| {
            chrono::DateTime::parse_from_rfc3339(l["time"].as_str().expect("time"))
                .expect("RFC 3339")
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time order: {times:?}"
    );
    for line in &lines {
        let expected = if line["message"].as_str().is_some_and(|m| m.starts_with('a')) {
            "api.1"
        } else {
            "api.2"
        };
        assert_eq!(line["replica"], expected, "{line}");
        assert_eq!(line["stream"], "stdout");
    }
    // One container alone on request.
    let alone = logs_json(
        &dokk,
        &[
            &format!("{}/api", project.name),
            "--container",
            &second[..12],
        ],
    );
    assert!(alone.iter().all(|l| l["replica"] == "api.2") && alone.len() == 6);
}

#[test]
fn grep_finds_exactly_the_matching_lines() {
    let project = Project::new("grep");
    let text = "alpha 1\nbeta 2\nALPHA 3\nalphabet 4\n  alpha 5\nerror: alpha 6\n";
    let id = project.run(
        "words",
        1,
        &[],
        &[
            "sh",
            "-c",
            &format!(
                "printf '{}' ; echo done; sleep 600",
                text.replace('\n', "\\n")
            ),
        ],
    );
    wait_for_logs(&id, "done");
    let dokk = Dokk::new();
    let output = dokk
        .command()
        .args(["logs", "words", "--grep", "^alpha"])
        .output()
        .expect("dokk runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            l.split_once(" | ")
                .map(|(_, m)| m.to_string())
                .expect("time replica | message")
        })
        .collect();
    let expected: Vec<String> = docker_ok(&["logs", &id])
        .lines()
        .filter(|l| regex::Regex::new("^alpha").expect("regex").is_match(l))
        .map(str::to_string)
        .collect();
    assert_eq!(printed, expected);
    assert_eq!(printed, ["alpha 1", "alphabet 4"]);
    // An invalid pattern is bad input.
    let bad = dokk
        .command()
        .args(["logs", "words", "--grep", "alpha("])
        .output()
        .expect("dokk runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid regex"));
}

#[test]
fn since_and_tail_limit_what_is_read() {
    let project = Project::new("tail");
    let id = project.run("counter", 1, &[], &["sh", "-c", "seq 1 50; sleep 600"]);
    wait_for_logs(&id, "50");
    let dokk = Dokk::new();
    let tail = logs_json(&dokk, &["counter", "--tail", "5"]);
    let messages: Vec<&str> = tail
        .iter()
        .map(|l| l["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages, ["46", "47", "48", "49", "50"]);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert!(logs_json(&dokk, &["counter", "--since", &future]).is_empty());
    let bad = dokk
        .command()
        .args(["logs", "counter", "--since", "yesterday-ish"])
        .output()
        .expect("dokk runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn hostile_output_is_stored_inert() {
    let project = Project::new("hostile");
    let id = project.run("hostile", 1, &[], &["sh", "-c", common::HOSTILE_SCRIPT]);
    wait_for_logs(&id, "END-OF-HOSTILE");
    let dokk = Dokk::new();
    let lines = logs_json(&dokk, &["hostile"]);
    for line in &lines {
        let message = line["message"].as_str().expect("message");
        assert!(
            !message.chars().any(|c| c.is_control()),
            "a control character survived: {message:?}"
        );
    }
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap_or(""))
        .collect();
    assert!(messages.contains(&"red plain"), "{messages:?}");
    assert!(messages.contains(&"after-title"));
    assert!(messages.contains(&"bellhere"));
    assert!(messages.contains(&"30%"));
    let huge = messages
        .iter()
        .find(|m| m.starts_with("xxxx"))
        .expect("the 1 MB line");
    assert!(
        huge.len() < 20_000 && huge.contains("more bytes not shown"),
        "{}",
        huge.len()
    );
}
