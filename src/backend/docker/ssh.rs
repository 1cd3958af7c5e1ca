//! An engine on another host, reached over SSH: one `ssh` process and one SSH connection per
//! host for the whole dokk run, whatever dokk has in flight.
//!
//! The connection forwards a private local socket to the engine's socket on the host
//! (`-L local.sock:/var/run/docker.sock`), so every HTTP connection of the Docker client is a
//! channel of that one connection; sshd's `MaxStartups` never sees more than one. The same
//! connection runs a small shell loop on the host that reads files on request (the cgroup
//! counters, see `host_files`), so usage can be sampled on the host without the engine.
//!
//! The loop reads dokk's requests from ssh's stdin, so it ends when dokk does, however dokk
//! ends (even `kill -9`): the pipe closes, the remote shell sees end of file and exits, and
//! ssh exits with it. Nothing of dokk's stays running on either side.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};

use super::DockerError;

/// The engine's socket on the host unless the address names another (`ssh://host/run/docker.sock`).
const REMOTE_SOCKET: &str = "/var/run/docker.sock";
/// Time for ssh to connect, authenticate and start the remote loop.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of ssh's stderr kept to explain a failure.
const STDERR_LINES: usize = 20;

/// Where `ssh://[user@]host[:port][/socket]` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub remote_socket: String,
}

impl SshTarget {
    pub fn parse(address: &str) -> Result<SshTarget, String> {
        let rest = address
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("`{address}` is not an ssh:// address"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (Some(user.to_string()), host_port),
            None => (None, authority),
        };
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("`{address}`: an IPv6 address needs a closing ]"))?;
            (host, after.strip_prefix(':'))
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| format!("`{address}`: the port `{p}` is not a number"))
            })
            .transpose()?;
        let valid_name = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-:%".contains(c))
        };
        if !valid_name(host) {
            return Err(format!("`{address}`: no host name"));
        }
        if let Some(user) = &user
            && !valid_name(user)
        {
            return Err(format!("`{address}`: `{user}` is not a user name"));
        }
        let remote_socket = match path {
            "" | "/" => REMOTE_SOCKET.to_string(),
            path if path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)) =>
            {
                path.to_string()
            }
            path => return Err(format!("`{address}`: `{path}` is not a socket path")),
        };
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
            remote_socket,
        })
    }

    /// `user@host`, as people write it.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// What the remote loop found when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub user: String,
    /// The engine's socket: `ok`, `missing` or `denied`.
    pub socket: String,
    /// The remote user can read `/proc/self/cgroup` (and so, normally, the counters).
    pub cgroups: bool,
}

impl Hello {
    fn parse(line: &str) -> Option<Hello> {
        let mut fields = line.split_whitespace();
        if fields.next()? != "dokk-hello" {
            return None;
        }
        let mut hello = Hello {
            user: String::new(),
            socket: String::new(),
            cgroups: false,
        };
        for field in fields {
            match field.split_once('=') {
                Some(("user", v)) => hello.user = v.to_string(),
                Some(("socket", v)) => hello.socket = v.to_string(),
                Some(("cgroups", v)) => hello.cgroups = v == "yes",
                _ => {}
            }
        }
        Some(hello)
    }
}

/// The remote loop: says what it found, then answers each line of paths with every line of
/// those files (`path:line`, as `grep -H` prints them) and a line holding `.` alone. No quote
/// of the script may be a single quote: it travels inside one.
fn remote_script(socket: &str) -> String {
    format!(
        "s={socket}; \
         if [ ! -S $s ]; then a=missing; elif [ -r $s ] && [ -w $s ]; then a=ok; else a=denied; fi; \
         if [ -r /proc/self/cgroup ]; then c=yes; else c=no; fi; \
         echo \"dokk-hello user=$(id -un) socket=$a cgroups=$c\"; \
         set -f; \
         while IFS= read -r line; do grep -H \"\" $line 2>/dev/null; echo .; done"
    )
}

/// Files read on the host, by path; a file that could not be read is absent.
pub type FileTexts = HashMap<String, String>;

type Request = (Vec<String>, oneshot::Sender<Option<FileTexts>>);

/// Reads files on the engine's host through the SSH connection: one request at a time, all
/// its files in one round trip, no process per file on the host.
#[derive(Debug, Clone)]
pub struct HostFiles {
    requests: mpsc::Sender<Request>,
}

impl HostFiles {
    /// `None` when the connection is gone.
    pub async fn read(&self, paths: Vec<String>) -> Option<FileTexts> {
        // A path the loop could misread (a space would split it, an empty line would make grep
        // read its input) is not sent: it reads as missing.
        let paths: Vec<String> = paths
            .into_iter()
            .filter(|p| p.starts_with('/') && !p.contains(|c: char| c.is_whitespace() || c == ':'))
            .collect();
        if paths.is_empty() {
            return Some(FileTexts::new());
        }
        let (tx, rx) = oneshot::channel();
        self.requests.send((paths, tx)).await.ok()?;
        rx.await.ok()?
    }
}

