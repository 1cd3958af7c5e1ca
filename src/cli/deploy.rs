//! `dokk history`, `dokk deploy` and `dokk rollback`: the same engine a pipeline and the
//! console use. Every mutation goes through the read-only guard, asks first on a terminal
//! (or needs `--yes`), and is appended to the audit log. Exit codes: 0 stable (or started,
//! without `--wait`), 1 failed, 2 bad input or refused — nothing changed.

use std::io::Write;

use super::confirm::confirm;
use super::interrupt::{Caught, Interrupts, REPAIR_BOUND, say};
use crate::backend::deploy::compose::Order;
use crate::backend::deploy::{self, DeployError, Follow, Request};
use crate::config::{Context, Target};

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

const ORDER_HELP: &str = "Compose: start each new replica beside the old one, which stops \
    once the new one is healthy (start-first: the default without host ports), or stop the old \
    one first (stop-first: the default with host ports or no memory room for one more)";

#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    pub service: String,
    /// The image to run.
    #[arg(long)]
    pub image: String,
    /// Which container gets the image (needed when the service has several).
    #[arg(long)]
    pub container: Option<String>,
    #[arg(long, value_name = "start-first|stop-first", help = ORDER_HELP)]
    pub order: Option<Order>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RollbackArgs {
    pub service: String,
    /// The revision to go back to: `7` or `family:7` (default: the previous ACTIVE one).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_name = "start-first|stop-first", help = ORDER_HELP)]
    pub order: Option<Order>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// SERVICE=N: how many tasks it runs (Swarm, replicated services).
    #[arg(value_parser = parse_scale_arg)]
    pub target: (String, u32),
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

fn parse_scale_arg(text: &str) -> Result<(String, u32), String> {
    crate::capacity::parse_scale(text).map_err(|e| e.trim_start_matches("--scale ").to_string())
}

/// What `dokk node` does to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeAction {
    /// Move its tasks to other nodes, and place no new one there.
    Drain,
    /// Place no new task there; the ones it runs stay.
    Pause,
    /// Let the scheduler use it again.
    Activate,
}

#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    #[arg(value_enum)]
    pub action: NodeAction,
    /// The node: its hostname or id.
    pub node: String,
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

/// A subcommand that is one rollout request.
pub trait RolloutCommand {
    fn request(&self) -> Request;
    fn rollout(&self) -> &RolloutArgs;
}

impl RolloutCommand for DeployArgs {
    fn request(&self) -> Request {
        Request::Deploy {
            service: self.service.clone(),
            image: self.image.clone(),
            container: self.container.clone(),
            order: self.order,
        }
    }
    fn rollout(&self) -> &RolloutArgs {
        &self.rollout
    }
}

impl RolloutCommand for RollbackArgs {
    fn request(&self) -> Request {
        Request::Rollback {
            service: self.service.clone(),
            to: self.to.clone(),
            order: self.order,
        }
    }
    fn rollout(&self) -> &RolloutArgs {
        &self.rollout
    }
}

impl RolloutCommand for ScaleArgs {
    fn request(&self) -> Request {
        Request::Scale {
            service: self.target.0.clone(),
            replicas: u64::from(self.target.1),
        }
    }
    fn rollout(&self) -> &RolloutArgs {
        &self.rollout
    }
}

impl RolloutCommand for NodeArgs {
    fn request(&self) -> Request {
        let availability = match self.action {
            NodeAction::Drain => "drain",
            NodeAction::Pause => "pause",
            NodeAction::Activate => "active",
        };
        Request::Availability {
            node: self.node.clone(),
            availability: availability.into(),
        }
    }
    fn rollout(&self) -> &RolloutArgs {
        &self.rollout
    }
}

/// Plan, ask, apply, print: true when the change is stable (or started, without --wait).
pub async fn run_rollout(
    context: &Context,
    command: &(impl RolloutCommand + ?Sized),
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    run(
        context,
        &command.request(),
        command.rollout(),
        out,
        progress,
    )
    .await
}

