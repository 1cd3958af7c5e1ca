//! Interactive sessions on any platform: a shell in a Docker container, ECS Exec into a
//! task's container, SSM to a node. `prepare` checks everything that can be checked first
//! (the read-only guard, the task running, the agent connected, the plugin present) and
//! returns the session ready to take the terminal; the caller hands the terminal over and
//! awaits it. The platform is matched here, once.

use std::future::Future;
use std::pin::Pin;

use super::docker;
use super::ecs::session::{self as ecs_session, SessionError};
use super::ecs::{Aws, EcsNode, EcsService, EcsTask};
use crate::config::{Context, Target};
use crate::guard::{Guard, Mutation};

/// Where a session opens.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionScope {
    /// Docker: a container by id, named as the fleet shows it.
    Container { id: String, name: String },
    /// ECS Exec: `container` of a task of `service` (as last seen), running `command`.
    Task {
        cluster: String,
        service: Option<Box<EcsService>>,
        task: Box<EcsTask>,
        container: String,
        command: String,
    },
    /// SSM: a shell on a node.
    Node(Box<EcsNode>),
    /// Swarm: a task's container, through its node's own engine.
    SwarmTask {
        node: String,
        container: String,
        name: String,
    },
}

impl SessionScope {
    fn what(&self) -> &'static str {
        match self {
            SessionScope::Container { .. } => "a container shell",
            SessionScope::Task { .. } => "ECS Exec",
            SessionScope::Node(_) => "an SSM session",
            SessionScope::SwarmTask { .. } => "a task shell",
        }
    }

    fn mutation(&self) -> Mutation {
        match self {
            SessionScope::Container { name, .. } | SessionScope::SwarmTask { name, .. } => {
                Mutation::Exec {
                    container: name.clone(),
                }
            }
            SessionScope::Task {
                service,
                task,
                container,
                ..
            } => Mutation::Exec {
                container: format!(
                    "{}/{container}",
                    service
                        .as_ref()
                        .map_or(task.id.as_str(), |s| s.name.as_str())
                ),
            },
            SessionScope::Node(node) => Mutation::Session {
                node: node.instance_id.clone(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Refused before anything was opened, with the fix (exit code 2).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl From<SessionError> for OpenError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Api(_) | SessionError::Plugin(_) | SessionError::PluginVanished(_) => {
                OpenError::Failed(error.to_string())
            }
            _ => OpenError::Refused(error.to_string()),
        }
    }
}

type Running = Pin<Box<dyn Future<Output = Result<Option<i64>, String>> + Send>>;

/// A session checked and ready: await `run` once the terminal is handed over.
pub struct Session {
    /// `the shell in web-1`, `ECS Exec into app of task 1234…`, `the SSM session to i-…`.
    pub title: String,
    /// Docker's exec wants the terminal raw (dokk forwards the bytes); the plugin sets up the
    /// terminal itself.
    pub raw: bool,
    /// The remote side's exit code, when it tells one.
    pub run: Running,
}

/// Checks and prepares a session on the context's platform; nothing is opened on a refusal.
pub async fn prepare(
    context: &Context,
    scope: SessionScope,
    shells: &[String],
) -> Result<Session, OpenError> {
    Guard {
        readonly: context.readonly,
        context: context.name.clone(),
    }
    .authorize(&scope.mutation())
    .map_err(|e| OpenError::Refused(e.to_string()))?;
    match (&context.target, scope) {
        (Target::Docker(target), SessionScope::Container { id, name }) => {
            let client = docker::connect(&target.host)
                .await
                .map_err(|e| OpenError::Failed(e.to_string()))?;
            Ok(container_shell(client, &target.host, id, name, shells))
        }
        (
            Target::Swarm(target),
            SessionScope::SwarmTask {
                node,
                container,
                name,
            },
        ) => {
            let Some(host) = target.node_engine(&node) else {
                return Err(OpenError::Refused(format!(
                    "dokk does not know how to reach {node}'s engine, where {name} runs: add \
                     `{node} = \"ssh://…\"` under [contexts.{}.nodes], or a node_host template",
                    context.name
                )));
            };
            let client = docker::connect(&host).await.map_err(|e| {
                OpenError::Failed(format!(
                    "{name} runs on {node}, which dokk cannot reach: {e}"
                ))
            })?;
            Ok(container_shell(client, &host, container, name, shells))
        }
        (
            Target::Ecs(target),
            SessionScope::Task {
                cluster,
                service,
                task,
                container,
                command,
            },
        ) => {
            ecs_session::diagnose_exec(service.as_deref(), &task, &container)?;
            let plugin = ecs_session::find_plugin()?;
            let aws = Aws::connect(target).await;
            let call = ecs_session::start_exec(&aws, &cluster, &task, &container, &command).await?;
            let title = format!("ECS Exec into {container} of task {}", task.id);
            Ok(plugin_session(title, aws, plugin, call))
        }
        (Target::Ecs(target), SessionScope::Node(node)) => {
            ecs_session::diagnose_ssm(&node)?;
            let plugin = ecs_session::find_plugin()?;
            let version = ecs_session::plugin_version(&plugin)
                .map_err(|e| OpenError::Failed(format!("session-manager-plugin --version: {e}")))?;
            let aws = Aws::connect(target).await;
            let call = ecs_session::start_ssm(&aws, &node.instance_id, &version).await?;
            let title = format!("the SSM session to {}", node.instance_id);
            Ok(plugin_session(title, aws, plugin, call))
        }
        (target, scope) => Err(OpenError::Refused(format!(
            "{} cannot be opened on a {} context",
            scope.what(),
            target.kind().label()
        ))),
    }
}

/// A shell in a container of the engine `client` speaks to (dokk forwards the bytes).
fn container_shell(
    client: bollard::Docker,
    host: &str,
    id: String,
    name: String,
    shells: &[String],
) -> Session {
    let (host, shells) = (host.to_string(), shells.to_vec());
    let title = format!("the shell in {name}");
    let run = async move {
        docker::exec::run_shell(&client, &host, &id, &name, &shells)
            .await
            .map_err(|e| e.to_string())
    };
    Session {
        title,
        raw: true,
        run: Box::pin(run),
    }
}

/// A session the plugin runs (it sets the terminal up itself).
fn plugin_session(
    title: String,
    aws: Aws,
    plugin: std::path::PathBuf,
    call: ecs_session::PluginCall,
) -> Session {
    let run = async move {
        ecs_session::run_plugin(&aws, &plugin, &call)
            .await
            .map(|()| None)
            .map_err(|e| e.to_string())
    };
    Session {
        title,
        raw: false,
        run: Box::pin(run),
    }
}
