//! The rollout engine the CLI and the console share: `plan` works a request out (the
//! read-only guard first, nothing touched), the caller asks the operator, `apply` makes it,
//! follows it with progress lines and appends it to the audit log. A `Plan` can only come
//! from `plan`, so nothing is applied that the guard did not let through.

use std::time::Duration;

use bollard::Docker;
use serde::Serialize;

use super::compose::{self, Order, ServiceOutcome};
use super::ecs::{self as ecs_deploy, DeployPlan, Outcome};
use super::intent::IntentFile;
use super::swarm::{self as swarm_deploy, Ended, SwarmChange, SwarmPlan};
use super::{DeployError, diff, record};
use crate::backend::ecs::{Aws, EcsService, cluster_name};
use crate::config::{Context, Target};
use crate::guard::{Guard, Mutation};

/// How long one Compose replica may take to turn healthy.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(120);

/// What the operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A new image: into `container` of an ECS task definition (the only one when `None`).
    Deploy {
        service: String,
        image: String,
        container: Option<String>,
        /// Compose: how each replica makes way (`None`: start-first where it can be).
        order: Option<Order>,
    },
    /// Back to `to` (`7`, `family:7` or an image), else to what ran before the latest change.
    Rollback {
        service: String,
        to: Option<String>,
        order: Option<Order>,
    },
    /// Swarm: run `replicas` tasks of a replicated service.
    Scale { service: String, replicas: u64 },
    /// Swarm: a node's availability (`active`, `pause` or `drain`).
    Availability { node: String, availability: String },
}

impl Request {
    /// The service it changes (the node, for an availability).
    pub fn service(&self) -> &str {
        match self {
            Request::Deploy { service, .. }
            | Request::Rollback { service, .. }
            | Request::Scale { service, .. } => service,
            Request::Availability { node, .. } => node,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Request::Deploy { .. } => "deploy",
            Request::Rollback { .. } => "rollback",
            Request::Scale { .. } => "scale",
            Request::Availability { availability, .. } => match availability.as_str() {
                "drain" => "drain",
                "pause" => "pause",
                _ => "activate",
            },
        }
    }

    fn mutation(&self) -> Mutation {
        let service = self.service().to_string();
        match self {
            Request::Deploy { .. } => Mutation::Deploy { service },
            Request::Rollback { .. } => Mutation::Rollback { service },
            Request::Scale { .. } => Mutation::Scale { service },
            Request::Availability { .. } => Mutation::Availability { node: service },
        }
    }

    /// The replacement order it asks for (Compose).
    fn order(&self) -> Option<Order> {
        match self {
            Request::Deploy { order, .. } | Request::Rollback { order, .. } => *order,
            _ => None,
        }
    }

    /// The image it asks for, if it is a deploy or a rollback to a named revision.
    fn image(&self) -> Option<&str> {
        match self {
            Request::Deploy { image, .. } => Some(image),
            Request::Rollback { to, .. } => to.as_deref(),
            _ => None,
        }
    }
}

/// A change worked out and checked, not yet made.
pub struct Plan {
    pub action: &'static str,
    pub service: String,
    pub from: String,
    pub to: String,
    /// Every difference, one line each.
    pub diff: Vec<String>,
    /// How it will be made, in words.
    pub how: String,
    exact: Request,
    steps: Steps,
}

enum Steps {
    Compose {
        docker: Docker,
        replicas: Vec<(String, String)>,
        order: Order,
    },
    Ecs {
        aws: Aws,
        cluster: String,
        /// A deploy registers its new revision first; a rollback points at one that exists.
        register: Option<Box<DeployPlan>>,
    },
    Swarm(Box<SwarmPlan>),
}

impl Plan {
    /// What the operator confirms: `from → to`, then each difference.
    pub fn lines(&self) -> Vec<String> {
        let change = format!("{} → {}", self.from, self.to);
        let mut lines = vec![change.clone()];
        let repeated = format!("image: {change}");
        lines.extend(
            self.diff
                .iter()
                .filter(|d| **d != repeated)
                .map(|d| format!("  {d}")),
        );
        lines.push(self.how.clone());
        lines
    }

    /// The confirm dialog's title: `Deploy evergreen_web?`, `Drain node n2?`.
    pub fn question(&self) -> String {
        let verb = match self.action {
            "deploy" => "Deploy",
            "rollback" => "Roll back",
            "scale" => "Scale",
            "drain" => "Drain node",
            "pause" => "Pause node",
            _ => "Activate node",
        };
        format!("{verb} {}?", self.service)
    }

