//! ECS deploys and rollbacks: a new task-definition revision copied from the live one with the
//! image replaced, or an earlier ACTIVE revision; the service pointed at it; the rollout
//! followed until ECS calls it COMPLETED or FAILED. dokk never deregisters a revision.

use std::time::Duration;

use aws_sdk_ecs::types::TaskDefinition;
use chrono::{DateTime, Utc};

use super::{ContainerRevision, DeployError, Revision};
use crate::backend::ecs::{
    Aws, EcsError, EcsService, TaskDefinitions, failed, family_revision, service, task_definition,
};

/// How many of a family's newest ACTIVE revisions the history describes.
const HISTORY: usize = 20;

impl From<EcsError> for DeployError {
    fn from(error: EcsError) -> Self {
        DeployError::Failed(error.to_string())
    }
}

/// The service as ECS describes it now, with its task definition.
pub async fn describe(
    aws: &Aws,
    cluster: &str,
    name: &str,
    definitions: &mut TaskDefinitions,
) -> Result<EcsService, DeployError> {
    let output = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(failed("DescribeServices"))?;
    let Some(found) = output.services().first() else {
        return Err(DeployError::Refused(format!(
            "no service `{name}` in cluster {cluster}"
        )));
    };
    let definition = match found.task_definition() {
        Some(arn) => task_definition(aws, arn, definitions).await?.cloned(),
        None => None,
    };
    Ok(service(found, definition.as_ref()))
}

pub fn revision(definition: &TaskDefinition, service: &EcsService) -> Revision {
    let id = definition
        .task_definition_arn()
        .map(family_revision)
        .unwrap_or_default();
    let active = definition.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active);
    Revision {
        images: definition
            .container_definitions()
            .iter()
            .map(|c| c.image().unwrap_or_default().to_string())
            .collect(),
        can_rollback: active && id != service.task_definition,
        image_id: None,
        digest: None,
        created: None,
        live: id == service.task_definition,
        in_deployment: service.deployments.iter().any(|d| d.task_definition == id),
        number: Some(definition.revision),
        status: definition
            .status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_string(),
        registered_at: definition
            .registered_at()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        registered_by: definition.registered_by().map(str::to_string),
        containers: definition
            .container_definitions()
            .iter()
            .map(|c| ContainerRevision {
                name: c.name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                env_names: {
                    let mut names: Vec<String> = c
                        .environment()
                        .iter()
                        .filter_map(|kv| kv.name().map(str::to_string))
                        .chain(c.secrets().iter().map(|s| s.name().to_string()))
                        .collect();
                    names.sort();
                    names
                },
                cpu: c.cpu,
                memory: c.memory,
                ports: c
                    .port_mappings()
                    .iter()
                    .map(|p| {
                        format!(
                            "{}/{}",
                            p.container_port.unwrap_or_default(),
                            p.protocol().map_or("tcp", |p| p.as_str())
                        )
                    })
                    .collect(),
                health_check: c
                    .health_check()
                    .map(|h| h.command().to_vec())
                    .unwrap_or_default(),
                command: c.command().to_vec(),
            })
            .collect(),
        cpu: definition.cpu().map(str::to_string),
        memory: definition.memory().map(str::to_string),
        id,
    }
}

/// The family's newest ACTIVE revisions, newest first, the live one marked.
pub async fn history(
    aws: &Aws,
    cluster: &str,
    name: &str,
) -> Result<(EcsService, Vec<Revision>), DeployError> {
    let mut definitions = TaskDefinitions::new();
    let live = describe(aws, cluster, name, &mut definitions).await?;
    let family = live
        .task_definition
        .rsplit_once(':')
        .map_or(live.task_definition.as_str(), |(f, _)| f)
        .to_string();
    let output = aws
        .ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .max_results(i32::try_from(HISTORY).unwrap_or(20))
        .send()
        .await
        .map_err(failed("ListTaskDefinitions"))?;
    let mut revisions = Vec::new();
    // The prefix matches longer family names too: keep this family's own.
    for arn in output
        .task_definition_arns()
        .iter()
        .filter(|a| family_revision(a).rsplit_once(':').map(|(f, _)| f) == Some(family.as_str()))
    {
        if let Some(definition) = task_definition(aws, arn, &mut definitions).await? {
            revisions.push(revision(definition, &live));
        }
    }
    revisions.sort_by_key(|r| std::cmp::Reverse(r.number));
    Ok((live, revisions))
}

/// A deploy or rollback that was made: from which revision to which.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub service: String,
    pub from: String,
    pub to: String,
    pub diff: Vec<String>,
}

/// A deploy worked out but not made: the live revision and its copy with the new image.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub live: EcsService,
    pub current: TaskDefinition,
    pub next: TaskDefinition,
}

impl DeployPlan {
    pub fn from(&self) -> Revision {
        revision(&self.current, &self.live)
    }

    /// The new revision as it will be registered (its number is ECS's to give).
    pub fn to(&self) -> Revision {
        let mut next = revision(&self.next, &self.live);
        next.id = format!("{} (new)", self.next.family().unwrap_or_default());
        next.live = false;
        next.in_deployment = false;
        next
    }
}

