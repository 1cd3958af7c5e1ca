//! The swarm lab of `tests/swarm-lab.sh`: three dockerd nodes in their own network namespaces
//! (tests/run starts it while cargo compiles and tears it down after). The tests wait for it,
//! speak to each node by its socket, and remove the services they create.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use super::{Dokk, repo_root, wait_until};

pub const NODES: [&str; 3] = ["dokksw-n1", "dokksw-n2", "dokksw-n3"];

pub struct Lab {
    pub dir: PathBuf,
}

/// The lab, once it is up: started by tests/run (`DOKK_SWARM_LAB`), else brought up here.
pub fn lab() -> Lab {
    let dir = std::env::var_os("DOKK_SWARM_LAB").map(PathBuf::from);
    let dir = match dir {
        Some(dir) => dir,
        None => {
            let dir = PathBuf::from("/tmp/dokk-swarmlab");
            let status = Command::new(repo_root().join("tests/swarm-lab.sh"))
                .arg("up")
                .env("SWLAB_DIR", &dir)
                .status()
                .expect("tests/swarm-lab.sh runs");
            assert!(status.success(), "tests/swarm-lab.sh up failed");
            dir
        }
    };
    let ready = wait_until(Duration::from_secs(300), || {
        dir.join("ready").exists() || dir.join("failed").exists()
    });
    let failed = std::fs::read_to_string(dir.join("failed")).ok();
    assert!(
        ready && failed.is_none(),
        "the swarm lab did not come up: {}",
        failed.unwrap_or_else(|| "still not ready after 300 s (see /tmp/dokk-swarmlab.log)".into())
    );
    Lab { dir }
}

impl Lab {
    pub fn socket(&self, node: usize) -> String {
        format!("unix://{}/{}/docker.sock", self.dir.display(), NODES[node])
    }

    /// docker against node `node`'s engine (0: the manager).
    pub fn docker_on(&self, node: usize, args: &[&str]) -> Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.socket(node))
            .args(args)
            .output()
            .expect("the docker CLI runs")
    }

    /// docker against the manager; its trimmed stdout, or a panic with its stderr.
    pub fn docker(&self, args: &[&str]) -> String {
        let output = self.docker_on(0, args);
        assert!(
            output.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// dokk with a `lab` context on this swarm (every node reached by the template).
    pub fn dokk(&self, readonly: bool) -> Dokk {
        let dokk = Dokk::new();
        let config = format!(
            "default_context = \"lab\"\n[contexts.lab]\nkind = \"swarm\"\nhost = \"{}\"\nnode_host = \"unix://{}/{{hostname}}/docker.sock\"\nreadonly = {readonly}\nrefresh_ms = 500\n",
            self.socket(0),
            self.dir.display()
        );
        std::fs::write(dokk.config(), config).expect("config");
        dokk
    }

    pub fn lab_script(&self, args: &[&str]) {
        let status = Command::new(repo_root().join("tests/swarm-lab.sh"))
            .args(args)
            .env("SWLAB_DIR", &self.dir)
            .status()
            .expect("tests/swarm-lab.sh runs");
        assert!(status.success(), "tests/swarm-lab.sh {args:?} failed");
    }

    /// Running tasks of a service as the manager reports them: (slot, node).
    pub fn running_tasks(&self, service: &str) -> Vec<(String, String)> {
        let out = self.docker(&[
            "service",
            "ps",
            service,
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Name}} {{.Node}} {{.CurrentState}}",
        ]);
        out.lines()
            .filter(|l| l.contains("Running"))
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect()
    }

    pub fn wait_running(&self, service: &str, count: usize) {
        assert!(
            wait_until(Duration::from_secs(90), || self
                .running_tasks(service)
                .len()
                == count),
            "{service}: {count} tasks did not reach running: {:?}",
            self.running_tasks(service)
        );
    }
}

/// A service on the lab, removed when dropped.
pub struct LabService<'a> {
    pub lab: &'a Lab,
    pub name: String,
}

impl<'a> LabService<'a> {
    pub fn create(lab: &'a Lab, name: &str, args: &[&str]) -> LabService<'a> {
        let _ = lab.docker_on(0, &["service", "rm", name]);
        let mut all = vec![
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            name,
        ];
        all.extend_from_slice(args);
        lab.docker(&all);
        LabService {
            lab,
            name: name.to_string(),
        }
    }
}

impl Drop for LabService<'_> {
    fn drop(&mut self) {
        let _ = self.lab.docker_on(0, &["service", "rm", &self.name]);
    }
}
