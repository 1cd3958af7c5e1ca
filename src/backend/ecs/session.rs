//! Interactive sessions through AWS Session Manager: ECS Exec into a task's container and an
//! SSM session to a node. dokk makes the API call (ExecuteCommand / StartSession) and runs
//! `session-manager-plugin` with exactly the arguments and environment the AWS CLI passes, so
//! a session behaves as `aws ecs execute-command` / `aws ssm start-session` would.
//! Before any call, a diagnosis names what would make the session fail and how to fix it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Aws, EcsNode, EcsService, EcsTask, failed};

pub const PLUGIN: &str = "session-manager-plugin";
/// Plugins newer than this take the StartSession response in an environment variable.
const LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR: [u64; 4] = [1, 2, 497, 0];
const RESPONSE_ENV: &str = "AWS_SSM_START_SESSION_RESPONSE";
const PLUGIN_HELP: &str = "install the Session Manager plugin: \
    https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("session-manager-plugin is not installed (not on PATH); {PLUGIN_HELP}")]
    NoPlugin,
    #[error(
        "session-manager-plugin was not found when the session was to start; the session {0} was terminated so none is left open; {PLUGIN_HELP}"
    )]
    PluginVanished(String),
    #[error(
        "ECS Exec is off for {0}: turn it on with `aws ecs update-service --enable-execute-command` and start new tasks (running tasks keep the old setting)"
    )]
    ExecOff(String),
    #[error(
        "task {task} was started without ECS Exec: tasks started after `--enable-execute-command` have it; stop this one or wait for a new deployment"
    )]
    TaskWithoutExec { task: String },
    #[error(
        "the ExecuteCommandAgent of {container} in task {task} is {status}, not RUNNING: check the task role's ssmmessages permissions and that the node can reach SSM"
    )]
    AgentNotRunning {
        task: String,
        container: String,
        status: String,
    },
    #[error("task {task} is {status}; only a RUNNING task takes a session")]
    TaskNotRunning { task: String, status: String },
    #[error("task {task} has no container {container}; it has {known}")]
    NoContainer {
        task: String,
        container: String,
        known: String,
    },
    #[error(
        "the ECS agent on {0} is not connected: the SSM agent on it may be down too; check the instance in the EC2 console"
    )]
    AgentDisconnected(String),
    #[error("{0}")]
    Api(String),
    #[error("session-manager-plugin failed: {0}")]
    Plugin(String),
}

/// The plugin on PATH (or where `DOKK_SESSION_MANAGER_PLUGIN` points).
pub fn find_plugin() -> Result<PathBuf, SessionError> {
    if let Some(path) = std::env::var_os("DOKK_SESSION_MANAGER_PLUGIN") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(PLUGIN))
        .find(|candidate| candidate.is_file())
        .ok_or(SessionError::NoPlugin)
}

