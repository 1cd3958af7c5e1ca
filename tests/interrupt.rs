//! Deploys cut off by a signal, on the real engine. A two-replica service (a named volume, a
//! health check) is deployed again and again, and each deploy is interrupted with SIGINT or
//! SIGKILL at another moment: before it prints anything (before the first rename), right after
//! each progress line it prints (rename/stop, create/start, health wait, the next replica), and
//! in the middle of the stop and of the health wait. Then the next ordinary command runs
//! (`dokk status`), and each time: exactly the two replicas exist, all running, all on one
//! image, none parked, the volume's data is all there, and the audit log says what happened.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Dokk, Project, docker, docker_ok, version_image};
use serde_json::Value;

/// Where a deploy is cut: after its `line`-th progress line (0: before any), `delay` later.
#[derive(Debug, Clone, Copy)]
struct Moment {
    line: usize,
    delay: Duration,
}

/// Every progress line of a clean two-replica deploy (how it goes, then 4 per replica), each
/// cut at once, and the two long waits of each replica (the old one's stop, the new one's
/// health) cut half-way.
fn moments() -> Vec<Moment> {
    let at = |line, ms| Moment {
        line,
        delay: Duration::from_millis(ms),
    };
    let mut list: Vec<Moment> = (0..=9).map(|line| at(line, 0)).collect();
    list.extend([at(3, 500), at(4, 700), at(7, 500), at(8, 700)]);
    list
}

struct Cut {
    /// The exit code, or the signal that ended it.
    ended: String,
    stderr: Vec<String>,
}

/// Starts the deploy, sends `signal` at the moment, and waits for dokk to end.
fn cut_deploy(
    dokk: &Dokk,
    audit: &std::path::Path,
    args: &[&str],
    signal: &str,
    at: Moment,
) -> Cut {
    let mut child = dokk
        .command()
        .env("DOKK_AUDIT_LOG", audit)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dokk runs");
    let pid = child.id().to_string();
    let stderr = child.stderr.take().expect("stderr");
    let send = {
        let (pid, signal) = (pid.clone(), signal.to_string());
        move || {
            std::thread::sleep(at.delay);
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .status();
        }
    };
    let reader = std::thread::spawn(move || {
        let mut send = Some(send);
        if at.line == 0
            && let Some(send) = send.take()
        {
            send();
        }
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.push(line);
            if lines.len() == at.line
                && let Some(send) = send.take()
            {
                send();
            }
        }
        lines
    });
    let status = child.wait().expect("dokk ends");
    let stderr = reader.join().expect("reader");
    use std::os::unix::process::ExitStatusExt;
    let ended = match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "?".into(),
    };
    Cut { ended, stderr }
}

