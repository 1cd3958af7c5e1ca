//! A private sshd on 127.0.0.1 for the tests that reach the engine over `ssh://`: its own
//! port, host key, authorised client key and log, in a folder of its own; the machine's sshd
//! and the user's ~/.ssh are not touched. dokk is pointed at it with `DOKK_SSH_COMMAND="ssh -F
//! <its client config>"`. Dropping it stops the listener and every connection it serves.
//! sshd runs with its defaults (MaxStartups 10:30:100 included), as on any host.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (tests/run installs openssh-server)");
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("dokk-sshd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("keys");
        // sshd wants its privilege-separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel INFO\n\
             PidFile {d}/sshd.pid\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .expect("known_hosts");
        Sshd::write_client_config(d, "ssh_config", "client_key", "known_hosts");
        let child = Sshd::spawn(d);
        let sshd = Sshd { dir, port, child };
        sshd.wait_listening();
        sshd
    }

    fn spawn(dir: &Path) -> Child {
        Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("sshd starts (tests/run installs openssh-server)")
    }

    fn wait_listening(&self) {
        let port = self.port;
        assert!(
            super::wait_until(Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "sshd did not listen on {port}: {}",
            self.log()
        );
    }

    /// The host drops off the network: every connection is cut and none is taken.
    pub fn go_away(&mut self) {
        self.drop_connections();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The host is back, on the same port with the same keys.
    pub fn come_back(&mut self) {
        self.child = Sshd::spawn(self.dir.path());
        self.wait_listening();
    }

    fn write_client_config(dir: &Path, name: &str, key: &str, known_hosts: &str) {
        let config = format!(
            "Host *\n  IdentityFile {d}/{key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/{known_hosts}\n  \
             GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  IdentityAgent none\n",
            d = dir.display()
        );
        std::fs::write(dir.join(name), config).expect("ssh_config");
    }

    /// A client config that does not know the host key.
    pub fn config_without_host_key(&self) -> PathBuf {
        let d = self.dir.path();
        std::fs::write(d.join("empty_known_hosts"), "").expect("known_hosts");
        Sshd::write_client_config(d, "ssh_config_nohostkey", "client_key", "empty_known_hosts");
        d.join("ssh_config_nohostkey")
    }

    /// A client config whose key the server does not accept.
    pub fn config_with_wrong_key(&self) -> PathBuf {
        let d = self.dir.path();
        keygen(&d.join("wrong_key"));
        Sshd::write_client_config(d, "ssh_config_wrongkey", "wrong_key", "known_hosts");
        d.join("ssh_config_wrongkey")
    }

    pub fn client_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// `DOKK_SSH_COMMAND` for `config`.
    pub fn ssh_command_with(config: &Path) -> String {
        format!("ssh -F {}", config.display())
    }

    pub fn ssh_command(&self) -> String {
        Sshd::ssh_command_with(&self.client_config())
    }

    /// `ssh://root@127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Connections sshd accepted (logged in) so far.
    pub fn accepted(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }

    /// Connections sshd dropped before they logged in (MaxStartups, or an error).
    pub fn refused_early(&self) -> usize {
        let log = self.log();
        log.matches("drop connection").count() + log.matches("exceeded MaxStartups").count()
    }

    /// ssh processes that use this server's client configs: the ones dokk started.
    pub fn client_processes(&self) -> Vec<String> {
        let marker = self.dir.path().display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.starts_with("ssh ") && cmdline.contains(&marker) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
        found
    }

    /// Waits a little for dokk's ssh processes to end; returns those still running.
    pub fn client_processes_after_exit(&self) -> Vec<String> {
        super::wait_until(Duration::from_secs(5), || {
            self.client_processes().is_empty()
        });
        self.client_processes()
    }

    /// Cuts every connection the server serves, as a network drop would, and keeps listening.
    pub fn drop_connections(&self) {
        for pid in descendants(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.drop_connections();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every process below `root` (sshd forks a monitor per connection and a session below it).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The command may hold spaces and parentheses: the parent's pid follows the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}
