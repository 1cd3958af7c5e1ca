//! Swarm rollouts: the service's spec as the manager holds it, with only the image changed,
//! sent back with its version index; Swarm replaces the tasks as the spec's update config
//! says, and dokk follows `UpdateStatus` and the tasks. A rollback without `--to` is Swarm's
//! own (`rollback=previous`: the engine keeps one previous spec).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{DeployError, Revision, journal};
use crate::backend::swarm::{Engine, EngineError, SwarmState, strip_digest};

/// How many times an update is re-based on a fresh spec when another writer got in first.
const OUT_OF_SEQUENCE_RETRIES: usize = 3;

/// A change worked out against the spec the manager holds.
pub struct SwarmPlan {
    pub engine: Engine,
    pub id: String,
    pub name: String,
    pub from: String,
    pub to: String,
    /// `None`: Swarm's native rollback to its previous spec.
    pub image: Option<String>,
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
    if image.is_some() && to == from {
        return Err(DeployError::Refused(format!(
            "{service} already runs {to}: nothing to deploy"
        )));
    }
    Ok(SwarmPlan {
        engine,
        id: current["ID"].as_str().unwrap_or(service).to_string(),
        name: spec["Name"].as_str().unwrap_or(service).to_string(),
        from,
        to,
        image: image.map(str::to_string),
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

/// Sends the update: the freshly inspected spec with only the image changed (or Swarm's
/// rollback), with the version it was read at; re-based when another writer got in first.
/// Returns when the manager accepted it.
pub async fn update(plan: &SwarmPlan) -> Result<DateTime<Utc>, DeployError> {
    let mut attempt = 0;
    loop {
        let current = inspect(&plan.engine, &plan.id).await?;
        let version = current["Version"]["Index"].as_u64().unwrap_or(0);
        let mut spec = current["Spec"].clone();
        let query = match &plan.image {
            Some(image) => {
                spec["TaskTemplate"]["ContainerSpec"]["Image"] = Value::String(image.clone());
                format!("version={version}")
            }
            None => format!("version={version}&rollback=previous"),
        };
        let sent = Utc::now();
        match plan
            .engine
            .post(&format!("/services/{}/update?{query}", plan.id), &spec)
            .await
        {
            Ok(_) => return Ok(sent),
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
    TimedOut,
}

/// Follows `UpdateStatus` (of an update sent at `sent`) and the tasks until the update ends,
/// `progress` seeing each task as it changes.
pub async fn follow(
    engine: &Engine,
    service: &str,
    sent: DateTime<Utc>,
    rollback: bool,
    poll: Duration,
    timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Ended, DeployError> {
    let started = Instant::now();
    let mut seen = std::collections::BTreeMap::<String, String>::new();
    loop {
        let state = crate::backend::swarm::load(engine).await.map_err(failed)?;
        let Some(svc) = state.find_service(service) else {
            return Err(DeployError::Failed(format!(
                "{service} was removed meanwhile"
            )));
        };
        for line in task_lines(&state, &svc.id) {
            let (key, rest) = line.split_once(' ').unwrap_or((&line, ""));
            if seen.get(key).map(String::as_str) != Some(rest) {
                seen.insert(key.to_string(), rest.to_string());
                progress(line.clone());
            }
        }
        let skew = chrono::Duration::seconds(2);
        let ours = svc
            .update_status
            .as_ref()
            .filter(|u| u.started_at.is_none_or(|t| t + skew >= sent));
        if let Some(status) = ours {
            let message = status.message.clone();
            match (status.state.as_str(), rollback) {
                ("completed", false) | ("rollback_completed", true) => {
                    return Ok(Ended::Completed);
                }
                ("rollback_completed", false) => return Ok(Ended::RolledBack(message)),
                ("paused", false) => return Ok(Ended::Paused(message)),
                ("rollback_paused", _) => return Ok(Ended::RollbackPaused(message)),
                _ => {}
            }
        }
        if started.elapsed() >= timeout {
            return Ok(Ended::TimedOut);
        }
        tokio::time::sleep(poll).await;
    }
}

/// One line per desired task: `web.2 node-2 running app:v2`.
fn task_lines(state: &SwarmState, service_id: &str) -> Vec<String> {
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
            format!("{name}.{slot} {node} {} {}{error}", t.state, t.image)
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
