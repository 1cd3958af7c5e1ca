//! Shared by the tests that use a real Docker engine: the local busybox image, containers with
//! Compose labels that are removed afterwards, and the dokk binary with an isolated config.
#![allow(dead_code)]

pub mod ecs;
pub mod ssh;
pub mod swarm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const IMAGE: &str = "dokk-demo:latest";

/// Prints what a log view must not pass to the terminal: colours, an OSC 0 title change, a
/// bell, carriage-return overwrites and a 1 MB line.
pub const HOSTILE_SCRIPT: &str = "printf '\\033[31mred\\033[0m plain\\n'; \
    printf '\\033]0;pwned-title\\007after-title\\n'; \
    printf 'bell\\007here\\n'; \
    printf '10%%\\r20%%\\r30%%\\n'; \
    head -c 1048576 /dev/zero | tr '\\000' x; echo; \
    echo END-OF-HOSTILE; sleep 600";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the busybox image once per test binary (demo/lib.sh does the work).
pub fn ensure_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = repo_root().join("demo/lib.sh");
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}' && ensure_image", script.display()))
            .status()
            .expect("bash runs");
        assert!(status.success(), "building {IMAGE} failed");
    });
}

/// `dokk-deploy-test:TAG`, built from the busybox image with `/version` holding TAG and, when
/// `healthy`, the `/ok` file the deploy tests' health check looks for.
pub fn version_image(tag: &str, healthy: bool) -> String {
    ensure_image();
    let name = format!("dokk-deploy-test:{tag}");
    let ok = if healthy { " && touch /ok" } else { "" };
    build_image(
        &name,
        &format!("FROM {IMAGE}\nRUN echo {tag} > /version{ok}\n"),
    );
    name
}

/// `name`, built from `from` with more Dockerfile `lines` (ENV, LABEL…): an image whose
/// defaults differ from the one it is built on.
pub fn derived_image(name: &str, from: &str, lines: &[&str]) -> String {
    build_image(name, &format!("FROM {from}\n{}\n", lines.join("\n")));
    name.to_string()
}

/// Builds `dockerfile` as `name` (the classic builder: no BuildKit on this engine).
fn build_image(name: &str, dockerfile: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    let output = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", name])
        .arg(dir.path())
        .output()
        .expect("docker build");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An image with busybox at /busybox and nothing else: no shell on the PATH.
pub fn image_without_shell() -> String {
    const NAME: &str = "dokk-test-noshell:latest";
    static ONCE: Once = Once::new();
    ensure_image();
    ONCE.call_once(|| {
        if docker(&["image", "inspect", NAME]).status.success() {
            return;
        }
        build_image(
            NAME,
            &format!(
                "FROM {IMAGE} AS source\nFROM scratch\nCOPY --from=source /bin/busybox /busybox\n"
            ),
        );
    });
    NAME.to_string()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

/// Runs docker and returns its trimmed stdout; panics with stderr on failure.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A Compose-labelled project of containers, removed when dropped.
pub struct Project {
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Project {
    pub fn new(tag: &str) -> Project {
        ensure_image();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Project {
            name: format!("dokktest-{tag}-{}-{n}", std::process::id()),
        }
    }

    /// Starts replica `number` of `service` with extra `docker run` arguments and a command.
    pub fn run(&self, service: &str, number: u32, args: &[&str], command: &[&str]) -> String {
        self.run_image(service, number, args, IMAGE, command)
    }

    /// As `run`, with another image.
    pub fn run_image(
        &self,
        service: &str,
        number: u32,
        args: &[&str],
        image: &str,
        command: &[&str],
    ) -> String {
        let name = format!("{}-{service}-{number}", self.name);
        let project = format!("com.docker.compose.project={}", self.name);
        let service_label = format!("com.docker.compose.service={service}");
        let number_label = format!("com.docker.compose.container-number={number}");
        let mut full = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &project,
            "--label",
            &service_label,
            "--label",
            &number_label,
            "--label",
            "com.docker.compose.oneoff=False",
        ];
        full.extend_from_slice(args);
        full.push(image);
        full.extend_from_slice(command);
        docker_ok(&full)
    }

    pub fn ids(&self) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        docker_ok(&["ps", "-aq", "--no-trunc", "--filter", &filter])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let ids = self.ids();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
}

/// The dokk binary with an empty config and its files in a temporary home.
pub struct Dokk {
    pub home: tempfile::TempDir,
}

impl Dokk {
    pub fn new() -> Dokk {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::write(home.path().join("config.toml"), "").expect("config");
        Dokk { home }
    }

    pub fn config(&self) -> PathBuf {
        self.home.path().join("config.toml")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dokk"));
        command
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env_remove("DOKK_CONTEXT")
            .arg("--config")
            .arg(self.config());
        command
    }

    /// The shell line that starts dokk the same way, for tmux.
    pub fn shell_line(&self, extra: &str) -> String {
        let home = self.home.path().display();
        format!(
            "env HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config {extra} {} --config {}",
            env!("CARGO_BIN_EXE_dokk"),
            self.config().display()
        )
    }
}

pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// A tmux session of its own, killed when dropped.
pub struct Tmux {
    pub session: String,
    socket: PathBuf,
    pub pid: u32,
}

impl Tmux {
    pub fn start(tag: &str, width: u16, height: u16, command: &str) -> Tmux {
        let socket = std::env::temp_dir().join(format!("dokk-tmux-{tag}-{}", std::process::id()));
        let session = format!("dokk-{tag}");
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args([
                "new-session",
                "-d",
                "-P",
                "-F",
                "#{pane_pid}",
                "-s",
                &session,
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(format!("exec {command}"))
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pid = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("pane pid");
        Tmux {
            session,
            socket,
            pid,
        }
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket);
        command
    }

    pub fn capture(&self) -> String {
        let output = self
            .tmux()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn send(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    pub fn resize(&self, width: u16, height: u16) {
        let status = self
            .tmux()
            .args([
                "resize-window",
                "-t",
                &self.session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .status()
            .expect("resize-window");
        assert!(status.success());
    }

    pub fn title(&self) -> String {
        let output = self
            .tmux()
            .args([
                "display-message",
                "-p",
                "-t",
                &self.session,
                "#{pane_title}",
            ])
            .output()
            .expect("title");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Waits until the screen contains every one of `needles`; returns the last screen.
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> Result<String, String> {
        let mut screen = String::new();
        let found = wait_until(timeout, || {
            screen = self.capture();
            needles.iter().all(|n| screen.contains(n))
        });
        if found { Ok(screen) } else { Err(screen) }
    }

    pub fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// A line of /proc/PID/status, as a number (`Threads`, `VmRSS` in kB).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
