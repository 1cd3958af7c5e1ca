//! Deploys and rollbacks: a service's revisions (history), what differs between two of them,
//! the rollout engine the CLI and the console share (`rollout`), and the audit log every
//! mutation is appended to. The platform-specific steps are in `compose` and `ecs`.

pub mod compose;
pub mod ecs;
pub mod intent;
pub mod rollout;
pub mod swarm;

pub use intent::Recovered;
pub use rollout::{Follow, Plan, Report, Request, apply, plan};

use crate::config::{Context, Target};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeployError {
    /// Bad input or a refused action (exit code 2); nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
    /// A signal stopped the rollout; `code` is the exit code (130, 143, 129).
    #[error("{message}")]
    Interrupted { code: u8, message: String },
}

/// Repairs the context's rollouts that were cut off (of `service` only, when given): Compose
/// keeps an intent journal for that; ECS and Swarm carry a rollout on by themselves.
pub async fn recover(
    context: &Context,
    service: Option<&str>,
    progress: &mut (dyn FnMut(String) + Send),
) -> Vec<Recovered> {
    match &context.target {
        Target::Docker(docker) => {
            intent::recover(&context.name, &docker.host, service, progress).await
        }
        Target::Ecs(_) | Target::Swarm(_) => Vec::new(),
    }
}

/// A service's revisions, newest first, on whichever platform the context is.
pub async fn history(context: &Context, service: &str) -> Result<Vec<Revision>, DeployError> {
    match &context.target {
        Target::Docker(docker) => compose::history(&context.name, &docker.host, service).await,
        Target::Swarm(target) => swarm::history(&context.name, &target.host, service).await,
        Target::Ecs(target) => {
            let aws = crate::backend::ecs::Aws::connect(target).await;
            let cluster = crate::backend::ecs::cluster_name(&aws).await?;
            Ok(ecs::history(&aws, &cluster, service).await?.1)
        }
    }
}

/// The images a deploy of the service could go to, sorted: every tagged image on the engine
/// (Compose: no registry is asked), or the images of the family's registered revisions (ECS).
pub async fn images(context: &Context, service: &str) -> Result<Vec<String>, DeployError> {
    let mut images = match &context.target {
        Target::Docker(docker) => compose::engine_images(&docker.host).await?,
        // The manager's own images: a swarm without a registry runs what its nodes hold.
        Target::Swarm(swarm) => compose::engine_images(&swarm.host).await?,
        Target::Ecs(_) => history(context, service)
            .await?
            .into_iter()
            .flat_map(|r| r.images)
            .collect(),
    };
    images.sort();
    images.dedup();
    Ok(images)
}

/// The history as a table, the same columns on every platform: what `dokk history` prints
/// and `h` in the console shows.
pub fn history_table(revisions: &[Revision]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<34} {:<8} {:<20} {:<26} {:<9} IMAGES",
        "REVISION", "", "WHEN", "BY", "ROLLBACK"
    )];
    for r in revisions {
        lines.push(format!(
            "{:<34} {:<8} {:<20} {:<26} {:<9} {}",
            r.id,
            if r.live {
                "● live"
            } else if r.in_deployment {
                "◐ deploy"
            } else {
                ""
            },
            r.registered_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            r.registered_by
                .as_deref()
                .map(|b| b.rsplit('/').next().unwrap_or(b))
                .unwrap_or(""),
            if r.can_rollback {
                "yes"
            } else if r.live {
                "-"
            } else {
                "no"
            },
            r.images.join(", ")
        ));
    }
    lines
}

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One revision a service can run, reduced to what a person compares before acting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    /// `family:3` (ECS) or an image reference (Compose).
    pub id: String,
    /// The images it runs, one per container.
    pub images: Vec<String>,
    pub number: Option<i32>,
    pub status: String,
    pub registered_at: Option<DateTime<Utc>>,
    /// Who registered it (ECS) or deployed it (Compose, from dokk's audit log).
    pub registered_by: Option<String>,
    /// Can a rollback go to it: the revision is ACTIVE (ECS), the image is still on the
    /// engine (Compose); never the live one.
    pub can_rollback: bool,
    /// Compose: the engine's image id, repo digest and build time (null on ECS).
    pub image_id: Option<String>,
    pub digest: Option<String>,
    pub created: Option<String>,
    /// Is this what the service runs now?
    pub live: bool,
    /// Is a deployment of the service using it (the old one during a rollout)?
    pub in_deployment: bool,
    pub containers: Vec<ContainerRevision>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRevision {
    pub name: String,
    pub image: String,
    /// Variable names only: values may be secrets.
    pub env_names: Vec<String>,
    pub cpu: i32,
    pub memory: Option<i32>,
    pub ports: Vec<String>,
    pub health_check: Vec<String>,
    pub command: Vec<String>,
}

