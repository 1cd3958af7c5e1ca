//! `dokk deploy`, `dokk rollback` and `dokk history` on a Compose host: the images a service
//! has run (from the audit log dokk keeps, and the engine's images), and health-gated
//! replica-by-replica recreation with automatic revert.

use std::io::Write;
use std::time::Duration;

use bollard::Docker;

use super::confirm::confirm;
use crate::backend::docker;
use crate::config::Context;
use crate::deploy::compose::{ServiceOutcome, check_image, deploy_service};
use crate::deploy::ecs::DeployError;
use crate::deploy::{Revision, audit_path, record};
use crate::model::{find_service, group_services};

/// How long one replica may take to turn healthy.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(120);

/// The service's running replicas in replica order: (container id, image reference).
async fn replicas(
    context: &Context,
    service: &str,
) -> Result<(Docker, String, Vec<(String, String)>), DeployError> {
    let engine = |e: docker::DockerError| {
        DeployError::Failed(format!("{e}\n{}", docker::connection_hint(&context.host)))
    };
    let (client, containers) = docker::connect_and_inspect(&context.host)
        .await
        .map_err(engine)?;
    let services = group_services(&containers, &Default::default());
    let found = find_service(&services, service).map_err(DeployError::Refused)?;
    if found.key.project.is_none() {
        return Err(DeployError::Refused(format!(
            "`{service}` is a container outside Compose; dokk deploys Compose services"
        )));
    }
    let list: Vec<(String, String)> = found
        .containers
        .iter()
        .filter_map(|id| containers.iter().find(|c| &c.id == id))
        .filter(|c| c.is_running())
        .map(|c| (c.id.clone(), c.image.clone()))
        .collect();
    if list.is_empty() {
        return Err(DeployError::Refused(format!(
            "{service} has no running replica"
        )));
    }
    Ok((client, found.key.qualified(), list))
}

/// The audit log's entries for this context and service, oldest first.
fn journal(context: &Context, service: &str) -> Vec<serde_json::Value> {
    let Some(path) = audit_path() else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["context"] == context.name.as_str() && e["service"] == service)
        .collect()
}

/// What a rollback of the service would do: (from, to), the image checked present.
pub async fn plan_rollback(
    context: &Context,
    service: &str,
) -> Result<(String, String), DeployError> {
    let (client, qualified, list) = replicas(context, service).await?;
    let from = list[0].1.clone();
    let to = previous(context, &qualified, &from)?;
    check_image(&client, &to).await?;
    Ok((from, to))
}

/// The image the service ran before `current`, from dokk's journal.
fn previous(context: &Context, qualified: &str, current: &str) -> Result<String, DeployError> {
    journal(context, qualified)
        .iter()
        .rev()
        .find(|e| e["to"] == current && e["result"] == "stable")
        .and_then(|e| e["from"].as_str().map(str::to_string))
        .ok_or_else(|| {
            DeployError::Refused(format!(
                "dokk has no record of what {qualified} ran before {current}; name an image with --to"
            ))
        })
}

/// Deploys `image` to the service (or rolls back to it); true when stable.
pub async fn roll(
    context: &Context,
    action: &str,
    service: &str,
    image: Option<&str>,
    (yes, json): (bool, bool),
    out: &mut impl Write,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<bool, DeployError> {
    let (client, qualified, list) = replicas(context, service).await?;
    let from = list[0].1.clone();
    let to = match image {
        Some(image) => image.to_string(),
        // A rollback without --to: the image the service ran before its latest change.
        None => previous(context, &qualified, &from)?,
    };
    if to == from && list.iter().all(|(_, i)| *i == to) {
        return Err(DeployError::Refused(format!(
            "{qualified} already runs {to}"
        )));
    }
    check_image(&client, &to).await?;
    let change = [format!(
        "image {from} → {to}, one replica at a time, each gated on its health"
    )];
    confirm(action, &qualified, &change, yes)?;
    let outcome = deploy_service(&client, &list, &to, REPLICA_TIMEOUT, |line| {
        progress(line.to_string())
    })
    .await?;
    let (result, reason) = match &outcome {
        ServiceOutcome::Stable { .. } => ("stable", None),
        ServiceOutcome::Reverted { reason } => ("failed", Some(reason.as_str())),
    };
    record(&context.name, action, &qualified, &from, &to, result);
    let io = |e: std::io::Error| DeployError::Failed(e.to_string());
    if json {
        let report = serde_json::json!({
            "service": qualified, "action": action, "from": from, "to": to,
            "diff": [format!("image: {from} → {to}")],
            "result": result, "reason": reason, "rolled_back": reason.is_some(),
        });
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(|e| DeployError::Failed(e.to_string()))?;
        writeln!(out).map_err(io)?;
    } else {
        writeln!(
            out,
            "{action} {qualified}: {from} → {to}: {result}{}",
            reason
                .map(|r| format!(" ({r}); every replica is back on {from}"))
                .unwrap_or_default()
        )
        .map_err(io)?;
    }
    Ok(result == "stable")
}

/// The images the service has run, newest first: the live one, then dokk's journal; each
/// with whether the engine still has it (a rollback needs it there).
pub async fn history(context: &Context, service: &str) -> Result<Vec<Revision>, DeployError> {
    let (client, qualified, list) = replicas(context, service).await?;
    let live = list[0].1.clone();
    let mut seen = vec![live.clone()];
    let mut rows = vec![(live.clone(), true, None::<String>, None::<String>)];
    for entry in journal(context, &qualified).iter().rev() {
        for key in ["to", "from"] {
            if let Some(image) = entry[key].as_str()
                && !seen.iter().any(|s| s == image)
            {
                seen.push(image.to_string());
                rows.push((
                    image.to_string(),
                    false,
                    entry["time"].as_str().map(str::to_string),
                    entry["user"].as_str().map(str::to_string),
                ));
            }
        }
    }
    let mut revisions = Vec::new();
    for (image, is_live, time, user) in rows {
        let found = client.inspect_image(&image).await.ok();
        revisions.push(Revision {
            images: vec![image.clone()],
            number: None,
            status: if found.is_some() { "ON ENGINE" } else { "GONE" }.into(),
            registered_at: time
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
            registered_by: user,
            can_rollback: found.is_some() && !is_live,
            image_id: found.as_ref().and_then(|i| i.id.clone()),
            digest: found
                .as_ref()
                .and_then(|i| i.repo_digests.clone())
                .and_then(|d| d.first().cloned()),
            created: found.as_ref().and_then(|i| i.created.clone()),
            live: is_live,
            in_deployment: false,
            containers: Vec::new(),
            cpu: None,
            memory: None,
            id: image,
        });
    }
    Ok(revisions)
}
