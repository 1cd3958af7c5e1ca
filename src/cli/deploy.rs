//! `dokk history`, `dokk deploy` and `dokk rollback`: the same engine a pipeline and the
//! console use. Every mutation goes through the read-only guard, asks first on a terminal
//! (or needs `--yes`), and is appended to the audit log. Exit codes: 0 stable (or started,
//! without `--wait`), 1 failed, 2 bad input or refused — nothing changed.

use std::io::Write;

use serde::Serialize;

use super::confirm::confirm;
use crate::backend::ecs::{Aws, EcsService, cluster_name};
use crate::config::Context;
use crate::deploy::ecs::{self as ecs_deploy, DeployError, Outcome};
use crate::deploy::{Revision, diff, record};
use crate::guard::{Guard, Mutation};

#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    pub service: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RolloutArgs {
    /// Follow the rollout until it is stable or failed.
    #[arg(long)]
    pub wait: bool,
    /// Do not ask: needed when there is no terminal to ask on.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
    /// With --wait: give up (and call it failed) after this long.
    #[arg(long, default_value = "15m")]
    pub timeout: humantime::Duration,
    /// With --wait: when the rollout fails, point the service back at where it was.
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// With --wait: how often to look.
    #[arg(long, default_value = "5s")]
    pub poll: humantime::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    pub service: String,
    /// The image to run.
    #[arg(long)]
    pub image: String,
    /// Which container gets the image (needed when the service has several).
    #[arg(long)]
    pub container: Option<String>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RollbackArgs {
    pub service: String,
    /// The revision to go back to: `7` or `family:7` (default: the previous ACTIVE one).
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Serialize)]
struct RolloutReport<'a> {
    service: &'a str,
    action: &'a str,
    from: &'a str,
    to: &'a str,
    diff: &'a [String],
    /// "started" (without --wait), "stable" or "failed".
    result: &'a str,
    reason: Option<&'a str>,
    rolled_back: bool,
}

async fn connect(context: &Context) -> Result<(Aws, String), DeployError> {
    let Some(target) = &context.ecs else {
        return Err(DeployError::Refused(format!(
            "deploys and rollbacks work on ECS contexts so far; `{}` is a Docker one",
            context.name
        )));
    };
    let aws = Aws::connect(target).await;
    let cluster = cluster_name(&aws).await?;
    Ok((aws, cluster))
}

fn guard(context: &Context) -> Guard {
    Guard {
        readonly: context.readonly,
        context: context.name.clone(),
    }
}

pub async fn run_history(
    context: &Context,
    args: &HistoryArgs,
    out: &mut impl Write,
) -> Result<(), DeployError> {
    if context.ecs.is_none() {
        let revisions = super::compose_deploy::history(context, &args.service).await?;
        return print_history(&revisions, args.json, out);
    }
    let (aws, cluster) = connect(context).await?;
    let (_, revisions) = ecs_deploy::history(&aws, &cluster, &args.service).await?;
    print_history(&revisions, args.json, out)
}

/// A service's revisions, newest first: JSON, or a table with the same columns on every
/// platform.
fn print_history(
    revisions: &[Revision],
    json: bool,
    out: &mut impl Write,
) -> Result<(), DeployError> {
    let io = |e: std::io::Error| DeployError::Failed(e.to_string());
    if json {
        serde_json::to_writer_pretty(&mut *out, revisions)
            .map_err(|e| DeployError::Failed(e.to_string()))?;
        return writeln!(out).map_err(io);
    }
    writeln!(
        out,
        "{:<34} {:<8} {:<20} {:<26} {:<9} IMAGES",
        "REVISION", "", "WHEN", "BY", "ROLLBACK"
    )
    .map_err(io)?;
    for r in revisions {
        writeln!(
            out,
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
        )
        .map_err(io)?;
    }
    Ok(())
}

/// What `confirm` shows of an ECS change: the revisions, then the diff.
fn revision_change(from: &Revision, to: &Revision) -> Vec<String> {
    let mut lines = vec![format!("{} → {}", from.id, to.id)];
    lines.extend(diff(from, to).into_iter().map(|d| format!("  {d}")));
    lines
}