    /// The same change as a request naming its target exactly: what a confirmed dialog
    /// applies, so that it goes where the operator saw, whatever changed meanwhile.
    pub fn request(&self) -> &Request {
        &self.exact
    }
}

/// How far `apply` follows a rollout.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    /// ECS: follow until stable or failed (a Compose rollout is always followed).
    pub wait: bool,
    pub timeout: Duration,
    pub poll: Duration,
    /// ECS: when the rollout fails, point the service back at where it was (Compose always
    /// puts a failed replica back).
    pub revert_on_failure: bool,
}

/// What a rollout did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub service: String,
    pub action: &'static str,
    pub from: String,
    pub to: String,
    pub diff: Vec<String>,
    /// "started" (ECS without waiting), "stable" or "failed".
    pub result: &'static str,
    pub reason: Option<String>,
    pub rolled_back: bool,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.result != "failed"
    }

    /// One line: what, from → to, the result and, when it failed, where the service is.
    pub fn summary(&self) -> String {
        format!(
            "{} {}: {} → {}: {}{}{}",
            self.action,
            self.service,
            self.from,
            self.to,
            self.result,
            self.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            match (self.rolled_back, self.result) {
                (true, _) => format!("; rolled back: it runs {} again", self.from),
                (false, "failed") => "; not rolled back".to_string(),
                _ => String::new(),
            }
        )
    }
}

fn guard(context: &Context) -> Guard {
    Guard {
        readonly: context.readonly,
        context: context.name.clone(),
    }
}

/// Works the request out on the context's platform: the read-only guard first, then every
/// check that can refuse (unknown service, image not on the engine, revision INACTIVE…),
/// and nothing is changed.
pub async fn plan(context: &Context, request: &Request) -> Result<Plan, DeployError> {
    guard(context)
        .authorize(&request.mutation())
        .map_err(|e| DeployError::Refused(e.to_string()))?;
    let action = request.action();
    if let (Request::Scale { .. } | Request::Availability { .. }, false) =
        (request, matches!(context.target, Target::Swarm(_)))
    {
        return Err(DeployError::Refused(format!(
            "{action} from dokk is for Swarm contexts; `{}` is a {} one (`dokk capacity --scale` \
             answers whether a scale fits)",
            context.name,
            context.target.kind().label()
        )));
    }
    if let (Some(order), false) = (request.order(), matches!(context.target, Target::Docker(_))) {
        return Err(DeployError::Refused(format!(
            "--order {} is for Compose deploys; on {} the service's own deployment \
                     configuration orders the replacement",
            order.label(),
            context.target.kind().label()
        )));
    }
    match &context.target {
        Target::Docker(docker) => {
            let image = request.image();
            let planned = compose::plan(
                &context.name,
                &docker.host,
                request.service(),
                image,
                request.order(),
            )
            .await?;
            // The order as decided, so that a confirmed dialog applies what it showed.
            let order = Some(planned.order);
            let exact = match request {
                Request::Deploy { .. } => Request::Deploy {
                    service: planned.service.clone(),
                    image: planned.to.clone(),
                    container: None,
                    order,
                },
                _ => Request::Rollback {
                    service: planned.service.clone(),
                    to: Some(planned.to.clone()),
                    order,
                },
            };
            let how = match planned.order {
                Order::StartFirst => format!(
                    "one replica at a time, start-first ({}): each successor starts beside its \
                     replica, which stops once the successor is healthy; a failed one is removed \
                     and the replica keeps serving",
                    planned.order_why
                ),
                Order::StopFirst => format!(
                    "one replica at a time, stop-first ({}): each replica is down from its stop \
                     until its successor is healthy; a failed one is put back",
                    planned.order_why
                ),
            };
            Ok(Plan {
                exact,
                action,
                service: planned.service,
                from: planned.from,
                to: planned.to,
                diff: planned.diff,
                how,
                steps: Steps::Compose {
                    docker: planned.docker,
                    replicas: planned.replicas,
                    order: planned.order,
                },
            })
        }
        Target::Ecs(target) => {
            let aws = Aws::connect(target).await;
            let cluster = cluster_name(&aws).await?;
            let service = request.service();
            let (from, to, register) = match request {
                Request::Deploy {
                    image, container, ..
                } => {
                    let planned = ecs_deploy::plan_deploy(
                        &aws,
                        &cluster,
                        service,
                        image,
                        container.as_deref(),
                    )
                    .await?;
                    (planned.from(), planned.to(), Some(Box::new(planned)))
                }
                _ => {
                    let (_, from, to) =
                        ecs_deploy::prepare_rollback(&aws, &cluster, service, request.image())
                            .await?;
                    (from, to, None)
                }
            };
            let exact = match request {
                Request::Deploy { .. } => request.clone(),
                _ => Request::Rollback {
                    service: service.to_string(),
                    to: Some(to.id.clone()),
                    order: None,
                },
            };
            Ok(Plan {
                exact,
                action,
                service: service.to_string(),
                diff: diff(&from, &to),
                from: from.id,
                to: to.id,
                how: "ECS replaces the tasks as the service's deployment configuration says".into(),
                steps: Steps::Ecs {
                    aws,
                    cluster,
                    register,
                },
            })
        }
        Target::Swarm(swarm) => plan_swarm(&swarm.host, request).await,
    }
}

