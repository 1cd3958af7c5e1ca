//! `dokk history`, `dokk deploy` and `dokk rollback`: the same engine a pipeline and the
//! console use. Every mutation goes through the read-only guard, asks first on a terminal
//! (or needs `--yes`), and is appended to the audit log. Exit codes: 0 stable (or started,
//! without `--wait`), 1 failed, 2 bad input or refused — nothing changed.

use std::io::Write;

use super::confirm::confirm;
use crate::backend::deploy::{self, DeployError, Follow, Request};
use crate::config::Context;

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

impl RolloutArgs {
    fn follow(&self) -> Follow {
        Follow {
            wait: self.wait,
            timeout: self.timeout.into(),
            poll: self.poll.into(),
            revert_on_failure: self.rollback_on_failure,
        }
    }
}

pub async fn run_history(
    context: &Context,
    args: &HistoryArgs,
    out: &mut impl Write,
) -> Result<(), DeployError> {
    let revisions = deploy::history(context, &args.service).await?;
    let written = if args.json {
        serde_json::to_writer_pretty(&mut *out, &revisions)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        deploy::history_table(&revisions)
            .iter()
            .try_for_each(|line| writeln!(out, "{line}"))
    };
    written.map_err(|e| DeployError::Failed(e.to_string()))
}

pub async fn run_deploy(
    context: &Context,
    args: &DeployArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    let request = Request::Deploy {
        service: args.service.clone(),
        image: args.image.clone(),
        container: args.container.clone(),
    };
    run(context, &request, &args.rollout, out, progress).await
}

pub async fn run_rollback(
    context: &Context,
    args: &RollbackArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    let request = Request::Rollback {
        service: args.service.clone(),
        to: args.to.clone(),
    };
    run(context, &request, &args.rollout, out, progress).await
}

/// Plan, ask, apply, print: true when the rollout is stable (or started, without --wait).
async fn run(
    context: &Context,
    request: &Request,
    args: &RolloutArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    let plan = deploy::plan(context, request).await?;
    confirm(plan.action, &plan.service, &plan.lines(), args.yes)?;
    let report = deploy::apply(context, plan, args.follow(), progress).await?;
    let written = if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        writeln!(out, "{}", report.summary())
    };
    written.map_err(|e| DeployError::Failed(e.to_string()))?;
    Ok(report.ok())
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