/// What differs between two revisions, one line a change.
pub fn diff(from: &Revision, to: &Revision) -> Vec<String> {
    let mut changes = Vec::new();
    if from.cpu != to.cpu {
        changes.push(format!(
            "task cpu: {} → {}",
            from.cpu.as_deref().unwrap_or("-"),
            to.cpu.as_deref().unwrap_or("-")
        ));
    }
    if from.memory != to.memory {
        changes.push(format!(
            "task memory: {} → {}",
            from.memory.as_deref().unwrap_or("-"),
            to.memory.as_deref().unwrap_or("-")
        ));
    }
    for new in &to.containers {
        let Some(old) = from.containers.iter().find(|c| c.name == new.name) else {
            changes.push(format!("container {} added ({})", new.name, new.image));
            continue;
        };
        let name = &new.name;
        if old.image != new.image {
            changes.push(format!("{name} image: {} → {}", old.image, new.image));
        }
        for added in new.env_names.iter().filter(|n| !old.env_names.contains(n)) {
            changes.push(format!("{name} env: + {added}"));
        }
        for removed in old.env_names.iter().filter(|n| !new.env_names.contains(n)) {
            changes.push(format!("{name} env: − {removed}"));
        }
        if old.cpu != new.cpu {
            changes.push(format!("{name} cpu: {} → {}", old.cpu, new.cpu));
        }
        if old.memory != new.memory {
            changes.push(format!(
                "{name} memory: {} → {}",
                old.memory.map_or("-".into(), |m| m.to_string()),
                new.memory.map_or("-".into(), |m| m.to_string())
            ));
        }
        if old.ports != new.ports {
            changes.push(format!(
                "{name} ports: {} → {}",
                old.ports.join(","),
                new.ports.join(",")
            ));
        }
        if old.health_check != new.health_check {
            changes.push(format!(
                "{name} health check: {} → {}",
                old.health_check.join(" "),
                new.health_check.join(" ")
            ));
        }
        if old.command != new.command {
            changes.push(format!(
                "{name} command: {} → {}",
                old.command.join(" "),
                new.command.join(" ")
            ));
        }
    }
    for old in from
        .containers
        .iter()
        .filter(|o| !to.containers.iter().any(|n| n.name == o.name))
    {
        changes.push(format!("container {} removed", old.name));
    }
    changes
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry<'a> {
    pub time: DateTime<Utc>,
    pub user: String,
    pub context: &'a str,
    pub action: &'a str,
    pub service: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub result: &'a str,
}

/// `audit.jsonl` in dokk's data dir (`DOKK_AUDIT_LOG` moves it).
pub fn audit_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DOKK_AUDIT_LOG") {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("", "", "dokk").map(|d| d.data_dir().join("audit.jsonl"))
}

pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Appends a mutation by the current user to the audit log; a log that cannot be written is
/// said on stderr and does not stop the rollout.
pub fn record(context: &str, action: &str, service: &str, from: &str, to: &str, result: &str) {
    let entry = AuditEntry {
        time: Utc::now(),
        user: current_user(),
        context,
        action,
        service,
        from,
        to,
        result,
    };
    if let Err(error) = audit(&entry) {
        tracing::warn!(%error, "could not append to the audit log");
        let _ = writeln!(
            std::io::stderr(),
            "dokk: could not append to the audit log: {error}"
        );
    }
}

/// The audit log's image changes (deploys and rollbacks, not scales) of this context and
/// service, oldest first.
pub fn journal(context: &str, service: &str) -> Vec<serde_json::Value> {
    let Some(path) = audit_path() else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["context"] == context && e["service"] == service)
        .filter(|e| e["action"] == "deploy" || e["action"] == "rollback")
        .collect()
}

/// Appends one mutation to the audit log.
pub fn audit(entry: &AuditEntry) -> std::io::Result<()> {
    let path =
        audit_path().ok_or_else(|| std::io::Error::other("no data dir for the audit log"))?;
    let mut file = crate::files::append_private(&path)?;
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(image: &str, env: &[&str], memory: Option<i32>) -> Revision {
        Revision {
            id: "web:1".into(),
            number: Some(1),
            status: "ACTIVE".into(),
            registered_at: None,
            registered_by: None,
            images: vec![image.into()],
            can_rollback: true,
            image_id: None,
            digest: None,
            created: None,
            live: false,
            in_deployment: false,
            containers: vec![ContainerRevision {
                name: "web".into(),
                image: image.into(),
                env_names: env.iter().map(|s| s.to_string()).collect(),
                cpu: 256,
                memory,
                ports: vec!["3000/tcp".into()],
                health_check: Vec::new(),
                command: Vec::new(),
            }],
            cpu: Some("256".into()),
            memory: Some("512".into()),
        }
    }

    #[test]
    fn the_diff_names_images_env_names_and_sizes_never_values() {
        let from = revision("web:v1", &["DATABASE_URL", "OLD"], Some(512));
        let to = revision("web:v2", &["DATABASE_URL", "NEW"], Some(1024));
        assert_eq!(
            diff(&from, &to),
            [
                "web image: web:v1 → web:v2",
                "web env: + NEW",
                "web env: − OLD",
                "web memory: 512 → 1024",
            ]
        );
        assert!(diff(&from, &from).is_empty());
    }
}
