//! Logs on any platform: which streams a service's replicas write to, and reading them into
//! the shared log engine (`crate::logs`). The platform is matched here, once; the console and
//! `dokk logs` say only whose logs and how much.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::docker::{self, logs::LogRequest};
use super::ecs::{self, Aws, Refresher, Section, cluster_name};
use super::swarm;
use crate::config::Target;
use crate::logs::LogEvent;
use crate::model::{find_service, group_services};

/// What to read, as the platform names it.
#[derive(Debug, Clone, PartialEq)]
pub enum LogScope {
    /// Docker: container ids, with the name each one's lines are tagged with.
    Containers(Vec<(String, String)>),
    /// ECS: the CloudWatch streams of a service's tasks.
    Streams(Vec<ecs::logs::LogSource>),
    /// Swarm: a service's tasks, read through the manager.
    Tasks(Vec<swarm::logs::TaskSource>),
}

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LogWindow {
    /// Lines per source to start from; `None`: all (ECS: the newest 10 000).
    pub tail: Option<usize>,
    /// Only lines after this time.
    pub since: Option<DateTime<Utc>>,
    pub follow: bool,
}

/// Whose logs, by name (what `dokk logs` is given).
#[derive(Debug, Clone, Copy)]
pub struct LogQuery<'a> {
    /// `service`, `project/service` or a standalone container (Docker); a service (ECS).
    pub service: &'a str,
    /// ECS: only this task (id or a prefix of it).
    pub task: Option<&'a str>,
    /// Only this container (Docker: id prefix or name; ECS: the container's name).
    pub container: Option<&'a str>,
    /// Swarm: the tasks already shut down too.
    pub all_tasks: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// Bad input (exit code 2): no such service, task or container.
    #[error("{0}")]
    Usage(String),
    /// The platform could not be asked.
    #[error("{0}")]
    Engine(String),
}

/// The streams `query` names on the context's platform.
pub async fn find(target: &Target, query: LogQuery<'_>) -> Result<LogScope, LogsError> {
    match target {
        Target::Docker(docker) => find_containers(&docker.host, query).await,
        Target::Ecs(target) => find_streams(target, query).await,
        Target::Swarm(target) => find_tasks(&target.host, query).await,
    }
}

/// Starts reading `scope`: its events arrive on the receiver (a failure to connect is a
/// `LogEvent::Error` there too) until the handle is aborted or the sources end.
pub fn open(
    target: &Target,
    scope: LogScope,
    window: LogWindow,
) -> (mpsc::Receiver<LogEvent>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(256);
    let target = target.clone();
    let reader = tokio::spawn(async move {
        match (target, scope) {
            (Target::Docker(docker), LogScope::Containers(containers)) => {
                let client = match docker::connect(&docker.host).await {
                    Ok(client) => client,
                    Err(error) => {
                        let _ = tx.send(LogEvent::Error(error.to_string())).await;
                        return;
                    }
                };
                let request = LogRequest {
                    containers,
                    tail: window.tail,
                    since: window.since,
                    follow: window.follow,
                };
                docker::logs::stream_logs(client, request, tx).await;
            }
            (Target::Ecs(target), LogScope::Streams(sources)) => {
                let aws = Aws::connect(&target).await;
                let tail = window.tail.unwrap_or(10_000);
                ecs::logs::stream_logs(aws, sources, tail, window.since, window.follow, tx).await;
            }
            (Target::Swarm(target), LogScope::Tasks(sources)) => {
                match swarm::Engine::connect(&target.host).await {
                    Ok(engine) => swarm::logs::stream_logs(engine, sources, window, tx).await,
                    Err(error) => {
                        let _ = tx.send(LogEvent::Error(error.to_string())).await;
                    }
                }
            }
            (target, scope) => {
                let message = format!(
                    "{scope:?} cannot be read on a {} context",
                    target.kind().label()
                );
                let _ = tx.send(LogEvent::Error(message)).await;
            }
        }
    });
    (rx, reader)
}