async fn plan_swarm(manager: &str, request: &Request) -> Result<Plan, DeployError> {
    let action = request.action();
    let (planned, exact, how) = match request {
        Request::Deploy { .. } | Request::Rollback { .. } => {
            let image = request.image();
            let planned = swarm_deploy::plan(manager, request.service(), image).await?;
            let exact = match request {
                Request::Deploy { .. } => Request::Deploy {
                    service: planned.name.clone(),
                    image: planned.to.clone(),
                    container: None,
                    order: None,
                },
                _ => Request::Rollback {
                    service: planned.name.clone(),
                    to: image.map(str::to_string),
                    order: None,
                },
            };
            let how = match image {
                Some(_) => {
                    "Swarm replaces the tasks as the service's update config says; \
                     a failure ends on the previous image"
                }
                None => "Swarm's own rollback to the spec it kept",
            };
            (planned, exact, how.to_string())
        }
        Request::Scale { service, replicas } => {
            let planned = swarm_deploy::plan_scale(manager, service, *replicas).await?;
            let exact = Request::Scale {
                service: planned.name.clone(),
                replicas: *replicas,
            };
            let how = "Swarm starts or stops tasks; dokk follows them until they all run".into();
            (planned, exact, how)
        }
        Request::Availability { node, availability } => {
            let planned = swarm_deploy::plan_availability(manager, node, availability).await?;
            let exact = Request::Availability {
                node: planned.name.clone(),
                availability: availability.clone(),
            };
            let how = match availability.as_str() {
                "drain" => "Swarm moves its tasks to other nodes; dokk follows them until they run",
                "pause" => "Swarm places no new task there; the ones it runs stay",
                _ => "Swarm may place new tasks there; running ones do not move back by themselves",
            };
            (planned, exact, how.to_string())
        }
    };
    Ok(Plan {
        exact,
        action,
        service: planned.name.clone(),
        from: planned.from.clone(),
        to: planned.to.clone(),
        diff: planned.diff.clone(),
        how,
        steps: Steps::Swarm(Box::new(planned)),
    })
}