/// Works out a deploy of `image` into `container` (the only container when there is one):
/// nothing is changed yet.
pub async fn plan_deploy(
    aws: &Aws,
    cluster: &str,
    name: &str,
    image: &str,
    container: Option<&str>,
) -> Result<DeployPlan, DeployError> {
    let mut definitions = TaskDefinitions::new();
    let live = describe(aws, cluster, name, &mut definitions).await?;
    let Some(current) = definitions.values().next().cloned() else {
        return Err(DeployError::Failed(format!(
            "{name}: its task definition could not be read"
        )));
    };
    let names: Vec<&str> = current
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    let target = match (container, names.as_slice()) {
        (Some(wanted), _) if names.contains(&wanted) => wanted.to_string(),
        (Some(wanted), _) => {
            return Err(DeployError::Refused(format!(
                "{name} has no container `{wanted}`; it has {}",
                names.join(", ")
            )));
        }
        (None, [only]) => only.to_string(),
        (None, _) => {
            return Err(DeployError::Refused(format!(
                "{name} has several containers ({}); name one with --container",
                names.join(", ")
            )));
        }
    };
    let mut next = current.clone();
    next.container_definitions = Some(
        current
            .container_definitions()
            .iter()
            .map(|c| {
                let mut copy = c.clone();
                if c.name() == Some(target.as_str()) {
                    copy.image = Some(image.to_string());
                }
                copy
            })
            .collect(),
    );
    Ok(DeployPlan {
        live,
        current,
        next,
    })
}

/// Registers the plan's new revision (everything of the live one but the image); returns its
/// `family:N`.
pub async fn register(aws: &Aws, plan: &DeployPlan) -> Result<String, DeployError> {
    let next = &plan.next;
    let output = aws
        .ecs
        .register_task_definition()
        .family(next.family().unwrap_or_default())
        .set_task_role_arn(next.task_role_arn().map(str::to_string))
        .set_execution_role_arn(next.execution_role_arn().map(str::to_string))
        .set_network_mode(next.network_mode().cloned())
        .set_container_definitions(Some(next.container_definitions().to_vec()))
        .set_volumes(Some(next.volumes().to_vec()))
        .set_placement_constraints(Some(next.placement_constraints().to_vec()))
        .set_requires_compatibilities(Some(next.requires_compatibilities().to_vec()))
        .set_cpu(next.cpu().map(str::to_string))
        .set_memory(next.memory().map(str::to_string))
        .set_pid_mode(next.pid_mode().cloned())
        .set_ipc_mode(next.ipc_mode().cloned())
        .set_proxy_configuration(next.proxy_configuration().cloned())
        .set_ephemeral_storage(next.ephemeral_storage().cloned())
        .set_runtime_platform(next.runtime_platform().cloned())
        .send()
        .await
        .map_err(failed("RegisterTaskDefinition"))?;
    output
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .map(family_revision)
        .ok_or_else(|| DeployError::Failed("RegisterTaskDefinition returned no revision".into()))
}

/// The revision a rollback goes to: `to` (`7` or `family:7`), else the newest ACTIVE one older
/// than the live one. An INACTIVE (deregistered) revision is refused: ECS cannot start it.
pub async fn prepare_rollback(
    aws: &Aws,
    cluster: &str,
    name: &str,
    to: Option<&str>,
) -> Result<(EcsService, Revision, Revision), DeployError> {
    let (live, revisions) = history(aws, cluster, name).await?;
    let current =
        revisions.iter().find(|r| r.live).cloned().ok_or_else(|| {
            DeployError::Failed(format!("{name}: its live revision is not ACTIVE"))
        })?;
    let family = current
        .id
        .rsplit_once(':')
        .map_or(current.id.clone(), |(f, _)| f.to_string());
    let wanted = match to {
        Some(text) => {
            let number = text.rsplit(':').next().unwrap_or(text);
            let id = format!("{family}:{number}");
            if let Some(found) = revisions.iter().find(|r| r.id == id) {
                found.clone()
            } else {
                // Not among the newest ACTIVE ones: ask ECS about it.
                let mut definitions = TaskDefinitions::new();
                let definition = task_definition(aws, &id, &mut definitions)
                    .await
                    .map_err(|_| DeployError::Refused(format!("no revision {id}")))?
                    .cloned()
                    .ok_or_else(|| DeployError::Refused(format!("no revision {id}")))?;
                revision(&definition, &live)
            }
        }
        None => revisions
            .iter()
            .find(|r| r.number < current.number)
            .cloned()
            .ok_or_else(|| {
                DeployError::Refused(format!(
                    "{name} has no ACTIVE revision older than {}: nothing to roll back to",
                    current.id
                ))
            })?,
    };
    if wanted.status != "ACTIVE" {
        return Err(DeployError::Refused(format!(
            "{} is {}: a deregistered revision cannot be started; pick an ACTIVE one (dokk history {name})",
            wanted.id, wanted.status
        )));
    }
    if wanted.live {
        return Err(DeployError::Refused(format!(
            "{name} already runs {}",
            wanted.id
        )));
    }
    Ok((live, current, wanted))
}

