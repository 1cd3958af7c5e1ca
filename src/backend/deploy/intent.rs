//! The intent journal of Compose rollouts. Before a replica is touched, what is about to
//! happen (the service, every replica's name, container and image, the image they move to)
//! is written durably beside the audit log, and each step after. A rollout cut off — Ctrl-C,
//! kill -9, an SSH session that drops, a power cut — leaves its intent behind, and the next
//! dokk command on the context (`deploy`, `rollback`, `status`, `recover`, the console) finds
//! it and, from what the engine shows, finishes the rollout when every replica already runs
//! the new image healthy, or else puts every replica back on what it ran. Either way no parked
//! container stays behind and the audit log says which it did.
//!
//! A running rollout holds a lock on its intent (an advisory `flock`, released by the kernel
//! however the process ends), so a repair never touches a rollout that is still going.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, HealthStatusEnum};
use bollard::query_parameters::{
    RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::compose::{self, PARKED};
use super::{DeployError, record};
use crate::backend::docker::{self, describe};
use crate::files;

/// How long a repair waits for a new replica that is still starting to turn healthy.
const FINISH_WAIT: Duration = Duration::from_secs(60);

/// How long after a rollout asked for a stop that stop may still land (the engine's stop
/// timeout and a margin).
const STOP_LANDS: Duration = Duration::from_secs(12);

/// One replica as it was before the rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    pub name: String,
    pub id: String,
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub context: String,
    /// `project/service`.
    pub service: String,
    /// `deploy` or `rollback`.
    pub action: String,
    pub from: String,
    pub to: String,
    pub pid: u32,
    pub started: DateTime<Utc>,
    pub replicas: Vec<Replica>,
    /// How the replicas make way: a put-back goes the same way.
    #[serde(default)]
    pub order: compose::Order,
    /// The latest step, as the progress said it.
    pub step: String,
}

/// `rollouts/` beside the audit log.
fn folder() -> Option<PathBuf> {
    super::audit_path()?.parent().map(|d| d.join("rollouts"))
}

/// A name safe on any file system that two different (context, service) pairs never share.
fn file_stem(context: &str, service: &str) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!("{}+{}", encode(context), encode(service))
}

fn paths(dir: &Path, context: &str, service: &str) -> (PathBuf, PathBuf) {
    let stem = file_stem(context, service);
    (
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.lock")),
    )
}