/// Makes the plan, following it as `follow` says, `progress` seeing each step; the result is
/// appended to the audit log (and so is an automatic rollback).
pub async fn apply(
    context: &Context,
    plan: Plan,
    follow: Follow,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Report, DeployError> {
    let Plan {
        action,
        service,
        from,
        mut to,
        diff,
        steps,
        how,
        ..
    } = plan;
    // Past the mutation, a failure to follow it still leaves a record of what was sent.
    let followed = match steps {
        Steps::Compose {
            docker,
            replicas,
            order,
        } => {
            progress(how);
            let mut journal = IntentFile::begin(
                &docker,
                &context.name,
                &service,
                action,
                (&from, &to, order),
                &replicas,
            )
            .await?;
            let outcome =
                compose::deploy_service(&docker, &replicas, (&to, order), REPLICA_TIMEOUT, |l| {
                    journal.step(l);
                    progress(l.to_string())
                })
                .await;
            match outcome {
                Ok(outcome) => {
                    journal.finish();
                    Ok(match outcome {
                        ServiceOutcome::Stable { .. } => ("stable", None, false),
                        ServiceOutcome::Reverted { reason } => ("failed", Some(reason), true),
                    })
                }
                // The engine failed under it: what the rollout left is repaired now, while the
                // operator watches, rather than by the next command.
                Err(error) => {
                    drop(journal);
                    let repaired = super::recover(context, Some(&service), progress).await;
                    let said: Vec<String> = repaired
                        .iter()
                        .map(|r| format!("{}: {}", r.result, r.message))
                        .collect();
                    Err(DeployError::Failed(format!("{error}; {}", said.join("; "))))
                }
            }
        }
        Steps::Ecs {
            aws,
            cluster,
            register,
        } => {
            if let Some(planned) = register {
                to = ecs_deploy::register(&aws, &planned).await?;
                progress(format!("registered {to}"));
            }
            ecs_deploy::update_service(&aws, &cluster, &service, &to).await?;
            progress(format!("{service} now points at {to}"));
            if follow.wait {
                follow_ecs(
                    context,
                    &aws,
                    &cluster,
                    &service,
                    (&from, &to),
                    follow,
                    progress,
                )
                .await
            } else {
                Ok(("started", None, false))
            }
        }
        Steps::Swarm(planned) => {
            swarm_deploy::update(&planned).await?;
            progress(format!("{service}: the manager took the change"));
            if follow.wait {
                follow_swarm(context, &planned, follow, progress).await
            } else {
                Ok(("started", None, false))
            }
        }
    };
    let (result, reason, rolled_back) = match followed {
        Ok(ended) => ended,
        Err(error) => {
            record(&context.name, action, &service, &from, &to, "unfollowed");
            return Err(error);
        }
    };
    record(&context.name, action, &service, &from, &to, result);
    Ok(Report {
        service,
        action,
        from,
        to,
        diff,
        result,
        reason,
        rolled_back,
    })
}

/// Follows an ECS rollout to stable or failed and, when asked, points a failed one back.
async fn follow_ecs(
    context: &Context,
    aws: &Aws,
    cluster: &str,
    service: &str,
    (from, to): (&str, &str),
    follow: Follow,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<(&'static str, Option<String>, bool), DeployError> {
    let mut last = String::new();
    let outcome = ecs_deploy::wait(
        aws,
        cluster,
        service,
        to,
        follow.poll,
        follow.timeout,
        |s| {
            let line = progress_line(s);
            if line != last {
                progress(line.clone());
                last = line;
            }
        },
    )
    .await?;
    Ok(match outcome {
        Outcome::Stable => ("stable", None, false),
        Outcome::Failed(reason) => {
            let back = follow.revert_on_failure
                && ecs_deploy::update_service(aws, cluster, service, from)
                    .await
                    .is_ok();
            if back {
                progress(format!("{service} points back at {from}"));
                record(
                    &context.name,
                    "rollback",
                    service,
                    to,
                    from,
                    "automatic after a failed rollout",
                );
            }
            ("failed", Some(reason), back)
        }
    })
}

/// Follows a Swarm update to its end; one Swarm paused (failure action `pause`) is rolled
/// back by dokk, so that a failure always ends on the previous image.
async fn follow_swarm(
    context: &Context,
    planned: &SwarmPlan,
    follow: Follow,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<(&'static str, Option<String>, bool), DeployError> {
    let ended = swarm_deploy::follow(planned, follow.poll, follow.timeout, progress).await?;
    Ok(match ended {
        Ended::Completed => ("stable", None, false),
        Ended::RolledBack(reason) => {
            progress(format!("Swarm rolled {} back: {reason}", planned.name));
            ("failed", Some(reason), true)
        }
        Ended::Paused(reason) => {
            progress(format!("the update paused ({reason}); dokk rolls it back"));
            let rollback = SwarmPlan {
                engine: planned.engine.clone(),
                id: planned.id.clone(),
                name: planned.name.clone(),
                from: planned.to.clone(),
                to: planned.from.clone(),
                change: SwarmChange::NativeRollback,
                diff: Vec::new(),
            };
            swarm_deploy::update(&rollback).await?;
            let back = swarm_deploy::follow(&rollback, follow.poll, follow.timeout, progress)
                .await?
                == Ended::Completed;
            if back {
                record(
                    &context.name,
                    "rollback",
                    &planned.name,
                    &planned.to,
                    &planned.from,
                    "automatic after a failed rollout",
                );
            }
            ("failed", Some(reason), back)
        }
        Ended::RollbackPaused(reason) => (
            "failed",
            Some(format!("the rollback paused: {reason}")),
            false,
        ),
        Ended::Stuck(pending) => ("failed", Some(format!("stuck: {pending}")), false),
        Ended::TimedOut(waiting) => (
            "failed",
            Some(match waiting.as_str() {
                "" => "timed out".to_string(),
                _ => format!("timed out waiting for {waiting}"),
            }),
            false,
        ),
    })
}

/// One poll of an ECS rollout: each deployment's revision and counts, and the latest event.
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