/// Plan, ask, apply, print: true when the rollout is stable (or started, without --wait).
async fn run(
    context: &Context,
    request: &Request,
    args: &RolloutArgs,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    deploy::recover(context, None, progress).await;
    let plan = deploy::plan(context, request).await?;
    confirm(plan.action, &plan.service, &plan.lines(), args.yes)?;
    let (action, service) = (plan.action, plan.service.clone());
    let mut interrupts =
        Interrupts::listen().map_err(|e| DeployError::Failed(format!("signals: {e}")))?;
    let mut applying = Box::pin(deploy::apply(context, plan, args.follow(), progress));
    let caught = tokio::select! {
        report = &mut applying => Ok(report?),
        caught = interrupts.next() => Err(caught),
    };
    // Dropping the rollout releases its journal for the repair.
    drop(applying);
    let report = match caught {
        Ok(report) => report,
        Err(caught) => {
            return Err(interrupted(
                context,
                (action, &service),
                caught,
                &mut interrupts,
                progress,
            )
            .await);
        }
    };
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

/// `dokk recover [SERVICE]`: repairs what interrupted rollouts left; true when nothing is
/// left to repair.
pub async fn run_recover(
    context: &Context,
    service: Option<&str>,
    json: bool,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    let recovered = deploy::recover(context, service, progress).await;
    let written = if json {
        serde_json::to_writer_pretty(&mut *out, &recovered)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else if recovered.is_empty() {
        writeln!(
            out,
            "no interrupted rollout on {}{}",
            context.name,
            service.map(|s| format!(" for {s}")).unwrap_or_default()
        )
    } else {
        recovered.iter().try_for_each(|r| {
            writeln!(
                out,
                "{} {}: {}: {}",
                r.action, r.service, r.result, r.message
            )
        })
    };
    written.map_err(|e| DeployError::Failed(e.to_string()))?;
    Ok(recovered
        .iter()
        .all(|r| matches!(r.result, "finished" | "put back")))
}

/// After a signal cut a rollout off: the repair the next command would run, run now (bounded;
/// a second signal warns, a third stops it), and what state the service is in.
async fn interrupted(
    context: &Context,
    (action, service): (&str, &str),
    caught: Caught,
    interrupts: &mut Interrupts,
    progress: &mut (dyn FnMut(String) + Send),
) -> DeployError {
    let code = caught.exit_code();
    let signal = caught.name();
    if !matches!(context.target, Target::Docker(_)) {
        return DeployError::Interrupted {
            code,
            message: format!(
                "{signal}: stopped following the {action} of {service}; the platform carries it on \
                 (`dokk status` shows where it is, `dokk rollback {service}` undoes it)"
            ),
        };
    }
    say(&format!(
        "dokk: {signal} during the {action} of {service}: stopping it; the replica in flight is \
         finished or put back (up to {} s)",
        REPAIR_BOUND.as_secs()
    ));
    let mut repair = Box::pin(tokio::time::timeout(
        REPAIR_BOUND,
        deploy::recover(context, Some(service), progress),
    ));
    let mut warned = false;
    let repaired = loop {
        tokio::select! {
            repaired = &mut repair => break repaired.ok(),
            again = interrupts.next() => {
                if warned {
                    say(&format!(
                        "dokk: {}: stopped before the repair ended; the next dokk command on \
                         this context repairs {service} (or `dokk recover {service}`)",
                        again.name()
                    ));
                    crate::backend::docker::ssh::close_all();
                    std::process::exit(i32::from(code));
                }
                say(&format!(
                    "dokk: stopping now leaves {service} as it is this moment — a replica may be \
                     down or parked — until the next dokk command repairs it. {} again to stop \
                     anyway; waiting for the repair otherwise",
                    match again { Caught::Interrupt => "Ctrl-C", _ => "The same signal" }
                ));
                warned = true;
            }
        }
    };
    let state = match repaired.as_deref() {
        None => format!(
            "the repair took over {} s and was left; `dokk recover {service}` finishes it",
            REPAIR_BOUND.as_secs()
        ),
        Some([]) => format!("nothing had been touched yet: {service} is as it was"),
        Some(list) => list
            .iter()
            .map(|r| format!("{}: {}", r.result, r.message))
            .collect::<Vec<_>>()
            .join("; "),
    };
    DeployError::Interrupted {
        code,
        message: format!("{signal}: the {action} of {service} was stopped; {state}"),
    }
}

/// Exit-code mapping shared by the three commands.
pub fn exit_code(result: Result<bool, DeployError>) -> (u8, Option<String>) {
    match result {
        Ok(true) => (0, None),
        Ok(false) => (1, None),
        Err(DeployError::Refused(message)) => (2, Some(message)),
        Err(DeployError::Failed(message)) => (1, Some(message)),
        Err(DeployError::Interrupted { code, message }) => (code, Some(message)),
    }
}
