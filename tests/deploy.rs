//! Compose deploys and rollbacks against the real engine: replicas recreated one at a time,
//! gated on their health check, with everything but the image kept (the volume's data too);
//! a failing image reverted; an image that is not there refused before anything is touched.

mod common;

use common::{Dokk, Project, docker, docker_ok, version_image};
use serde_json::Value;

/// What `docker inspect` says of a container, without what a recreation must change: ids,
/// timestamps, paths named after the id, addresses, and the image itself.
fn comparable(id: &str) -> Value {
    let mut json: Value = serde_json::from_str(&docker_ok(&["inspect", id])).expect("inspect JSON");
    let mut c = json[0].take();
    for key in [
        "Id",
        "Created",
        "Image",
        "State",
        "ResolvConfPath",
        "HostnamePath",
        "HostsPath",
        "LogPath",
        "GraphDriver",
        "RestartCount",
        "NetworkSettings",
        "ExecIDs",
        "SizeRw",
        "SizeRootFs",
    ] {
        c.as_object_mut().map(|o| o.remove(key));
    }
    if let Some(config) = c["Config"].as_object_mut() {
        config.remove("Image");
        config.remove("Hostname");
    }
    // An anonymous volume goes to the new container by its name (as Compose itself recreates
    // containers), which `docker inspect` shows as a bind of that volume and another mount
    // mode; the volume and its data are the same (checked below).
    let anonymous = |name: &str| name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(binds) = c["HostConfig"]["Binds"].as_array_mut() {
        binds.retain(|b| !anonymous(b.as_str().unwrap_or("").split(':').next().unwrap_or("")));
    }
    if let Some(mounts) = c["Mounts"].as_array_mut() {
        for mount in mounts.iter_mut() {
            mount.as_object_mut().map(|m| m.remove("Mode"));
        }
        // The engine lists mounts in no fixed order.
        mounts.sort_by_key(|m| m["Destination"].as_str().unwrap_or("").to_string());
    }
    if let Some(binds) = c["HostConfig"]["Binds"].as_array_mut() {
        binds.sort_by_key(|b| b.as_str().unwrap_or("").to_string());
    }
    c
}

/// Where two JSON values differ, as paths with both sides.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let (l, r) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                if l != r && !out.iter().any(|o| o.starts_with(&format!("{path}/{key} "))) {
                    differences(l, r, &format!("{path}/{key}"), out);
                }
            }
        }
        _ if a != b => out.push(format!("{path} {a} ≠ {b}")),
        _ => {}
    }
}

fn same(new: &Value, old: &Value) -> Result<(), String> {
    let mut out = Vec::new();
    differences(new, old, "", &mut out);
    out.dedup();
    if out.is_empty() {
        Ok(())
    } else {
        Err(out.join("\n"))
    }
}