fn audit_entries(audit: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

fn interrupted_deploys_leave_the_service_whole(signal: &str, order: &str) {
    let v1 = version_image("v1", true);
    let v2 = version_image("v2", true);
    let project = Project::new(&format!("cut-{}-{order}", signal.to_lowercase()));
    let volume = format!("{}-data", project.name);
    let mount = format!("{volume}:/data");
    let args = [
        "--health-cmd",
        "test -f /ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "-v",
        mount.as_str(),
    ];
    let command = [
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo seen >> /data/log; while true; do sleep 1; done",
    ];
    project.run_image("api", 1, &args, &v1, &command);
    project.run_image("api", 2, &args, &v1, &command);
    let health = |id: &str| docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", id]);
    assert!(common::wait_until(Duration::from_secs(30), || {
        project.ids().iter().all(|id| health(id) == "healthy")
    }));

    let dokk = Dokk::new();
    let audit = dokk.home.path().join("audit.jsonl");
    let service = format!("{}/api", project.name);
    let mut starts = 2;
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (n, at) in moments().into_iter().enumerate() {
        let ids = project.ids();
        let from = docker_ok(&["inspect", "--format", "{{.Config.Image}}", &ids[0]]);
        let to = if from == v1 { v2.clone() } else { v1.clone() };
        let seen = audit_entries(&audit).len();
        let began = Instant::now();
        let cut = cut_deploy(
            &dokk,
            &audit,
            &[
                "deploy", &service, "--image", &to, "--order", order, "--yes",
            ],
            signal,
            at,
        );
        let deploy_took = began.elapsed();
        // The next ordinary command.
        let status = dokk
            .command()
            .env("DOKK_AUDIT_LOG", &audit)
            .args(["status", "--json"])
            .stdin(Stdio::null())
            .output()
            .expect("dokk status runs");
        let status_said = String::from_utf8_lossy(&status.stderr).to_string();

        let mut wrong = Vec::new();
        if !status.status.success() {
            wrong.push(format!("status failed: {status_said}"));
        }
        let names = docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", project.name),
            "--format",
            "{{.Names}} {{.Image}} {{.State}}",
        ]);
        let rows: Vec<Vec<&str>> = names.lines().map(|l| l.split(' ').collect()).collect();
        if rows.len() != 2 {
            wrong.push(format!("{} containers: {names}", rows.len()));
        }
        if rows.iter().any(|r| r[0].contains("dokk-previous")) {
            wrong.push(format!("a parked container is left: {names}"));
        }
        if rows.iter().any(|r| r.get(2) != Some(&"running")) {
            wrong.push(format!("not all running: {names}"));
        }
        let images: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[1]).collect();
        if images.len() != 1 {
            wrong.push(format!("more than one image: {names}"));
        }
        let image = images.iter().next().copied().unwrap_or_default();
        // Every start appended a line to the volume's log: none may be lost.
        let log = rows
            .first()
            .map(|r| docker_ok(&["exec", r[0], "cat", "/data/log"]))
            .unwrap_or_default();
        let lines = log.lines().count();
        if lines < starts {
            wrong.push(format!(
                "the volume lost data: {lines} lines, {starts} before"
            ));
        }
        starts = lines;
        // What the audit log says must be what the engine shows.
        let new: Vec<Value> = audit_entries(&audit).split_off(seen);
        let last = new
            .iter()
            .rev()
            .find(|e| e["service"] == service.as_str())
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap_or(""),
                    e["result"].as_str().unwrap_or("")
                )
            });
        let expected = match last.as_deref() {
            None | Some("recover put back") => from.as_str(),
            Some("deploy stable") | Some("recover finished") => to.as_str(),
            Some(other) => {
                wrong.push(format!("an audit entry that says neither: {other}"));
                ""
            }
        };
        if image != expected {
            wrong.push(format!(
                "the audit log's last word ({last:?}) says {expected}, the engine runs {image}"
            ));
        }
        // SIGINT caught in the rollout: exit 130 saying where the service is, the repair done
        // by dokk itself before it exited.
        if signal == "INT" && cut.ended == "130" {
            let said = cut.stderr.join("\n");
            if !said.contains("was stopped") {
                wrong.push(format!("exit 130 without saying the state:\n{said}"));
            }
            if status_said.contains("repairing") {
                wrong.push("SIGINT left the repair to the next command".into());
            }
        }
        if signal == "INT" && !["0", "130", "signal 2"].contains(&cut.ended.as_str()) {
            wrong.push(format!("SIGINT ended dokk with {}", cut.ended));
        }
        let step = at
            .line
            .checked_sub(1)
            .and_then(|i| cut.stderr.get(i))
            .cloned()
            .unwrap_or_else(|| "(nothing yet)".into());
        table.push(format!(
            "{n:>2} after line {} +{:>3} ms ({step}): dokk {}, {:.1} s; audit: {}; runs {}",
            at.line,
            at.delay.as_millis(),
            cut.ended,
            deploy_took.as_secs_f64(),
            last.as_deref().unwrap_or("nothing"),
            image
        ));
        if !wrong.is_empty() {
            failures.push(format!(
                "cut {n} ({at:?}):\n  {}\n  dokk said:\n    {}\n  status said:\n    {}",
                wrong.join("\n  "),
                cut.stderr.join("\n    "),
                status_said.trim().replace('\n', "\n    ")
            ));
            break;
        }
    }
    println!("SIG{signal}, {order}:\n{}", table.join("\n"));
    drop(project);
    let _ = docker(&["volume", "rm", &volume]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Cut before the intent was written, mid-rollout (put back), and after a replica had
    // moved: the moments reached every kind of repair.
    let outcomes = table.join("\n");
    assert!(outcomes.contains("recover put back"), "{outcomes}");
}

#[test]
fn sigint_at_any_moment_of_a_stop_first_deploy_leaves_the_service_whole() {
    interrupted_deploys_leave_the_service_whole("INT", "stop-first");
}

#[test]
fn sigkill_at_any_moment_of_a_stop_first_deploy_leaves_the_service_whole() {
    interrupted_deploys_leave_the_service_whole("KILL", "stop-first");
}

#[test]
fn sigint_at_any_moment_of_a_start_first_deploy_leaves_the_service_whole() {
    interrupted_deploys_leave_the_service_whole("INT", "start-first");
}

#[test]
fn sigkill_at_any_moment_of_a_start_first_deploy_leaves_the_service_whole() {
    interrupted_deploys_leave_the_service_whole("KILL", "start-first");
}