/// Takes the rollout's lock without waiting; `None` when another dokk holds it.
fn try_lock(lock_path: &Path) -> std::io::Result<Option<File>> {
    let file = files::append_private(lock_path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The intent of a rollout under way, locked for as long as it lives.
pub struct IntentFile {
    path: PathBuf,
    lock_path: PathBuf,
    intent: Intent,
    /// When the intent was last written (its step).
    last_step: SystemTime,
    _lock: File,
}

impl IntentFile {
    /// Writes the intent before anything is touched; refused when another dokk is rolling the
    /// same service out, failed (nothing touched) when it cannot be written.
    pub async fn begin(
        docker: &Docker,
        context: &str,
        service: &str,
        action: &str,
        (from, to, order): (&str, &str, compose::Order),
        replicas: &[(String, String)],
    ) -> Result<IntentFile, DeployError> {
        let dir = folder().ok_or_else(|| {
            DeployError::Failed(
                "no data folder for the rollout journal; nothing was touched".into(),
            )
        })?;
        let (path, lock_path) = paths(&dir, context, service);
        let unwritable = |e: std::io::Error| {
            DeployError::Failed(format!(
                "could not write the rollout journal in {}: {e}; nothing was touched",
                dir.display()
            ))
        };
        let lock = try_lock(&lock_path).map_err(unwritable)?.ok_or_else(|| {
            let holder = read(&path).map(|i| format!(" (pid {})", i.pid));
            DeployError::Refused(format!(
                "another dokk{} is rolling {service} out; wait for it to end, or stop it \
                 (the next dokk command then repairs what it left)",
                holder.unwrap_or_default()
            ))
        })?;
        let mut list = Vec::new();
        for (id, image) in replicas {
            let inspect = docker
                .inspect_container(id, None)
                .await
                .map_err(|e| DeployError::Failed(format!("inspect {id}: {}", describe(&e))))?;
            list.push(Replica {
                name: container_name(&inspect),
                id: id.clone(),
                image: image.clone(),
            });
        }
        let file = IntentFile {
            path,
            lock_path,
            intent: Intent {
                context: context.to_string(),
                service: service.to_string(),
                action: action.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                pid: std::process::id(),
                started: Utc::now(),
                replicas: list,
                order,
                step: "about to begin".into(),
            },
            last_step: SystemTime::now(),
            _lock: lock,
        };
        file.write().map_err(unwritable)?;
        Ok(file)
    }

    fn write(&self) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(&self.intent).map_err(std::io::Error::other)?;
        files::write_durable(&self.path, &json)
    }

    /// Records the step the rollout is at. Only a repair's message reads it (a repair goes by
    /// what the engine shows), so a failure to write it is logged, not fatal.
    pub fn step(&mut self, step: &str) {
        self.intent.step = step.trim().to_string();
        self.last_step = SystemTime::now();
        if let Err(error) = self.write() {
            tracing::warn!(%error, path = %self.path.display(), "could not update the rollout journal");
        }
    }

    /// The rollout ended with every replica consistent: its intent goes.
    pub fn finish(self) {
        if let Err(error) = files::remove_durable(&self.path) {
            tracing::warn!(%error, path = %self.path.display(), "could not remove the rollout journal");
        }
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

fn read(path: &Path) -> Option<Intent> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn container_name(inspect: &ContainerInspectResponse) -> String {
    inspect
        .name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string()
}

/// What a repair did to one interrupted rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovered {
    pub service: String,
    pub action: String,
    pub from: String,
    pub to: String,
    /// `finished`, `put back`, `in progress` (another dokk holds it: left alone) or `failed`
    /// (the intent stays for the next try).
    pub result: &'static str,
    pub message: String,
}

/// Finds the interrupted rollouts of `context` (of `service` only, when given: `project/name`
/// or `name`) and repairs each on the engine at `host`. `progress` hears each step and every
/// rollout it could not repair.
pub async fn recover(
    context: &str,
    host: &str,
    service: Option<&str>,
    progress: &mut (dyn FnMut(String) + Send),
) -> Vec<Recovered> {
    let Some(dir) = folder() else {
        return Vec::new();
    };
    let prefix = file_stem(context, "");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    found.sort();
    let mut engine: Option<Docker> = None;
    let mut done = Vec::new();
    for path in found {
        let Some(intent) = read(&path) else {
            continue;
        };
        let wanted = service
            .is_none_or(|s| intent.service == s || intent.service.rsplit('/').next() == Some(s));
        if intent.context != context || !wanted {
            continue;
        }
        let (result, message) = recover_one(&dir, path, &intent, host, &mut engine, progress).await;
        if !matches!(result, "finished" | "put back") {
            progress(format!("{}: {result}: {message}", intent.service));
        }
        done.push(Recovered {
            service: intent.service,
            action: intent.action,
            from: intent.from,
            to: intent.to,
            result,
            message,
        });
    }
    done
}

/// How many times a repair is tried before it is left for the next command: a request the
/// interrupted dokk had sent may still be running at the engine (a stop takes its time).
const ATTEMPTS: u32 = 3;

async fn recover_one(
    dir: &Path,
    path: PathBuf,
    intent: &Intent,
    host: &str,
    engine: &mut Option<Docker>,
    progress: &mut (dyn FnMut(String) + Send),
) -> (&'static str, String) {
    let (_, lock_path) = paths(dir, &intent.context, &intent.service);
    let lock = match try_lock(&lock_path) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return (
                "in progress",
                format!(
                    "a {} by dokk (pid {}) is under way; left to it",
                    intent.action, intent.pid
                ),
            );
        }
        Err(e) => return ("failed", format!("its journal cannot be locked: {e}")),
    };
    progress(format!(
        "an interrupted {} of {} ({} → {}, by pid {} at {}; its last step: {}): repairing",
        intent.action,
        intent.service,
        intent.from,
        intent.to,
        intent.pid,
        intent.started.format("%Y-%m-%d %H:%M:%S UTC"),
        intent.step
    ));
    if engine.is_none() {
        match docker::connect(host).await {
            Ok(client) => *engine = Some(client),
            Err(e) => {
                return (
                    "failed",
                    format!(
                        "the engine cannot be reached to repair it ({e}); the next dokk command \
                         tries again"
                    ),
                );
            }
        }
    }
    let Some(client) = engine.as_ref() else {
        return ("failed", "no engine".into());
    };
    let last_step = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now());
    let mut file = IntentFile {
        path,
        lock_path,
        intent: intent.clone(),
        last_step,
        _lock: lock,
    };
    let mut attempt = 1;
    let repaired = loop {
        match repair(client, &mut file, progress).await {
            Err(reason) if attempt < ATTEMPTS => {
                progress(format!("  {reason}; trying again"));
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            other => break other,
        }
    };
    let (result, message) = match repaired {
        Ok(Repair::Finished) => (
            "finished",
            format!(
                "every replica runs {} (the {} completed)",
                intent.to, intent.action
            ),
        ),
        Ok(Repair::PutBack) => (
            "put back",
            format!("every replica runs {} again", intent.from),
        ),
        Err(reason) => return ("failed", format!("{reason}; `dokk recover` tries again")),
    };
    record(
        &intent.context,
        "recover",
        &intent.service,
        &intent.from,
        &intent.to,
        result,
    );
    file.finish();
    progress(format!("{}: {result}: {message}", intent.service));
    (result, message)
}