fn aliases(id: &str) -> Vec<String> {
    let format =
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{join $v.Aliases \",\"}} {{end}}";
    let short = &id[..12];
    docker_ok(&["inspect", "--format", format, id])
        .split_whitespace()
        .map(|s| {
            s.split(',')
                .filter(|a| !a.ends_with(short) && *a != short)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn replica_ids(project: &Project) -> Vec<String> {
    let mut ids = project.ids();
    ids.sort_by_key(|id| docker_ok(&["inspect", "--format", "{{.Name}}", id]));
    ids
}

fn image_of(id: &str) -> String {
    docker_ok(&["inspect", "--format", "{{.Config.Image}}", id])
}

#[test]
fn deploy_is_health_gated_keeps_everything_but_the_image_and_reverts_a_failure() {
    let v1 = version_image("v1", true);
    let v2 = version_image("v2", true);
    let v3 = version_image("v3-broken", false);
    let project = Project::new("deploy");
    let volume = format!("{}-data", project.name);
    let network = format!("{}-net", project.name);
    docker_ok(&["network", "create", &network]);
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
        "-v",
        "/scratch",
        "--network",
        network.as_str(),
        "--network-alias",
        "api",
        "--memory",
        "64m",
        "--cpus",
        "0.2",
        "--restart",
        "unless-stopped",
        "-e",
        "MODE=prod",
        "--label",
        "team=web",
        "--log-opt",
        "max-size=1m",
    ];
    let command = [
        "sh",
        "-c",
        "echo seen >> /data/log; echo kept > /scratch/anon; sleep 600",
    ];
    project.run_image("api", 1, &args, &v1, &command);
    project.run_image("api", 2, &args, &v1, &command);
    assert!(common::wait_until(
        std::time::Duration::from_secs(30),
        || {
            replica_ids(&project).iter().all(|id| {
                docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", id]) == "healthy"
            })
        }
    ));
    let before: Vec<(Value, Vec<String>)> = replica_ids(&project)
        .iter()
        .map(|id| (comparable(id), aliases(id)))
        .collect();

    let dokk = Dokk::new();
    let audit = dokk.config().with_file_name("audit.jsonl");
    let service = format!("{}/api", project.name);
    let run = |args: &[&str]| {
        let output = dokk
            .command()
            .env("DOKK_AUDIT_LOG", &audit)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("dokk runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };

    // An image the engine does not have: refused, nothing touched.
    let ids_before = replica_ids(&project);
    let (code, _, stderr) = run(&[
        "deploy",
        &service,
        "--image",
        "dokk-deploy-test:missing",
        "--yes",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not on the engine"), "{stderr}");
    assert_eq!(replica_ids(&project), ids_before);

    // v2, healthy: both replicas move, one at a time; only the image differs.
    let (code, stdout, stderr) = run(&["deploy", &service, "--image", &v2, "--yes", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let after_ids = replica_ids(&project);
    assert_eq!(after_ids.len(), 2);
    for (id, (old, old_aliases)) in after_ids.iter().zip(&before) {
        assert!(!ids_before.contains(id), "recreated");
        assert_eq!(image_of(id), v2);
        if let Err(diff) = same(&comparable(id), old) {
            panic!("only the image (and ids) may differ:\n{diff}");
        }
        assert_eq!(&aliases(id), old_aliases);
        assert_eq!(docker_ok(&["exec", id, "cat", "/version"]), "v2");
        // The anonymous volume came along with its data.
        assert_eq!(docker_ok(&["exec", id, "cat", "/scratch/anon"]), "kept");
    }
    let log = docker_ok(&["exec", &after_ids[0], "cat", "/data/log"]);
    assert_eq!(
        log.lines().count(),
        4,
        "the named volume kept every start: {log}"
    );

    // v3 fails its health check: reverted to v2, exit 1, nothing else changed.
    let (code, stdout, stderr) = run(&["deploy", &service, "--image", &v3, "--yes", "--json"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["result"], "failed");
    assert_eq!(report["rolled_back"], true);
    let reverted = replica_ids(&project);
    assert_eq!(reverted.len(), 2);
    for (id, (old, _)) in reverted.iter().zip(&before) {
        assert_eq!(image_of(id), v2);
        if let Err(diff) = same(&comparable(id), old) {
            panic!("after the revert:\n{diff}");
        }
        assert_eq!(
            docker_ok(&["inspect", "--format", "{{.State.Running}}", id]),
            "true"
        );
    }
    assert!(
        !docker_ok(&["ps", "-a", "--format", "{{.Names}}"]).contains("dokk-previous"),
        "no parked container left behind"
    );

    // Rollback without --to goes to what ran before v2 (from the journal): v1.
    let (code, _, stderr) = run(&["rollback", &service, "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(replica_ids(&project).iter().all(|id| image_of(id) == v1));
    // …and to any image by --to.
    let (code, _, stderr) = run(&["rollback", &service, "--to", &v2, "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(replica_ids(&project).iter().all(|id| image_of(id) == v2));

    // History: live first, then what the journal knows, each on the engine or not.
    let (code, stdout, stderr) = run(&["history", &service, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let history: Value = serde_json::from_str(&stdout).expect("JSON");
    let ids: Vec<&str> = history
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids[0], v2);
    assert!(
        ids.contains(&v1.as_str()) && ids.contains(&v3.as_str()),
        "{ids:?}"
    );
    assert_eq!(history[0]["live"], true);
    // The same keys as ECS's history: the live image cannot be rolled back to, the others can.
    assert_eq!(history[0]["images"][0], v2.as_str());
    assert_eq!(history[0]["can_rollback"], false);
    assert!(history[1]["can_rollback"].as_bool().expect("can_rollback"));
    assert!(history[0]["number"].is_null() && history[0].get("registered_at").is_some());

    // Read-only: refused, and not one event on the service's containers at the engine.
    let ids = replica_ids(&project);
    let since = docker_ok(&["info", "--format", "{{.SystemTime}}"]);
    for args in [
        vec![
            "--readonly",
            "rollback",
            service.as_str(),
            "--to",
            v1.as_str(),
            "--yes",
        ],
        vec![
            "--readonly",
            "deploy",
            service.as_str(),
            "--image",
            v1.as_str(),
            "--yes",
        ],
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("read-only"), "{stderr}");
    }
    let until = docker_ok(&["info", "--format", "{{.SystemTime}}"]);
    let label = format!("label=com.docker.compose.project={}", project.name);
    // Health checks run as execs meanwhile (exec_create, exec_die…); what would change the
    // service is counted. (The engine's `event=die` filter also matches `exec_die`.)
    let mutating = [
        "create", "destroy", "start", "stop", "kill", "rename", "die", "update",
    ];
    let all = docker_ok(&[
        "events", "--since", &since, "--until", &until, "--filter", &label,
    ]);
    let events: Vec<&str> = all
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(|action| mutating.contains(&action))
        })
        .collect();
    assert!(
        events.is_empty(),
        "read-only dokk changed containers: {events:?}"
    );
    assert_eq!(replica_ids(&project), ids);

    drop(project);
    let _ = docker(&["network", "rm", &network]);
    let _ = docker(&["volume", "rm", &volume]);
}

/// A single-replica web service as seed 000 runs it behind Traefik (routed by its labels, on
/// a network, under an alias), serving its image's `/version` over HTTP, with `extra` run
/// arguments; and a prober on the same network asking it every 100 ms through the alias.
struct Web {
    project: Project,
    network: String,
    service: String,
}

impl Web {
    fn start(tag: &str, image: &str, extra: &[&str]) -> Web {
        let project = Project::new(tag);
        let network = format!("{}-net", project.name);
        docker_ok(&["network", "create", &network]);
        let rule = format!(
            "traefik.http.routers.{}.rule=Host(`web.test`)",
            project.name
        );
        let mut args = vec![
            "--health-cmd",
            "test -f /ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
            "--network",
            network.as_str(),
            "--network-alias",
            "web",
            "--label",
            "traefik.enable=true",
            "--label",
            rule.as_str(),
            "--label",
            "traefik.http.services.web.loadbalancer.server.port=80",
        ];
        args.extend_from_slice(extra);
        // sh as PID 1 stops on SIGTERM (httpd alone would wait for the engine's SIGKILL).
        let serve = "trap 'exit 0' TERM; httpd -f -p 80 -h / & wait";
        project.run_image("web", 1, &args, image, &["sh", "-c", serve]);
        let service = format!("{}/web", project.name);
        assert!(common::wait_until(
            std::time::Duration::from_secs(30),
            || healthy_replicas(&project) == 1
        ));
        Web {
            project,
            network,
            service,
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let ids = self.project.ids();
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(String::as_str));
        let _ = docker(&args);
        let _ = docker(&["network", "rm", &self.network]);
    }
}

fn healthy_replicas(project: &Project) -> usize {
    docker_ok(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
        "--filter",
        "health=healthy",
    ])
    .lines()
    .count()
}

/// What the sampler saw during a deploy: the healthy replicas every 100 ms, and the HTTP
/// probes through the alias that failed, of all.
struct Samples {
    healthy: Vec<usize>,
    probes: (usize, usize),
}

/// Runs `dokk deploy` with `args` while sampling the service every 100 ms.
fn deploy_sampled(web: &Web, dokk: &Dokk, args: &[&str]) -> (std::process::Output, Samples) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let prober = docker_ok(&[
        "run",
        "-d",
        "--network",
        &web.network,
        common::IMAGE,
        "sh",
        "-c",
        // The static busybox's wget cannot resolve names (no NSS) and crashes on -T; its nslookup
        // resolves, and the first address is the one a client takes.
        "while true; do ip=$(nslookup web 127.0.0.11 2>/dev/null \
         | awk '/^Address/ && $NF !~ /:53$/ {print $NF; exit}'); \
         [ -n \"$ip\" ] && timeout 1 wget -q -O /dev/null http://$ip/version && echo ok || echo FAIL; \
         sleep 0.1; done",
    ]);
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, project) = (
            done.clone(),
            Project {
                name: web.project.name.clone(),
            },
        );
        std::thread::spawn(move || {
            let mut healthy = Vec::new();
            let mut next = Instant::now();
            while !done.load(Ordering::SeqCst) {
                healthy.push(healthy_replicas(&project));
                next += Duration::from_millis(100);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            std::mem::forget(project); // the service is not the sampler's to remove
            healthy
        })
    };
    let output = dokk
        .command()
        .args(["deploy", &web.service])
        .args(args)
        .arg("--yes")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("dokk runs");
    done.store(true, Ordering::SeqCst);
    let healthy = sampler.join().expect("sampler");
    let said = docker_ok(&["logs", &prober]);
    let _ = docker(&["rm", "-f", &prober]);
    let probes = (
        said.lines().filter(|l| *l == "FAIL").count(),
        said.lines().count(),
    );
    (output, Samples { healthy, probes })
}

#[test]
fn start_first_keeps_a_healthy_replica_in_every_sample_and_host_ports_go_stop_first() {
    let v1 = version_image("v1", true);
    let v2 = version_image("v2", true);
    let dokk = Dokk::new();

    // Routed by labels, no host port: start-first.
    let web = Web::start("startfirst", &v1, &[]);
    let (output, samples) = deploy_sampled(&web, &dokk, &["--image", &v2]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("start-first (no host port") && stderr.contains("which serves meanwhile"),
        "{stderr}"
    );
    let ids = web.project.ids();
    assert_eq!(ids.len(), 1, "one replica after the deploy");
    assert_eq!(image_of(&ids[0]), v2);
    assert!(samples.healthy.len() >= 10, "{:?}", samples.healthy);
    assert!(
        samples.healthy.iter().all(|&n| n >= 1),
        "a sample without a healthy replica: {:?}",
        samples.healthy
    );
    assert!(
        samples.healthy.contains(&2),
        "both were up at once: {:?}",
        samples.healthy
    );
    println!(
        "start-first: {} samples, fewest healthy {}; HTTP through the alias: {} of {} failed",
        samples.healthy.len(),
        samples.healthy.iter().min().unwrap_or(&0),
        samples.probes.0,
        samples.probes.1
    );
    drop(web);

    // A host port: stop-first, said, and the gap it leaves is seen.
    let web = Web::start("stopfirst", &v1, &["-p", "127.0.0.1::80"]);
    let (output, samples) = deploy_sampled(&web, &dokk, &["--image", &v2]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stop-first (it publishes host port 127.0.0.1:")
            && stderr.contains("it is down until its successor is healthy"),
        "{stderr}"
    );
    assert!(
        samples.healthy.contains(&0),
        "stop-first leaves a moment without a healthy replica: {:?}",
        samples.healthy
    );
    println!(
        "stop-first: {} samples, {} without a healthy replica; HTTP: {} of {} failed",
        samples.healthy.len(),
        samples.healthy.iter().filter(|&&n| n == 0).count(),
        samples.probes.0,
        samples.probes.1
    );
    let plan = dokk
        .command()
        .args([
            "deploy",
            &web.service,
            "--image",
            &v1,
            "--order",
            "start-first",
            "--yes",
        ])
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert_eq!(plan.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("host port") && stderr.contains("--order stop-first"),
        "{stderr}"
    );
    assert_eq!(image_of(&web.project.ids()[0]), v2, "nothing touched");
    drop(web);

    // No room on the host for a second copy of a replica's memory limit: start-first refused
    // when asked for; stop-first chosen by itself, and why is said.
    let web = Web::start("noroom", &v1, &["--memory", "13g"]);
    let plan = dokk
        .command()
        .args([
            "deploy",
            &web.service,
            "--image",
            &v2,
            "--order",
            "start-first",
            "--yes",
        ])
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert_eq!(plan.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no room for one more replica's 13312 MiB"),
        "{stderr}"
    );
    let (output, _) = deploy_sampled(&web, &dokk, &["--image", &v2]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stop-first (the host has no room for one more replica's"),
        "{stderr}"
    );
    let ids = web.project.ids();
    assert_eq!((ids.len(), image_of(&ids[0])), (1, v2));
}