fn progress_line(service: &EcsService) -> String {
    let deployments: Vec<String> = service
        .deployments
        .iter()
        .map(|d| {
            format!(
                "{} {} {}/{}{}",
                d.status,
                d.task_definition,
                d.running,
                d.desired,
                d.rollout_state
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "{} · {}",
        deployments.join(" · "),
        service.events.first().map_or("", |e| e.message.as_str())
    )
}

/// Points the service at `to`, then (with --wait) follows it; returns whether it is fine.
#[allow(clippy::too_many_arguments)]
async fn roll(
    context: &Context,
    aws: &Aws,
    cluster: &str,
    action: &str,
    service: &str,
    from: &Revision,
    to: &str,
    changes: &[String],
    args: &RolloutArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    ecs_deploy::update_service(aws, cluster, service, to).await?;
    let mut result = ("started", None, false);
    if args.wait {
        let mut last = String::new();
        let outcome = ecs_deploy::wait(
            aws,
            cluster,
            service,
            to,
            args.poll.into(),
            args.timeout.into(),
            |s| {
                let line = progress_line(s);
                if line != last {
                    progress(line.clone());
                    last = line;
                }
            },
        )
        .await?;
        result = match outcome {
            Outcome::Stable => ("stable", None, false),
            Outcome::Failed(reason) => {
                let back = args.rollback_on_failure
                    && ecs_deploy::update_service(aws, cluster, service, &from.id)
                        .await
                        .is_ok();
                if back {
                    record(
                        &context.name,
                        "rollback",
                        service,
                        to,
                        &from.id,
                        "automatic after a failed rollout",
                    );
                }
                ("failed", Some(reason), back)
            }
        };
    }
    record(&context.name, action, service, &from.id, to, result.0);
    let report = RolloutReport {
        service,
        action,
        from: &from.id,
        to,
        diff: changes,
        result: result.0,
        reason: result.1.as_deref(),
        rolled_back: result.2,
    };
    let io = |e: std::io::Error| DeployError::Failed(e.to_string());
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(|e| DeployError::Failed(e.to_string()))?;
        writeln!(out).map_err(io)?;
    } else {
        writeln!(
            out,
            "{action} {service}: {} → {to}: {}{}{}",
            from.id,
            result.0,
            result
                .1
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            if result.2 {
                "; rolled back to where it was"
            } else if result.0 == "failed" {
                "; not rolled back"
            } else {
                ""
            }
        )
        .map_err(io)?;
    }
    Ok(result.0 != "failed")
}

pub async fn run_deploy(
    context: &Context,
    args: &DeployArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    guard(context)
        .authorize(&Mutation::Deploy {
            service: args.service.clone(),
        })
        .map_err(|e| DeployError::Refused(e.to_string()))?;
    if context.ecs.is_none() {
        let r = &args.rollout;
        return super::compose_deploy::roll(
            context,
            "deploy",
            &args.service,
            Some(&args.image),
            (r.yes, r.json),
            out,
            progress,
        )
        .await;
    }
    let (aws, cluster) = connect(context).await?;
    let plan = ecs_deploy::plan_deploy(
        &aws,
        &cluster,
        &args.service,
        &args.image,
        args.container.as_deref(),
    )
    .await?;
    let (from, to) = (plan.from(), plan.to());
    confirm(
        "deploy",
        &args.service,
        &revision_change(&from, &to),
        args.rollout.yes,
    )?;
    let registered = ecs_deploy::register(&aws, &plan).await?;
    let changes = diff(&from, &to);
    roll(
        context,
        &aws,
        &cluster,
        "deploy",
        &args.service,
        &from,
        &registered,
        &changes,
        &args.rollout,
        out,
        progress,
    )
    .await
}

pub async fn run_rollback(
    context: &Context,
    args: &RollbackArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    guard(context)
        .authorize(&Mutation::Rollback {
            service: args.service.clone(),
        })
        .map_err(|e| DeployError::Refused(e.to_string()))?;
    if context.ecs.is_none() {
        let r = &args.rollout;
        let to = args.to.as_deref();
        return super::compose_deploy::roll(
            context,
            "rollback",
            &args.service,
            to,
            (r.yes, r.json),
            out,
            progress,
        )
        .await;
    }
    let (aws, cluster) = connect(context).await?;
    let (_, from, to) =
        ecs_deploy::prepare_rollback(&aws, &cluster, &args.service, args.to.as_deref()).await?;
    confirm(
        "rollback",
        &args.service,
        &revision_change(&from, &to),
        args.rollout.yes,
    )?;
    let changes = diff(&from, &to);
    roll(
        context,
        &aws,
        &cluster,
        "rollback",
        &args.service,
        &from,
        &to.id,
        &changes,
        &args.rollout,
        out,
        progress,
    )
    .await
}

/// Exit-code mapping shared by the three commands.
pub fn exit_code(result: Result<bool, DeployError>) -> (u8, Option<String>) {
    match result {
        Ok(true) => (0, None),
        Ok(false) => (1, None),
        Err(DeployError::Refused(message)) => (2, Some(message)),
        Err(DeployError::Failed(message)) => (1, Some(message)),
    }
}

/// What `r` in the console would do: from which revision or image to which, and the diff.
pub async fn plan_rollback(
    context: &Context,
    service: &str,
) -> Result<(String, String, Vec<String>), DeployError> {
    if context.ecs.is_none() {
        let (from, to) = super::compose_deploy::plan_rollback(context, service).await?;
        let diff = vec![format!("image: {from} → {to}")];
        return Ok((from, to, diff));
    }
    let (aws, cluster) = connect(context).await?;
    let (_, from, to) = ecs_deploy::prepare_rollback(&aws, &cluster, service, None).await?;
    let changes = diff(&from, &to);
    Ok((from.id, to.id, changes))
}
