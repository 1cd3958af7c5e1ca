//! `dokk exec SERVICE` (ECS Exec into a task's container) and `dokk ssm NODE` (an SSM session
//! to a node): the console's sessions, scriptable. The diagnosis runs first, so a session that
//! cannot work is refused with its fix before anything is opened.

use crate::backend::ecs::{Aws, Refresher, cluster_name};
use crate::backend::session::{self, SessionScope};
use crate::config::{Context, Target};
use crate::guard::{Guard, Mutation};

#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// The ECS service whose task to enter.
    pub service: String,
    /// Which task (id or prefix; default: the newest running one).
    #[arg(long)]
    pub task: Option<String>,
    /// Which container (default: the task's first).
    #[arg(long)]
    pub container: Option<String>,
    /// The command to run.
    #[arg(long, default_value = "/bin/sh")]
    pub command: String,
}

/// `Refused` is exit code 2 (bad input, or a session that cannot work, with its fix).
pub use crate::backend::session::OpenError as SessionCliError;

fn guard(context: &Context) -> Guard {
    Guard {
        readonly: context.readonly,
        context: context.name.clone(),
    }
}

fn target(context: &Context, what: &str) -> Result<crate::config::EcsTarget, SessionCliError> {
    // `dokk exec` and `dokk ssm` are ECS's commands (a Docker shell is `s` in the console).
    match &context.target {
        Target::Ecs(target) => Ok(target.clone()),
        Target::Docker(_) | Target::Swarm(_) => Err(SessionCliError::Refused(format!(
            "`dokk {what}` needs an ECS context; `{}` is a {} one (there, `s` in the console opens a shell)",
            context.name,
            context.target.kind().label()
        ))),
    }
}

pub async fn run_exec(context: &Context, args: &ExecArgs) -> Result<(), SessionCliError> {
    let target = target(context, "exec")?;
    guard(context)
        .authorize(&Mutation::Exec {
            container: format!(
                "{}/{}",
                args.service,
                args.container.as_deref().unwrap_or("*")
            ),
        })
        .map_err(|e| SessionCliError::Refused(e.to_string()))?;
    let aws = Aws::connect(&target).await;
    let cluster = cluster_name(&aws)
        .await
        .map_err(|e| SessionCliError::Failed(e.to_string()))?;
    let snapshot = Refresher::default().refresh(&aws, &cluster).await;
    let services = snapshot.services.unwrap_or_default();
    let tasks = snapshot.tasks.unwrap_or_default();
    let service = services
        .iter()
        .find(|s| s.name == args.service)
        .ok_or_else(|| {
            SessionCliError::Refused(format!(
                "no service `{}` in cluster {cluster}; services: {}",
                args.service,
                services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let task = tasks
        .iter()
        .filter(|t| t.service.as_deref() == Some(service.name.as_str()))
        .filter(|t| {
            args.task
                .as_ref()
                .is_none_or(|id| t.id.starts_with(id.as_str()))
        })
        .find(|t| t.is_running() || args.task.is_some())
        .ok_or_else(|| {
            SessionCliError::Refused(format!(
                "{} has no running task{}",
                service.name,
                args.task
                    .as_ref()
                    .map(|t| format!(" `{t}`"))
                    .unwrap_or_default()
            ))
        })?;
    let container = match &args.container {
        Some(name) => name.clone(),
        None => task
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
    };
    let scope = SessionScope::Task {
        cluster,
        service: Some(Box::new(service.clone())),
        task: Box::new(task.clone()),
        container,
        command: args.command.clone(),
    };
    run(context, scope).await
}

pub async fn run_ssm(context: &Context, node: &str) -> Result<(), SessionCliError> {
    let target = target(context, "ssm")?;
    guard(context)
        .authorize(&Mutation::Session {
            node: node.to_string(),
        })
        .map_err(|e| SessionCliError::Refused(e.to_string()))?;
    let aws = Aws::connect(&target).await;
    let cluster = cluster_name(&aws)
        .await
        .map_err(|e| SessionCliError::Failed(e.to_string()))?;
    let nodes = crate::backend::ecs::load_nodes(&aws, &cluster)
        .await
        .map_err(|e| SessionCliError::Failed(e.to_string()))?;
    let found = nodes
        .iter()
        .find(|n| n.instance_id == node || n.container_instance == node)
        .ok_or_else(|| {
            SessionCliError::Refused(format!(
                "no node `{node}` in cluster {cluster}; nodes: {}",
                nodes
                    .iter()
                    .map(|n| n.instance_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    run(context, SessionScope::Node(Box::new(found.clone()))).await
}

/// Opens the session on this terminal and waits for it to end.
async fn run(context: &Context, scope: SessionScope) -> Result<(), SessionCliError> {
    let session = session::prepare(context, scope, &[]).await?;
    session.run.await.map_err(SessionCliError::Failed)?;
    Ok(())
}
