//! Secrets stay secret: a container's environment values, AWS credentials and the session
//! token StartSession hands out reach no file dokk writes (log file at `DOKK_LOG=trace`, audit
//! log, rollout journal, saved logs) and no error message; dokk's files are 0600, its folders
//! 0700.
//!
//! moto does not model SSM's StartSession, so a small proxy in front of the moto server answers
//! that one call as the SSM API reference does (SessionId, StreamUrl, TokenValue) and passes
//! every other request through to moto. The Session Manager plugin is a stand-in script that
//! records what it was given and fails, as a plugin that cannot reach the stream would.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::ecs::{REGION, endpoint, exclusive, seed};
use common::{Dokk, Project, Tmux, docker_ok, version_image};

const SCREEN_TIMEOUT: Duration = Duration::from_secs(20);

/// A value no other test, image or file holds.
fn unique(kind: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("dokk{kind}{}x{nanos}", std::process::id())
}

/// Every file under `dir`, depth first.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Answers SSM StartSession with `token`, passes the rest to moto; one request per connection.
fn start_proxy(token: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listens");
    let address = listener.local_addr().expect("address").to_string();
    let moto = endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (token, moto) = (token.clone(), moto.clone());
            std::thread::spawn(move || relay(stream, &token, &moto));
        }
    });
    format!("http://{address}")
}