async fn find_containers(host: &str, query: LogQuery<'_>) -> Result<LogScope, LogsError> {
    let engine = |e: docker::DockerError| {
        LogsError::Engine(format!("{e}\n{}", docker::connection_hint(host)))
    };
    let (_, containers) = docker::connect_and_inspect(host).await.map_err(engine)?;
    let services = group_services(&containers, &Default::default());
    let service = find_service(&services, query.service).map_err(LogsError::Usage)?;
    let chosen = |id: &str, name: &str| match query.container {
        Some(wanted) => id.starts_with(wanted) || name == wanted,
        None => true,
    };
    let mut sources: Vec<(String, String)> = containers
        .iter()
        .filter(|c| service.containers.contains(&c.id) && chosen(&c.id, &c.name))
        .map(|c| (c.id.clone(), service.key.replica_tag(c)))
        .collect();
    sources.sort_by(|a, b| a.1.cmp(&b.1));
    if sources.is_empty() {
        return Err(LogsError::Usage(format!(
            "no container `{}` in {}",
            query.container.unwrap_or(""),
            query.service
        )));
    }
    Ok(LogScope::Containers(sources))
}

async fn find_tasks(manager: &str, query: LogQuery<'_>) -> Result<LogScope, LogsError> {
    let engine = |e: swarm::EngineError| {
        let hint = swarm::hint(&e);
        LogsError::Engine(format!("{e}\n{hint}").trim_end().to_string())
    };
    let manager = swarm::Engine::connect(manager).await.map_err(engine)?;
    let state = swarm::load(&manager).await.map_err(engine)?;
    let Some(service) = state.find_service(query.service) else {
        let known: Vec<&str> = state.services.iter().map(|s| s.name.as_str()).collect();
        return Err(LogsError::Usage(format!(
            "no service `{}` on the swarm; services: {}",
            query.service,
            known.join(", ")
        )));
    };
    let sources: Vec<_> = swarm::logs::sources(&state, service, query.all_tasks)
        .into_iter()
        .filter(|s| query.task.is_none_or(|id| s.task.starts_with(id)))
        .collect();
    if sources.is_empty() {
        return Err(LogsError::Usage(match query.task {
            Some(id) => format!("{} has no task `{id}`", service.name),
            None if query.all_tasks => format!("{} has no tasks", service.name),
            None => format!(
                "{} has no running tasks (--all-tasks reads the shut-down ones)",
                service.name
            ),
        }));
    }
    Ok(LogScope::Tasks(sources))
}

async fn find_streams(
    target: &crate::config::EcsTarget,
    query: LogQuery<'_>,
) -> Result<LogScope, LogsError> {
    let aws = Aws::connect(target).await;
    let cluster = cluster_name(&aws)
        .await
        .map_err(|e| LogsError::Engine(e.to_string()))?;
    let snapshot = Refresher::default().refresh(&aws, &cluster).await;
    for section in [Section::Services, Section::Tasks] {
        if let Some(error) = snapshot.errors.get(&section) {
            return Err(LogsError::Engine(error.clone()));
        }
    }
    let services = snapshot.services.unwrap_or_default();
    let tasks = snapshot.tasks.unwrap_or_default();
    let Some(service) = services.iter().find(|s| s.name == query.service) else {
        let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        return Err(LogsError::Usage(format!(
            "no service `{}` in cluster {cluster}; services: {}",
            query.service,
            known.join(", ")
        )));
    };
    let chosen: Vec<&ecs::EcsTask> = tasks
        .iter()
        .filter(|t| t.service.as_deref() == Some(service.name.as_str()))
        .filter(|t| query.task.is_none_or(|id| t.id.starts_with(id)))
        .collect();
    if chosen.is_empty() {
        return Err(LogsError::Usage(match query.task {
            Some(id) => format!("{} has no task `{id}`", service.name),
            None => format!("{} has no running or recently stopped tasks", service.name),
        }));
    }
    ecs::logs::sources(service, &chosen, query.container)
        .map(LogScope::Streams)
        .map_err(LogsError::Usage)
}