/// One host's SSH connection, shared by everything dokk does with that engine.
#[derive(Debug)]
pub struct Tunnel {
    pub target: SshTarget,
    /// The local end of the forwarded engine socket.
    pub socket: PathBuf,
    pub hello: Hello,
    pub files: HostFiles,
    dir: PathBuf,
    alive: Arc<AtomicBool>,
    /// Dropping it stops the ssh process.
    _stop: oneshot::Sender<()>,
}

impl Tunnel {
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// A `unix://` address of the forwarded socket, for the Docker client.
    pub fn local_address(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    async fn start(address: &str) -> Result<Tunnel, DockerError> {
        let unreachable = |message: String| DockerError::Unreachable {
            host: address.to_string(),
            message,
        };
        let target = SshTarget::parse(address).map_err(unreachable)?;
        let dir = private_dir().map_err(|e| {
            unreachable(format!(
                "cannot make a private folder for the SSH socket: {e}"
            ))
        })?;
        let socket = dir.join("docker.sock");
        let mut command = ssh_command(&target, &socket);
        let child = command.spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                let program = ssh_program().0;
                return Err(unreachable(
                    if error.kind() == std::io::ErrorKind::NotFound {
                        format!(
                            "`{program}` is not installed: install OpenSSH's client (apt install openssh-client)"
                        )
                    } else {
                        format!("cannot start `{program}`: {error}")
                    },
                ));
            }
        };
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (Some(stdin), Some(stdout), Some(err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(unreachable("ssh started without its pipes".to_string()));
        };
        tokio::spawn(keep_stderr(err, stderr.clone(), target.destination()));
        let mut stdout = BufReader::new(stdout);
        let started = tokio::time::timeout(START_TIMEOUT, async {
            let mut line = String::new();
            loop {
                line.clear();
                match stdout.read_line(&mut line).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {
                        if let Some(hello) = Hello::parse(&line) {
                            return Some(hello);
                        }
                        // A login banner or a shell's greeting: not ours.
                    }
                }
            }
        })
        .await;
        let fail = |message: String, mut child: Child| {
            let _ = child.start_kill();
            let _ = std::fs::remove_dir_all(&dir);
            Err(unreachable(message))
        };
        let hello = match started {
            Ok(Some(hello)) => hello,
            Ok(None) => {
                let status = child.wait().await.ok();
                // The stderr task may still be reading ssh's last words.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let lines = stderr.lock().map(|l| l.clone()).unwrap_or_default();
                return fail(explain_exit(&target, &lines, status), child);
            }
            Err(_) => {
                return fail(
                    format!(
                        "ssh to {} did not finish connecting within {} s",
                        target.destination(),
                        START_TIMEOUT.as_secs()
                    ),
                    child,
                );
            }
        };
        if let Some(message) = explain_socket(&target, &hello) {
            return fail(message, child);
        }
        if !wait_for_socket(&socket).await {
            return fail(
                format!(
                    "ssh to {} connected but did not forward the engine's socket (is AllowStreamLocalForwarding off in the host's sshd_config?)",
                    target.destination()
                ),
                child,
            );
        }
        let alive = Arc::new(AtomicBool::new(true));
        let (requests, request_rx) = mpsc::channel(4);
        tokio::spawn(serve_reads(
            stdin,
            stdout,
            request_rx,
            AliveGuard(alive.clone()),
        ));
        let (stop, stop_rx) = oneshot::channel();
        tokio::spawn(watch_child(child, stop_rx, AliveGuard(alive.clone())));
        tracing::info!(host = %target.destination(), user = %hello.user, cgroups = hello.cgroups, "ssh connection up");
        Ok(Tunnel {
            target,
            socket,
            hello,
            files: HostFiles { requests },
            dir,
            alive,
            _stop: stop,
        })
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Marks the connection dead when the task holding it ends, however it ends (a runtime that
/// shuts down drops its tasks).
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The ssh program and the arguments it always gets: `DOKK_SSH_COMMAND` (as `GIT_SSH_COMMAND`,
/// split at spaces) or `ssh`.
fn ssh_program() -> (String, Vec<String>) {
    let configured = std::env::var("DOKK_SSH_COMMAND").unwrap_or_default();
    let mut words = configured.split_whitespace().map(str::to_string);
    match words.next() {
        Some(program) => (program, words.collect()),
        None => ("ssh".to_string(), Vec::new()),
    }
}

fn ssh_command(target: &SshTarget, socket: &Path) -> Command {
    let (program, extra) = ssh_program();
    let mut command = Command::new(program);
    command.args(extra);
    command.args([
        "-T",
        // No prompt can be answered behind the console: a key in the agent or on disk works.
        "-o",
        "BatchMode=yes",
        "-o",
        "ExitOnForwardFailure=yes",
        // A dead network is noticed in about 15 s, as an engine that stops answering.
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "ConnectTimeout=10",
        // A master of the user's own would outlive dokk or be torn down under it.
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        "StreamLocalBindUnlink=yes",
        "-o",
        "StreamLocalBindMask=0177",
    ]);
    if let Some(port) = target.port {
        command.arg("-p").arg(port.to_string());
    }
    command
        .arg("-L")
        .arg(format!("{}:{}", socket.display(), target.remote_socket))
        .arg("--")
        .arg(target.destination())
        .arg(format!(
            "exec /bin/sh -c '{}'",
            remote_script(&target.remote_socket)
        ));
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Ctrl-C in dokk's terminal is dokk's to handle; it must not cut the engine off first.
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// A folder only this user can enter, for the forwarded socket: whoever can reach that socket
/// commands the engine.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    remove_stale_dirs(&base);
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    let dir = base.join(format!("dokk-ssh-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Folders left by a dokk that was killed: their process is gone.
fn remove_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("dokk-ssh-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn wait_for_socket(socket: &Path) -> bool {
    for _ in 0..50 {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn keep_stderr(
    stderr: ChildStderr,
    lines: Arc<Mutex<VecDeque<String>>>,
    destination: String,
) {
    let mut reader = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        tracing::warn!(host = %destination, "ssh: {line}");
        if let Ok(mut kept) = lines.lock() {
            if kept.len() == STDERR_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
    }
}

async fn watch_child(mut child: Child, stop: oneshot::Receiver<()>, _alive: AliveGuard) {
    tokio::select! {
        status = child.wait() => {
            tracing::warn!(?status, "ssh connection ended");
        }
        _ = stop => {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

async fn serve_reads(
    mut stdin: ChildStdin,
    mut stdout: BufReader<ChildStdout>,
    mut requests: mpsc::Receiver<Request>,
    _alive: AliveGuard,
) {
    let mut line = String::new();
    while let Some((paths, reply)) = requests.recv().await {
        let mut request = paths.join(" ");
        request.push('\n');
        if stdin.write_all(request.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            let _ = reply.send(None);
            return;
        }
        let mut texts = FileTexts::new();
        loop {
            line.clear();
            match stdout.read_line(&mut line).await {
                Ok(0) | Err(_) => {
                    let _ = reply.send(None);
                    return;
                }
                Ok(_) => {}
            }
            let text = line.strip_suffix('\n').unwrap_or(&line);
            if text == "." {
                break;
            }
            if let Some((path, content)) = text.split_once(':') {
                let file = texts.entry(path.to_string()).or_default();
                file.push_str(content);
                file.push('\n');
            }
        }
        let _ = reply.send(Some(texts));
    }
}

/// Why ssh gave up, in words that say what to do.
fn explain_exit(
    target: &SshTarget,
    stderr: &VecDeque<String>,
    status: Option<std::process::ExitStatus>,
) -> String {
    let destination = target.destination();
    let said = stderr
        .iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let has = |needle: &str| said.contains(needle);
    let advice = if has("Host key verification failed")
        || has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || has("No ED25519 host key is known")
        || has("host key is known")
    {
        format!(
            "the host key of {} is not known or has changed: run `ssh {destination}` once in a terminal to check and accept it",
            target.host
        )
    } else if has("Permission denied") {
        format!(
            "{destination} refused the login: load your key into the agent (`ssh-add`) or name it with IdentityFile in ~/.ssh/config; check the user name"
        )
    } else if has("Could not resolve hostname") {
        format!(
            "the name {} does not resolve: check the address or your ~/.ssh/config Host entry",
            target.host
        )
    } else if has("Connection refused") {
        format!(
            "nothing listens for SSH on {}{}: is sshd running, and is the port right?",
            target.host,
            target.port.map(|p| format!(":{p}")).unwrap_or_default()
        )
    } else if has("timed out") || has("No route to host") {
        format!(
            "{} did not answer: is it up, and does a firewall or security group let SSH through?",
            target.host
        )
    } else if has("kex_exchange_identification") || has("Connection closed by") {
        format!(
            "{} closed the connection before logging in (too many connections at once, or a firewall)",
            target.host
        )
    } else if has("not found") || has("No such file") {
        format!("the remote shell on {destination} could not start /bin/sh")
    } else {
        match status.and_then(|s| s.code()) {
            Some(code) => format!("ssh to {destination} exited with status {code}"),
            None => format!("ssh to {destination} was stopped"),
        }
    };
    if said.is_empty() {
        advice
    } else {
        format!("{advice} (ssh said: {said})")
    }
}

fn explain_socket(target: &SshTarget, hello: &Hello) -> Option<String> {
    let host = &target.host;
    let socket = &target.remote_socket;
    match hello.socket.as_str() {
        "ok" => None,
        "missing" => Some(format!(
            "there is no Docker engine socket at {socket} on {host}: is Docker installed and running there (systemctl status docker)?"
        )),
        "denied" => Some(format!(
            "{user} on {host} may not use the Docker socket {socket}: add them to the docker group (sudo usermod -aG docker {user}, then log in again)",
            user = hello.user
        )),
        other => Some(format!(
            "the remote check on {host} gave an unexpected answer (`{other}`)"
        )),
    }
}

static TUNNELS: LazyLock<tokio::sync::Mutex<HashMap<String, Arc<Tunnel>>>> =
    LazyLock::new(Default::default);

/// The live connection to the host at `address`, started when there is none (or the last one
/// was lost: a reconnect).
pub async fn tunnel(address: &str) -> Result<Arc<Tunnel>, DockerError> {
    let mut tunnels = TUNNELS.lock().await;
    if let Some(tunnel) = tunnels.get(address)
        && tunnel.is_alive()
    {
        return Ok(tunnel.clone());
    }
    tunnels.remove(address);
    let tunnel = Arc::new(Tunnel::start(address).await?);
    tunnels.insert(address.to_string(), tunnel.clone());
    Ok(tunnel)
}

/// The live connection to `address`, if there is one; starts none.
pub async fn current(address: &str) -> Option<Arc<Tunnel>> {
    let tunnels = TUNNELS.lock().await;
    tunnels.get(address).filter(|t| t.is_alive()).cloned()
}

/// Ends every SSH connection: at exit, so none waits for its pipe to close.
pub fn close_all() {
    if let Ok(mut tunnels) = TUNNELS.try_lock() {
        tunnels.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ssh_addresses() {
        let t = SshTarget::parse("ssh://ec2-user@evergreen.example:2222").expect("valid");
        assert_eq!(t.user.as_deref(), Some("ec2-user"));
        assert_eq!(t.host, "evergreen.example");
        assert_eq!(t.port, Some(2222));
        assert_eq!(t.remote_socket, REMOTE_SOCKET);
        assert_eq!(t.destination(), "ec2-user@evergreen.example");

        let t = SshTarget::parse("ssh://evergreen").expect("valid");
        assert_eq!((t.user, t.port), (None, None));

        let t = SshTarget::parse("ssh://root@[::1]:22/run/user/1000/docker.sock").expect("valid");
        assert_eq!(t.host, "::1");
        assert_eq!(t.port, Some(22));
        assert_eq!(t.remote_socket, "/run/user/1000/docker.sock");

        for bad in [
            "ssh://",
            "ssh://host:port",
            "ssh://-oProxyCommand=x",
            "ssh://a@b/so cket",
            "ssh://a'b@c",
            "tcp://x",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_remote_hello() {
        let hello =
            Hello::parse("dokk-hello user=ec2-user socket=denied cgroups=yes\n").expect("a hello");
        assert_eq!(hello.user, "ec2-user");
        assert_eq!(hello.socket, "denied");
        assert!(hello.cgroups);
        assert!(Hello::parse("Welcome to Amazon Linux").is_none());
    }

    #[test]
    fn the_remote_script_fits_in_single_quotes() {
        assert!(!remote_script(REMOTE_SOCKET).contains('\''));
    }

    #[test]
    fn ssh_failures_say_what_to_do() {
        let target = SshTarget::parse("ssh://ec2-user@evergreen").expect("valid");
        let said = |line: &str| VecDeque::from([line.to_string()]);
        let cases = [
            (
                "Host key verification failed.",
                "run `ssh ec2-user@evergreen` once",
            ),
            (
                "ec2-user@evergreen: Permission denied (publickey).",
                "ssh-add",
            ),
            (
                "ssh: Could not resolve hostname evergreen: Name or service not known",
                "does not resolve",
            ),
            (
                "ssh: connect to host evergreen port 22: Connection refused",
                "is sshd running",
            ),
            (
                "kex_exchange_identification: Connection closed by remote host",
                "closed the connection",
            ),
        ];
        for (stderr, advice) in cases {
            let message = explain_exit(&target, &said(stderr), None);
            assert!(message.contains(advice), "{stderr} → {message}");
            assert!(message.contains(stderr), "{message}");
        }
        let denied = Hello {
            user: "ec2-user".into(),
            socket: "denied".into(),
            cgroups: true,
        };
        let message = explain_socket(&target, &denied).expect("an error");
        assert!(message.contains("usermod -aG docker ec2-user"), "{message}");
    }
}