fn relay(stream: TcpStream, token: &str, moto: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if let Some(value) = lower.strip_prefix("x-amz-target:") {
            target = value.trim().to_string();
        }
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut client = stream;
    if target == "amazonssm.startsession" {
        let answer = format!(
            r#"{{"SessionId":"dokk-test-0123456789abcdef0","StreamUrl":"wss://ssmmessages.{REGION}.amazonaws.com/v1/data-channel/dokk-test-0123456789abcdef0?role=publish_subscribe","TokenValue":"{token}"}}"#
        );
        let _ = write!(
            client,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(moto) else {
        return;
    };
    let mut request = head.concat();
    request.push_str("Connection: close\r\n\r\n");
    let _ = upstream.write_all(request.as_bytes());
    let _ = upstream.write_all(&body);
    let mut response = Vec::new();
    let _ = upstream.read_to_end(&mut response);
    let _ = client.write_all(&response);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_file_dokk_wrote_and_its_files_are_private() {
    let env_secret = unique("envsecret");
    let plain_value = unique("plainvalue");
    let access_key = unique("accesskey");
    let secret_key = unique("secretkey");
    let session_token = unique("sessiontoken");
    let stream_token = unique("streamtoken");
    let secrets = [
        &env_secret,
        &plain_value,
        &access_key,
        &secret_key,
        &session_token,
        &stream_token,
    ];
    let dokk = Dokk::new();
    let outside = tempfile::tempdir().expect("tempdir");
    let mut said = String::new();

    // A Compose service whose environment holds a secret-looking and a plain value.
    let v1 = version_image("v1", true);
    let v2 = version_image("v2", true);
    let project = Project::new("secrets");
    let password = format!("API_PASSWORD={env_secret}");
    let greeting = format!("GREETING={plain_value}");
    project.run_image(
        "web",
        1,
        &[
            "-e",
            &password,
            "-e",
            &greeting,
            "--health-cmd",
            "test -f /ok",
            "--health-interval",
            "1s",
        ],
        &v1,
        &["sh", "-c", "echo serving; sleep 3600"],
    );
    let service = format!("{}/web", project.name);
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let output = dokk
            .command()
            .env("DOKK_LOG", "trace")
            .envs(envs.iter().copied())
            .args(args)
            .output()
            .expect("dokk runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = run(&["status", "--json"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&project.name), "{stdout}");
    said.push_str(&stderr);
    let (code, stdout, stderr) = run(&["deploy", &service, "--image", &v2, "--yes"], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    said.push_str(&stdout);
    said.push_str(&stderr);
    let id = docker_ok(&[
        "ps",
        "-q",
        "--filter",
        &format!("name={}-web-1", project.name),
    ]);
    let env = docker_ok(&["inspect", "-f", "{{json .Config.Env}}", &id]);
    assert!(
        env.contains(&env_secret) && env.contains(&plain_value),
        "the deploy kept the environment: {env}"
    );

    // The console: the detail view with the values revealed, then the logs saved.
    let cwd = outside.path().join("cwd");
    std::fs::create_dir(&cwd).expect("cwd");
    let line = dokk.shell_line("DOKK_LOG=trace").replacen(
        "env ",
        &format!("env -C {} ", cwd.display()),
        1,
    );
    let tmux = Tmux::start("secrets", 160, 40, &line);
    tmux.wait_for(&["● live"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("never live:\n{s}"));
    tmux.send(&[":", &format!("filter {}", project.name), "Enter"]);
    tmux.wait_for(&[&format!("filter: {}", project.name)], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("not filtered:\n{s}"));
    tmux.send(&["Enter"]);
    tmux.wait_for(&[&plain_value], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no environment in the detail view:\n{s}"));
    tmux.send(&["x"]);
    tmux.wait_for(&[&env_secret], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("x did not reveal the secret:\n{s}"));
    tmux.send(&["Escape"]);
    tmux.wait_for(&["⏎ detail"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("fleet not back:\n{s}"));
    tmux.send(&["l"]);
    tmux.wait_for(&["serving"], SCREEN_TIMEOUT)
        .unwrap_or_else(|s| panic!("no logs:\n{s}"));
    tmux.send(&["S"]);
    assert!(
        common::wait_until(SCREEN_TIMEOUT, || files_under(&cwd).len() == 1),
        "the logs were not saved:\n{}",
        tmux.capture()
    );
    tmux.send(&["Escape"]);
    tmux.send(&["q"]);
    assert!(common::wait_until(SCREEN_TIMEOUT, || !tmux.alive()));
    drop(tmux);

    // ECS: every call signed with a session token; one fails; an SSM session is started.
    let _moto = exclusive().await;
    let seeded = seed(&unique("cluster")).await;
    let proxy = start_proxy(stream_token.clone());
    let plugin = outside.path().join("session-manager-plugin");
    let record = outside.path().join("plugin-saw");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 1.2.707.0; exit 0; fi\n\
             {{ env; echo \"$@\"; }} > {}\nexit 3\n",
            record.display()
        ),
    )
    .expect("plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        dokk.config(),
        format!(
            "[contexts.aws]\nkind = \"ecs\"\nregion = \"{REGION}\"\ncluster = \"{}\"\nendpoint_url = \"{proxy}\"\n\n\
             [contexts.nowhere]\nkind = \"ecs\"\nregion = \"{REGION}\"\ncluster = \"nowhere\"\nendpoint_url = \"{proxy}\"\n",
            seeded.cluster
        ),
    )
    .expect("config");
    let aws = [
        ("AWS_ACCESS_KEY_ID", access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret_key.as_str()),
        ("AWS_SESSION_TOKEN", session_token.as_str()),
        ("AWS_REGION", REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        (
            "DOKK_SESSION_MANAGER_PLUGIN",
            plugin.to_str().expect("utf-8"),
        ),
    ];
    let (code, _, stderr) = run(&["status", "--context", "nowhere"], &aws);
    assert_eq!(code, Some(1), "an unknown cluster fails: {stderr}");
    assert!(stderr.contains("ClusterNotFound"), "{stderr}");
    said.push_str(&stderr);
    let (code, stdout, stderr) = run(&["status", "--context", "aws", "--json"], &aws);
    assert_eq!(code, Some(0), "{stderr}");
    said.push_str(&stderr);
    assert!(stdout.contains(&seeded.cluster), "{stdout}");
    let node = &seeded.instances[0].0;
    let (code, stdout, stderr) = run(&["ssm", node, "--context", "aws"], &aws);
    said.push_str(&stdout);
    said.push_str(&stderr);
    assert_ne!(code, Some(0), "the stand-in plugin fails: {stderr}");
    assert!(stderr.contains("session-manager-plugin"), "{stderr}");
    let saw = std::fs::read_to_string(&record).expect("the plugin ran");
    assert!(
        saw.contains(&stream_token),
        "StartSession's token went to the plugin (so dokk held it): {saw}"
    );

    // What dokk said and every file it wrote: no secret; files 0600, folders 0700.
    for secret in secrets {
        assert!(
            !said.contains(secret.as_str()),
            "{secret} in dokk's output:\n{said}"
        );
    }
    let written: Vec<PathBuf> = files_under(dokk.home.path())
        .into_iter()
        .chain(files_under(&cwd))
        .filter(|p| p != &dokk.config())
        .collect();
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    for kind in ["dokk.log", "audit.jsonl", ".log"] {
        assert!(
            names.iter().any(|n| n.ends_with(kind)),
            "dokk wrote no {kind}: {names:#?}"
        );
    }
    for path in &written {
        let mode = std::fs::metadata(path).expect("stat").permissions().mode() & 0o777;
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
        if path.is_dir() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).to_string();
        for secret in secrets {
            let at = text.find(secret.as_str()).map(|i| {
                let from = text[..i].rfind('\n').map_or(0, |n| n + 1);
                text[from..(i + 200).min(text.len())].to_string()
            });
            assert!(at.is_none(), "{} holds a secret: {at:?}", path.display());
        }
    }
    eprintln!("checked {} files and folders dokk wrote:", written.len());
    for name in &names {
        eprintln!("  {name}");
    }
}