enum Repair {
    Finished,
    PutBack,
}

/// One replica as the engine shows it now: under its own name, and parked.
struct Seen {
    replica: Replica,
    current: Option<ContainerInspectResponse>,
    parked: Option<ContainerInspectResponse>,
}

fn image_of(c: &ContainerInspectResponse) -> &str {
    c.config
        .as_ref()
        .and_then(|c| c.image.as_deref())
        .unwrap_or_default()
}

fn id_of(c: &ContainerInspectResponse) -> &str {
    c.id.as_deref().unwrap_or_default()
}

fn running(c: &ContainerInspectResponse) -> bool {
    c.state.as_ref().and_then(|s| s.running) == Some(true)
}

fn unhealthy(c: &ContainerInspectResponse) -> bool {
    c.state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        == Some(HealthStatusEnum::UNHEALTHY)
}

async fn look(docker: &Docker, replicas: &[Replica]) -> Vec<Seen> {
    let mut seen = Vec::new();
    for replica in replicas {
        let current = docker.inspect_container(&replica.name, None).await.ok();
        let parked = docker
            .inspect_container(&format!("{}{PARKED}", replica.name), None)
            .await
            .ok();
        seen.push(Seen {
            replica: replica.clone(),
            current,
            parked,
        });
    }
    seen
}

