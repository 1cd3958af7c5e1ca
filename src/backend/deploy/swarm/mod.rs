//! Swarm rollouts: the service's spec as the manager holds it, with only the image changed,
//! sent back with its version index; Swarm replaces the tasks as the spec's update config
//! says, and dokk follows `UpdateStatus` and the tasks. A rollback without `--to` is Swarm's
//! own (`rollback=previous`: the engine keeps one previous spec). A scale is the same write
//! of the replica count; a node's availability is written the same way (`node`).

mod node;

pub use node::{AVAILABILITIES, plan_availability};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{DeployError, Revision, journal};
use crate::backend::swarm::{Engine, EngineError, SwarmState, SwarmTask, strip_digest};

/// How many times an update is re-based on a fresh spec when another writer got in first.
const OUT_OF_SEQUENCE_RETRIES: usize = 3;

/// What a plan writes.
#[derive(Debug, Clone, PartialEq)]
pub enum SwarmChange {
    /// A new image; `redeploy` when it is the one the service runs (a moved tag): its tasks
    /// are replaced all the same.
    Image { image: String, redeploy: bool },
    /// Swarm's native rollback to its previous spec.
    NativeRollback,
    /// The replica count of a replicated service.
    Scale(u64),
    /// A node's availability (the plan's `id` is the node's), and the services whose tasks
    /// a drain moves.
    Availability {
        availability: String,
        moving: Vec<String>,
    },
}

/// A change worked out against the spec the manager holds.
pub struct SwarmPlan {
    pub engine: Engine,
    pub id: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub change: SwarmChange,
    pub diff: Vec<String>,
}

fn refused(error: EngineError) -> DeployError {
    DeployError::Refused(error.to_string())
}

fn failed(error: EngineError) -> DeployError {
    DeployError::Failed(error.to_string())
}