/// Points the service at `revision` (`family:N`).
pub async fn update_service(
    aws: &Aws,
    cluster: &str,
    name: &str,
    revision: &str,
) -> Result<(), DeployError> {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(name)
        .task_definition(revision)
        .send()
        .await
        .map_err(failed("UpdateService"))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stable,
    Failed(String),
}

/// Where a rollout to `target` stands, from the service as ECS describes it; `None` while it
/// is still in progress. ECS's reads are eventually consistent: right after UpdateService the
/// old primary deployment can still be described. One created before `updated` (the time of
/// the UpdateService, two seconds' clock skew allowed) while no deployment of `target` has
/// been `seen` is that, not a rollback; a rollback's deployment is created after it.
pub fn judge(
    service: &EcsService,
    target: &str,
    seen: bool,
    updated: DateTime<Utc>,
) -> Option<Outcome> {
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY")?;
    let stale = |created: DateTime<Utc>| created < updated - chrono::Duration::seconds(2);
    if primary.task_definition != target && !seen && primary.created_at.is_some_and(stale) {
        return None;
    }
    if primary.task_definition != target {
        return Some(Outcome::Failed(format!(
            "ECS now deploys {} instead of {target} (the deployment circuit breaker rolled back)",
            primary.task_definition
        )));
    }
    match primary.rollout_state.as_deref() {
        Some("COMPLETED") => Some(Outcome::Stable),
        Some("FAILED") => Some(Outcome::Failed(
            primary
                .rollout_reason
                .clone()
                .unwrap_or_else(|| "the deployment failed".into()),
        )),
        None if service.deployments.len() == 1 && primary.running == primary.desired => {
            Some(Outcome::Stable)
        }
        _ => None,
    }
}

/// Follows the rollout until it is stable, failed or `timeout` passes; `progress` sees every
/// poll's service.
pub async fn wait(
    aws: &Aws,
    cluster: &str,
    name: &str,
    target: &str,
    poll: Duration,
    timeout: Duration,
    mut progress: impl FnMut(&EcsService),
) -> Result<Outcome, DeployError> {
    let started = std::time::Instant::now();
    let mut definitions = TaskDefinitions::new();
    let mut seen = false;
    let updated = Utc::now();
    loop {
        let service = describe(aws, cluster, name, &mut definitions).await?;
        progress(&service);
        seen |= service
            .deployments
            .iter()
            .any(|d| d.task_definition == target);
        if let Some(outcome) = judge(&service, target, seen, updated) {
            return Ok(outcome);
        }
        if started.elapsed() >= timeout {
            return Ok(Outcome::Failed(format!(
                "not stable after {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ecs::EcsDeployment;

    fn service(
        deployments: &[(&str, &str, i32, Option<&str>)],
        created: DateTime<Utc>,
    ) -> EcsService {
        let mut service = crate::fixtures::ecs_snapshot().services.expect("services")[0].clone();
        service.deployments = deployments
            .iter()
            .map(|(status, definition, running, state)| EcsDeployment {
                id: format!("ecs-svc/{definition}"),
                status: status.to_string(),
                task_definition: definition.to_string(),
                desired: 2,
                running: *running,
                pending: 2 - running,
                failed_tasks: 0,
                rollout_state: state.map(str::to_string),
                rollout_reason: None,
                updated_at: None,
                created_at: Some(created),
            })
            .collect();
        service
    }

    #[test]
    fn the_old_primary_right_after_the_update_is_not_a_rollback() {
        let updated = Utc::now();
        let before = updated - chrono::Duration::hours(1);
        let after = updated + chrono::Duration::seconds(40);
        let stale = service(&[("PRIMARY", "web:3", 2, Some("COMPLETED"))], before);
        assert_eq!(
            judge(&stale, "web:4", false, updated),
            None,
            "the old deployment, not seen ours yet: wait"
        );
        let rollback = service(&[("PRIMARY", "web:3", 1, Some("IN_PROGRESS"))], after);
        assert!(
            matches!(
                judge(&rollback, "web:4", false, updated),
                Some(Outcome::Failed(reason)) if reason.contains("circuit breaker")
            ),
            "a primary created after the update is ECS going back"
        );
        let rolled_back = service(
            &[
                ("PRIMARY", "web:3", 0, Some("IN_PROGRESS")),
                ("ACTIVE", "web:4", 0, Some("FAILED")),
            ],
            before,
        );
        assert!(matches!(
            judge(&rolled_back, "web:4", true, updated),
            Some(Outcome::Failed(reason)) if reason.contains("circuit breaker")
        ));
        let rolling = service(
            &[
                ("PRIMARY", "web:4", 1, Some("IN_PROGRESS")),
                ("ACTIVE", "web:3", 2, Some("COMPLETED")),
            ],
            after,
        );
        assert_eq!(judge(&rolling, "web:4", true, updated), None);
        let done = service(&[("PRIMARY", "web:4", 2, Some("COMPLETED"))], after);
        assert_eq!(judge(&done, "web:4", true, updated), Some(Outcome::Stable));
    }
}