/// Finishes the rollout when every replica already runs the new image (a new one still
/// starting is waited for), else puts every replica back on the image it ran.
async fn repair(
    docker: &Docker,
    file: &mut IntentFile,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Repair, String> {
    let intent = file.intent.clone();
    let interrupted_at = file.last_step;
    let seen = look(docker, &intent.replicas).await;
    let on_new = |s: &Seen| {
        s.current
            .as_ref()
            .is_some_and(|c| image_of(c) == intent.to && running(c) && !unhealthy(c))
    };
    if seen.iter().all(on_new) {
        let mut finished = true;
        for s in seen.iter().filter(|s| s.parked.is_some()) {
            let current = s.current.as_ref().map(id_of).unwrap_or_default();
            progress(format!(
                "  {} runs {}; waiting for it to turn healthy (up to {} s)",
                s.replica.name,
                intent.to,
                FINISH_WAIT.as_secs()
            ));
            if let Err(reason) = compose::started(docker, current, FINISH_WAIT).await {
                progress(format!(
                    "  {}: {reason}; putting the service back",
                    s.replica.name
                ));
                finished = false;
                break;
            }
        }
        if finished {
            for s in &seen {
                if let Some(parked) = &s.parked {
                    // Start-first: the parked one may still be serving; it stops as gently
                    // as the rollout would have stopped it.
                    if running(parked) {
                        progress(format!("  stopping the parked {}{PARKED}", s.replica.name));
                        let stop = StopContainerOptionsBuilder::new().t(10).build();
                        let _ = docker.stop_container(id_of(parked), Some(stop)).await;
                    }
                    progress(format!("  removing the parked {}{PARKED}", s.replica.name));
                    remove(docker, id_of(parked)).await?;
                }
            }
            return Ok(Repair::Finished);
        }
    }
    // Back: first every parked container under its name again, then every replica that
    // had moved is replaced by a copy on the image it ran.
    // Stop-first cut at "stopping …", start-first at "… is healthy; stopping …".
    if intent.step.contains("stopping") {
        stops_landed(docker, &intent.replicas, interrupted_at).await;
    }
    file.step("putting the replicas back");
    for s in look(docker, &intent.replicas).await {
        let name = &s.replica.name;
        match (&s.current, &s.parked) {
            (current, Some(parked)) => {
                if let Some(current) = current {
                    progress(format!(
                        "  removing {name} ({}), which had replaced it",
                        image_of(current)
                    ));
                    remove(docker, id_of(current)).await?;
                }
                progress(format!("  {name}{PARKED} back as {name}, started"));
                docker
                    .rename_container(
                        id_of(parked),
                        RenameContainerOptionsBuilder::new().name(name).build(),
                    )
                    .await
                    .map_err(|e| format!("rename {name}{PARKED} back: {}", describe(&e)))?;
                start(docker, parked).await?;
            }
            (Some(current), None) => start(docker, current).await?,
            (None, None) => {
                return Err(format!(
                    "{name} is gone and nothing is parked for it (removed by hand?)"
                ));
            }
        }
    }
    for s in look(docker, &intent.replicas).await {
        let Some(current) = &s.current else {
            continue;
        };
        if image_of(current) == s.replica.image {
            continue;
        }
        let name = &s.replica.name;
        progress(format!(
            "  {name} runs {}: back to {}",
            image_of(current),
            s.replica.image
        ));
        let mut say = |l: &str| {
            file.step(l);
            progress(l.to_string())
        };
        match compose::replace(
            docker,
            id_of(current),
            (&s.replica.image, intent.order),
            FINISH_WAIT * 2,
            &mut say,
        )
        .await
        {
            Ok(compose::ReplicaOutcome::Replaced { .. }) => {}
            Ok(compose::ReplicaOutcome::Reverted { reason }) => {
                return Err(format!(
                    "{name} could not go back to {}: {reason}; it still runs {}",
                    s.replica.image,
                    image_of(current)
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(Repair::PutBack)
}

/// The rollout was cut off after it asked the engine to stop a replica: that stop goes on at
/// the engine, and a replica started again before it lands would be stopped under the repair.
/// Waits until every parked replica has stopped, or the engine's stop timeout has passed.
async fn stops_landed(docker: &Docker, replicas: &[Replica], asked: SystemTime) {
    let until = asked + STOP_LANDS;
    while SystemTime::now() < until {
        let seen = look(docker, replicas).await;
        if seen
            .iter()
            .all(|s| s.parked.as_ref().is_none_or(|p| !running(p)))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn remove(docker: &Docker, id: &str) -> Result<(), String> {
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    docker
        .remove_container(id, Some(options))
        .await
        .map_err(|e| format!("remove {}: {}", &id[..12.min(id.len())], describe(&e)))
}

async fn start(docker: &Docker, c: &ContainerInspectResponse) -> Result<(), String> {
    if running(c) {
        return Ok(());
    }
    docker
        .start_container(id_of(c), None)
        .await
        .map_err(|e| format!("start {}: {}", container_name(c), describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_never_shared() {
        assert_eq!(file_stem("prod", "evergreen/web"), "prod+evergreen%2Fweb");
        assert_ne!(file_stem("a+b", "c"), file_stem("a", "b+c"));
        assert!(!file_stem("../x", "y/../z").contains('/'));
    }
}