/// What would make ECS Exec into `container` of `task` fail, before anything is called.
pub fn diagnose_exec(
    service: Option<&EcsService>,
    task: &EcsTask,
    container: &str,
) -> Result<(), SessionError> {
    if !task.is_running() {
        return Err(SessionError::TaskNotRunning {
            task: task.id.clone(),
            status: task.last_status.clone(),
        });
    }
    if let Some(service) = service
        && !service.enable_execute_command
        && !task.enable_execute_command
    {
        return Err(SessionError::ExecOff(service.name.clone()));
    }
    if !task.enable_execute_command {
        return Err(SessionError::TaskWithoutExec {
            task: task.id.clone(),
        });
    }
    let Some(found) = task.containers.iter().find(|c| c.name == container) else {
        return Err(SessionError::NoContainer {
            task: task.id.clone(),
            container: container.to_string(),
            known: task
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    match found.exec_agent.as_deref() {
        Some("RUNNING") => Ok(()),
        status => Err(SessionError::AgentNotRunning {
            task: task.id.clone(),
            container: container.to_string(),
            status: status.unwrap_or("missing").to_string(),
        }),
    }
}

pub fn diagnose_ssm(node: &EcsNode) -> Result<(), SessionError> {
    if node.agent_connected {
        Ok(())
    } else {
        Err(SessionError::AgentDisconnected(node.instance_id.clone()))
    }
}

/// How the plugin is to be run: its arguments and the environment it gets on top of dokk's.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginCall {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// To terminate when the plugin cannot run.
    pub session_id: String,
}

/// `json.dumps` of the AWS CLI (Python): `{"k": "v", "k2": "v2"}`.
fn python_json(pairs: &[(&str, &str)]) -> String {
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                serde_json::Value::from(*k),
                serde_json::Value::from(*v)
            )
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn endpoint(aws: &Aws, service: &str) -> String {
    aws.target.endpoint_url.clone().unwrap_or_else(|| {
        format!(
            "https://{service}.{}.amazonaws.com",
            aws.region.as_deref().unwrap_or("us-east-1")
        )
    })
}

/// Calls ExecuteCommand (interactive) and returns the plugin call `aws ecs execute-command`
/// would make.
pub async fn start_exec(
    aws: &Aws,
    cluster: &str,
    task: &EcsTask,
    container: &str,
    command: &str,
) -> Result<PluginCall, SessionError> {
    let output = aws
        .ecs
        .execute_command()
        .cluster(cluster)
        .task(&task.arn)
        .container(container)
        .interactive(true)
        .command(command)
        .send()
        .await
        .map_err(|e| SessionError::Api(failed("ExecuteCommand")(e).to_string()))?;
    let session = output
        .session()
        .ok_or_else(|| SessionError::Api("ExecuteCommand returned no session".into()))?;
    let runtime_id = task
        .containers
        .iter()
        .find(|c| c.name == container)
        .and_then(|c| c.runtime_id.clone())
        .unwrap_or_default();
    let cluster_name = output
        .cluster_arn()
        .map(super::last_segment)
        .unwrap_or(cluster);
    let session_id = session.session_id().unwrap_or_default().to_string();
    Ok(PluginCall {
        args: vec![
            python_json(&[
                ("sessionId", &session_id),
                ("streamUrl", session.stream_url().unwrap_or_default()),
                ("tokenValue", session.token_value().unwrap_or_default()),
            ]),
            aws.region.clone().unwrap_or_default(),
            "StartSession".into(),
            aws.target.profile.clone().unwrap_or_default(),
            python_json(&[(
                "Target",
                &format!("ecs:{cluster_name}_{}_{runtime_id}", task.id),
            )]),
            endpoint(aws, "ecs"),
        ],
        env: Vec::new(),
        session_id,
    })
}

/// Calls StartSession for a node and returns the plugin call `aws ssm start-session` would
/// make for a plugin that reports `plugin_version`.
pub async fn start_ssm(
    aws: &Aws,
    instance_id: &str,
    plugin_version: &str,
) -> Result<PluginCall, SessionError> {
    let output = aws
        .ssm
        .start_session()
        .target(instance_id)
        .send()
        .await
        .map_err(|e| SessionError::Api(failed("StartSession")(e).to_string()))?;
    let session_id = output.session_id().unwrap_or_default().to_string();
    let response = python_json(&[
        ("SessionId", &session_id),
        ("TokenValue", output.token_value().unwrap_or_default()),
        ("StreamUrl", output.stream_url().unwrap_or_default()),
    ]);
    let (first, env) = if takes_env_var(plugin_version) {
        (
            RESPONSE_ENV.to_string(),
            vec![(RESPONSE_ENV.to_string(), response)],
        )
    } else {
        (response, Vec::new())
    };
    Ok(PluginCall {
        args: vec![
            first,
            aws.region.clone().unwrap_or_default(),
            "StartSession".into(),
            aws.target.profile.clone().unwrap_or_default(),
            python_json(&[("Target", instance_id)]),
            endpoint(aws, "ssm"),
        ],
        env,
        session_id,
    })
}

/// Is the plugin's version newer than the last one that took the response as an argument?
fn takes_env_var(version: &str) -> bool {
    let version: String = version.chars().filter(|c| !c.is_whitespace()).collect();
    let parts: Option<Vec<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
    match parts {
        Some(mut parts) if (1..=4).contains(&parts.len()) => {
            parts.resize(4, 0);
            parts.as_slice() > LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR.as_slice()
        }
        _ => false,
    }
}

/// `session-manager-plugin --version`, or why it cannot run.
pub fn plugin_version(plugin: &Path) -> std::io::Result<String> {
    let output = Command::new(plugin).arg("--version").output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs the plugin on the user's terminal until the session ends. If it cannot be started,
/// the session is terminated so none is left open on the agent.
pub async fn run_plugin(aws: &Aws, plugin: &Path, call: &PluginCall) -> Result<(), SessionError> {
    // Ctrl-C, Ctrl-\ and Ctrl-Z belong to the remote shell: the plugin handles them, and
    // dokk must not die of them meanwhile.
    let _keep = ignore_user_signals();
    let mut command = Command::new(plugin);
    command.args(&call.args).envs(call.env.iter().cloned());
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .map_err(|e| SessionError::Plugin(e.to_string()))?;
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(SessionError::Plugin(format!("it exited with {status}"))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            terminate(aws, &call.session_id).await;
            Err(SessionError::PluginVanished(call.session_id.clone()))
        }
        Err(error) => {
            terminate(aws, &call.session_id).await;
            Err(SessionError::Plugin(error.to_string()))
        }
    }
}

pub async fn terminate(aws: &Aws, session_id: &str) {
    if let Err(error) = aws
        .ssm
        .terminate_session()
        .session_id(session_id)
        .send()
        .await
    {
        tracing::warn!(session_id, error = %aws_sdk_ssm::error::DisplayErrorContext(&error), "TerminateSession failed");
    }
}

fn ignore_user_signals() -> Vec<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    [
        SignalKind::interrupt(),
        SignalKind::quit(),
        SignalKind::from_raw(20), // SIGTSTP
    ]
    .into_iter()
    .filter_map(|kind| signal(kind).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_formatted_as_python_dumps_it() {
        assert_eq!(
            python_json(&[("Target", "i-0abc"), ("x", "a\"b")]),
            r#"{"Target": "i-0abc", "x": "a\"b"}"#
        );
    }

    #[test]
    fn plugin_versions_after_1_2_497_take_the_response_in_the_environment() {
        assert!(takes_env_var("1.2.650.0\n"));
        assert!(takes_env_var("1.3"));
        assert!(!takes_env_var("1.2.497.0"));
        assert!(!takes_env_var("1.2.331.0"));
        assert!(!takes_env_var("unknown"));
    }
}