fn image_of(spec: &Value) -> String {
    spec["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .map(strip_digest)
        .unwrap_or_default()
}

async fn inspect(engine: &Engine, service: &str) -> Result<Value, DeployError> {
    match engine.get::<Value>(&format!("/services/{service}")).await {
        Ok(value) => Ok(value),
        Err(error) if error.status() == Some(404) => {
            let names: Vec<String> = engine
                .get::<Vec<Value>>("/services")
                .await
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s["Spec"]["Name"].as_str().map(str::to_string))
                .collect();
            Err(DeployError::Refused(format!(
                "no service `{service}` on the swarm; it has: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )))
        }
        Err(error) => Err(refused(error)),
    }
}

/// Plans a deploy of `image`, or a rollback (`image` `None`: to the previous spec).
pub async fn plan(
    manager: &str,
    service: &str,
    image: Option<&str>,
) -> Result<SwarmPlan, DeployError> {
    let engine = Engine::connect(manager).await.map_err(refused)?;
    let current = inspect(&engine, service).await?;
    let spec = &current["Spec"];
    let from = image_of(spec);
    let (to, diff) = match image {
        Some(image) if image.trim().is_empty() => {
            return Err(DeployError::Refused("the image is empty".into()));
        }
        Some(image) => (image.to_string(), vec![format!("image: {from} → {image}")]),
        None => {
            let previous = &current["PreviousSpec"];
            if previous.is_null() {
                return Err(DeployError::Refused(format!(
                    "Swarm keeps no previous spec of {service} (none since it was created, or its last rollback \
                     used it): name an image with --to (`dokk history {service}` lists what it ran)"
                )));
            }
            (image_of(previous), spec_diff(spec, previous))
        }
    };
    let redeploy = image.is_some() && to == from;
    let diff = if redeploy {
        vec![format!(
            "redeploy: {to} again (its tasks are replaced and take what the tag points at now)"
        )]
    } else {
        diff
    };
    let change = match image {
        Some(image) => SwarmChange::Image {
            image: image.to_string(),
            redeploy,
        },
        None => SwarmChange::NativeRollback,
    };
    Ok(SwarmPlan {
        engine,
        id: current["ID"].as_str().unwrap_or(service).to_string(),
        name: spec["Name"].as_str().unwrap_or(service).to_string(),
        from,
        to,
        change,
        diff,
    })
}

/// Plans a scale of a replicated service to `replicas`, with whether the scheduler has room.
pub async fn plan_scale(
    manager: &str,
    service: &str,
    replicas: u64,
) -> Result<SwarmPlan, DeployError> {
    let engine = Engine::connect(manager).await.map_err(refused)?;
    let current = inspect(&engine, service).await?;
    let spec = &current["Spec"];
    let name = spec["Name"].as_str().unwrap_or(service).to_string();
    let Some(now) = spec["Mode"]["Replicated"]["Replicas"].as_u64() else {
        return Err(DeployError::Refused(format!(
            "{name} is not a replicated service (it runs one task per node, or is a job): \
             nothing to scale"
        )));
    };
    if now == replicas {
        return Err(DeployError::Refused(format!(
            "{name} already runs {replicas} task(s): nothing to scale"
        )));
    }
    let state = crate::backend::swarm::load(&engine)
        .await
        .map_err(refused)?;
    let mut diff = Vec::new();
    if let Some(svc) = state.find_service(&name) {
        let fit = crate::backend::swarm::capacity::fit_scale(&state, svc, replicas);
        if fit.fits {
            diff.push("the scheduler has room for them (by reservations)".to_string());
        } else {
            let room: u64 = fit.nodes.iter().filter_map(|n| n.room).sum();
            diff.push(format!(
                "⚠ does not fit by reservations: room for {room} more task(s), {} asked; \
                 the rest stay pending",
                replicas.saturating_sub(fit.current)
            ));
        }
        diff.extend(fit.warnings.iter().map(|w| format!("⚠ {w}")));
    }
    Ok(SwarmPlan {
        engine,
        id: current["ID"].as_str().unwrap_or(service).to_string(),
        name,
        from: format!("{now} tasks"),
        to: format!("{replicas} tasks"),
        change: SwarmChange::Scale(replicas),
        diff,
    })
}

/// Every field that differs between two specs, by path; values only for the image (an
/// environment value may be a secret).
pub fn spec_diff(from: &Value, to: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let (a, b) = (image_of(from), image_of(to));
    if a != b {
        lines.push(format!("image: {a} → {b}"));
    }
    let mut paths = Vec::new();
    differing_paths("", from, to, &mut paths);
    paths.retain(|p| {
        p != "TaskTemplate.ContainerSpec.Image" && !p.starts_with("TaskTemplate.ForceUpdate")
    });
    lines.extend(paths.into_iter().map(|p| format!("~ {p}")));
    lines
}

fn differing_paths(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                differing_paths(
                    &path,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(at.to_string()),
        _ => {}
    }
}

/// Sends the change: the freshly inspected spec with only that changed (or Swarm's rollback),
/// with the version it was read at. Returns when the manager accepted it.
pub async fn update(plan: &SwarmPlan) -> Result<(), DeployError> {
    let (kind, query) = match &plan.change {
        SwarmChange::Availability { .. } => ("nodes", ""),
        SwarmChange::NativeRollback => ("services", "&rollback=previous"),
        _ => ("services", ""),
    };
    write_spec(&plan.engine, kind, &plan.id, query, |spec| {
        match &plan.change {
            SwarmChange::Image { image, redeploy } => {
                let template = &mut spec["TaskTemplate"];
                template["ContainerSpec"]["Image"] = Value::String(image.clone());
                if *redeploy {
                    let force = template["ForceUpdate"].as_u64().unwrap_or(0);
                    template["ForceUpdate"] = Value::from(force + 1);
                }
            }
            SwarmChange::NativeRollback => {}
            SwarmChange::Scale(replicas) => {
                spec["Mode"]["Replicated"]["Replicas"] = Value::from(*replicas);
            }
            SwarmChange::Availability { availability, .. } => {
                spec["Availability"] = Value::String(availability.clone());
            }
        }
    })
    .await
}

/// Reads `/{kind}/{id}`, changes its spec and writes it back with the version it was read
/// at; re-read and re-applied when another writer got in first ("update out of sequence").
async fn write_spec(
    engine: &Engine,
    kind: &str,
    id: &str,
    query: &str,
    change: impl Fn(&mut Value),
) -> Result<(), DeployError> {
    let mut attempt = 0;
    loop {
        let current: Value = engine.get(&format!("/{kind}/{id}")).await.map_err(failed)?;
        let version = current["Version"]["Index"].as_u64().unwrap_or(0);
        let mut spec = current["Spec"].clone();
        change(&mut spec);
        let path = format!("/{kind}/{id}/update?version={version}{query}");
        match engine.post(&path, &spec).await {
            Ok(_) => return Ok(()),
            Err(error)
                if error.message().contains("out of sequence")
                    && attempt < OUT_OF_SEQUENCE_RETRIES =>
            {
                attempt += 1;
            }
            Err(error) => return Err(failed(error)),
        }
    }
}

/// Where a followed rollout ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Completed,
    /// Swarm rolled it back itself (failure action `rollback`).
    RolledBack(String),
    /// Paused by a failure (failure action `pause`), with why.
    Paused(String),
    /// The rollback itself paused.
    RollbackPaused(String),
    /// Tasks stay pending and nothing moves (no room, no node matching): which and why.
    Stuck(String),
    /// With what it still waited for.
    TimedOut(String),
}

/// How many polls in a row may fail (a manager busy electing a leader, a dropped tunnel)
/// before following gives up.
const FAILED_POLLS: usize = 5;

/// Polls in a row with tasks pending and nothing else moving before a scale or a drain is
/// called stuck (the scheduler keeps trying; dokk stops waiting and says why).
const STUCK_POLLS: usize = 6;

/// Where following a change stands after one look at the swarm.
pub(super) enum Verdict {
    Done(Ended),
    /// Still going: what it waits for (the timeout's reason).
    Waiting(String),
}

/// Follows a change until it ends: `UpdateStatus` and the tasks for a service, the tasks
/// leaving a node for a drain; `progress` sees each task as it changes.
pub async fn follow(
    plan: &SwarmPlan,
    poll: Duration,
    timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Ended, DeployError> {
    if let SwarmChange::Availability { .. } = plan.change {
        return watch(&plan.engine, poll, timeout, progress, node::judge(plan)).await;
    }
    let (mut stuck, mut seen) = (0, BTreeMap::new());
    let judge = move |state: &SwarmState, progress: &mut (dyn FnMut(String) + Send)| {
        let Some(svc) = state.find_service(&plan.id) else {
            return Err(DeployError::Failed(format!(
                "{} was removed meanwhile",
                plan.name
            )));
        };
        let moved = report_tasks(state, &[svc.id.as_str()], &mut seen, progress);
        Ok(judge_service(state, svc, plan, moved, &mut stuck))
    };
    watch(&plan.engine, poll, timeout, progress, judge).await
}

/// Where a service's change stands. Any status seen is this change's: the manager resets it
/// to none when it takes a new spec (swarmkit `controlapi.UpdateService`), and leaves it none
/// when no task needs replacing (a scale, or nothing to replace).
fn judge_service(
    state: &SwarmState,
    svc: &crate::backend::swarm::SwarmService,
    plan: &SwarmPlan,
    moved: bool,
    stuck: &mut usize,
) -> Verdict {
    let rollback = plan.change == SwarmChange::NativeRollback;
    if let Some(status) = &svc.update_status {
        let message = status.message.clone();
        let ended = match (status.state.as_str(), rollback) {
            ("completed", false) | ("rollback_completed", true) => Some(Ended::Completed),
            ("rollback_completed", false) => Some(Ended::RolledBack(message)),
            ("paused", false) => Some(Ended::Paused(message)),
            ("rollback_paused", _) => Some(Ended::RollbackPaused(message)),
            _ => None,
        };
        if let Some(ended) = ended {
            return Verdict::Done(ended);
        }
    } else if converged(state, &svc.id, &plan.change, &plan.to) {
        return Verdict::Done(Ended::Completed);
    }
    let pending = not_running(state, &[svc.id.as_str()]);
    if let SwarmChange::Scale(_) = plan.change {
        *stuck = if moved || pending.is_empty() {
            0
        } else {
            *stuck + 1
        };
        if *stuck >= STUCK_POLLS {
            return Verdict::Done(Ended::Stuck(pending));
        }
    }
    Verdict::Waiting(pending)
}

/// Looks at the swarm every `poll` until `judge` says the change ended or `timeout` passes.
pub(super) async fn watch(
    engine: &Engine,
    poll: Duration,
    timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
    mut judge: impl FnMut(&SwarmState, &mut (dyn FnMut(String) + Send)) -> Result<Verdict, DeployError>,
) -> Result<Ended, DeployError> {
    let started = Instant::now();
    let mut failures = 0;
    let mut waiting = String::new();
    loop {
        match crate::backend::swarm::load(engine).await {
            Ok(state) => {
                failures = 0;
                match judge(&state, progress)? {
                    Verdict::Done(ended) => return Ok(ended),
                    Verdict::Waiting(what) => waiting = what,
                }
            }
            Err(error) => {
                failures += 1;
                if failures >= FAILED_POLLS {
                    return Err(DeployError::Failed(format!(
                        "lost the manager while following the change ({error}); Swarm goes \
                         on without dokk: `dokk status` shows where it is"
                    )));
                }
                progress(format!("cannot read the swarm ({error}); trying again"));
            }
        }
        if started.elapsed() >= timeout {
            return Ok(Ended::TimedOut(waiting));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Prints each desired task of the services whose line changed since it was last printed;
/// true when any did.
pub(super) fn report_tasks(
    state: &SwarmState,
    services: &[&str],
    seen: &mut BTreeMap<String, String>,
    progress: &mut (dyn FnMut(String) + Send),
) -> bool {
    let mut moved = false;
    for service in services {
        for (task, line) in task_lines(state, service) {
            if seen.get(&task) != Some(&line) {
                progress(line.clone());
                seen.insert(task, line);
                moved = true;
            }
        }
    }
    moved
}

/// The desired tasks of the services that do not run yet, with why: `web.4 pending (no
/// suitable node (insufficient resources on 3 nodes))`.
pub(super) fn not_running(state: &SwarmState, services: &[&str]) -> String {
    let mut lines = Vec::new();
    for service in services {
        let name = state
            .services
            .iter()
            .find(|s| s.id == *service)
            .map_or("", |s| s.name.as_str());
        for task in state
            .service_tasks(service)
            .filter(|t| t.is_desired() && !t.is_running())
        {
            let slot = task
                .slot
                .map_or_else(|| task.short_id().to_string(), |s| s.to_string());
            lines.push(format!("{name}.{slot} {} ({})", task.state, task.reason()));
        }
    }
    lines.join("; ")
}

/// With no update status (a scale, or a spec no task needed replacing for): every desired
/// task runs the image, and as many as asked. A redeploy replaces tasks that already run its
/// image, so it only converges without a status at 0 tasks.
fn converged(state: &SwarmState, service_id: &str, change: &SwarmChange, image: &str) -> bool {
    let desired: Vec<&SwarmTask> = state
        .service_tasks(service_id)
        .filter(|t| t.is_desired())
        .collect();
    let all_running = desired.iter().all(|t| t.is_running());
    match change {
        SwarmChange::Image { redeploy: true, .. } => desired.is_empty(),
        SwarmChange::Scale(replicas) => all_running && desired.len() as u64 == *replicas,
        _ => {
            all_running
                && desired
                    .iter()
                    .all(|t| strip_digest(&t.image) == strip_digest(image))
        }
    }
}

/// One line per desired task, by task id: `web.2 node-2 running app:v2`.
fn task_lines(state: &SwarmState, service_id: &str) -> Vec<(String, String)> {
    let name = state
        .services
        .iter()
        .find(|s| s.id == service_id)
        .map_or("", |s| s.name.as_str());
    state
        .service_tasks(service_id)
        .filter(|t| t.is_desired())
        .map(|t| {
            let node = t
                .node_id
                .as_deref()
                .and_then(|id| state.node(id))
                .map_or("-", |n| n.hostname.as_str());
            let slot = t
                .slot
                .map_or_else(|| t.short_id().to_string(), |s| s.to_string());
            let error = t
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let line = format!("{name}.{slot} {node} {} {}{error}", t.state, t.image);
            (t.id.clone(), line)
        })
        .collect()
}

/// A service's revisions: what it runs, the previous spec the engine keeps, and the images
/// dokk's journal says it ran, newest first.
pub async fn history(
    context: &str,
    manager: &str,
    service: &str,
) -> Result<Vec<Revision>, DeployError> {
    let engine = Engine::connect(manager).await.map_err(refused)?;
    let current = inspect(&engine, service).await?;
    let name = current["Spec"]["Name"]
        .as_str()
        .unwrap_or(service)
        .to_string();
    let live = image_of(&current["Spec"]);
    let mut revisions = vec![revision(&live, true, true, None, None)];
    if !current["PreviousSpec"].is_null() {
        let previous = image_of(&current["PreviousSpec"]);
        revisions.push(revision(
            &previous,
            false,
            true,
            None,
            Some("swarm: previous spec"),
        ));
    }
    for entry in journal(context, &name).iter().rev() {
        for image in [&entry["to"], &entry["from"]] {
            let Some(image) = image.as_str() else {
                continue;
            };
            if image.is_empty() || revisions.iter().any(|r| r.id == image) {
                continue;
            }
            let at = entry["time"].as_str().and_then(|t| t.parse().ok());
            revisions.push(revision(image, false, true, at, entry["user"].as_str()));
        }
    }
    Ok(revisions)
}

fn revision(
    image: &str,
    live: bool,
    can_rollback: bool,
    at: Option<DateTime<Utc>>,
    by: Option<&str>,
) -> Revision {
    Revision {
        id: image.to_string(),
        images: vec![image.to_string()],
        number: None,
        status: if live { "RUNNING" } else { "KNOWN" }.into(),
        registered_at: at,
        registered_by: by.map(str::to_string),
        can_rollback: can_rollback && !live,
        image_id: None,
        digest: None,
        created: None,
        live,
        in_deployment: false,
        containers: Vec::new(),
        cpu: None,
        memory: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_spec_diff_names_paths_and_hides_values() {
        let from = json!({"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "app:v2@sha256:1",
            "Env": ["A=1"]}, "ForceUpdate": 1}, "Mode": {"Replicated": {"Replicas": 3}}});
        let to = json!({"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "app:v1",
            "Env": ["A=2"]}, "ForceUpdate": 0}, "Mode": {"Replicated": {"Replicas": 2}}});
        assert_eq!(
            super::spec_diff(&from, &to),
            [
                "image: app:v2 → app:v1",
                "~ Mode.Replicated.Replicas",
                "~ TaskTemplate.ContainerSpec.Env",
            ]
        );
    }
}
