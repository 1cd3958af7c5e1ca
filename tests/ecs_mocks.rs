//! What moto does not model — ExecuteCommand, StartSession, deployments in progress, service
//! events, throttling — with aws-smithy-mocks. Every answer is an HTTP body in the shape AWS
//! sends (taken from the API reference's examples), parsed by the SDK as a real one would be;
//! the session-manager-plugin is a stand-in executable that records what it was given.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use aws_smithy_mocks::{RuleMode, mock, mock_client};
use dokk::backend::ecs::session::{self, SessionError};
use dokk::backend::ecs::{Aws, ClusterData, EcsContainer, EcsTask, Refresher, Section};
use dokk::config::EcsTarget;

const REGION: &str = "eu-north-1";

async fn aws(target: EcsTarget) -> Aws {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Aws::from_config(&config, target)
}

fn throttled() -> Option<String> {
    Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string())
}

/// A RUNNING task of `dotkom` with ECS Exec on and its agent RUNNING.
fn task() -> EcsTask {
    EcsTask {
        id: "0f4a3b2c1d".into(),
        arn: "arn:aws:ecs:eu-north-1:891459268445:task/dotkom/0f4a3b2c1d".into(),
        service: Some("web-prod".into()),
        task_definition: "web-prod:7".into(),
        last_status: "RUNNING".into(),
        desired_status: "RUNNING".into(),
        health: Some("HEALTHY".into()),
        availability_zone: Some("eu-north-1a".into()),
        container_instance: Some("c1".into()),
        started_at: None,
        stopped_at: None,
        stop_code: None,
        stopped_reason: None,
        enable_execute_command: true,
        private_ip: Some("10.0.1.17".into()),
        containers: vec![EcsContainer {
            name: "web".into(),
            runtime_id: Some("0f4a3b2c1d-2531612879".into()),
            last_status: "RUNNING".into(),
            health: Some("HEALTHY".into()),
            image: "web:v7".into(),
            exit_code: None,
            reason: None,
            exec_agent: Some("RUNNING".into()),
            host_ports: Vec::new(),
        }],
    }
}

/// A stand-in `session-manager-plugin`: prints `version` for `--version`, otherwise writes its
/// arguments (one a line) and the response variable to `record`.
fn stand_in_plugin(dir: &Path, version: &str) -> (PathBuf, PathBuf) {
    let record = dir.join("record");
    let plugin = dir.join("session-manager-plugin");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo {version}; exit 0; fi\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {record}\n\
             printf 'ENV=%s\\n' \"$AWS_SSM_START_SESSION_RESPONSE\" >> {record}\n",
            record = record.display()
        ),
    )
    .expect("write plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (plugin, record)
}

#[tokio::test]
async fn ecs_exec_runs_the_plugin_as_the_aws_cli_does() {
    // ExecuteCommand's answer, as in the ECS API reference.
    let execute = mock!(aws_sdk_ecs::Client::execute_command)
        .match_requests(|r| {
            r.interactive() == Some(true)
                && r.container() == Some("web")
                && r.command() == Some("/bin/sh")
                && r.cluster() == Some("dotkom")
        })
        .sequence()
        .http_status(
            200,
            Some(
                r#"{"clusterArn":"arn:aws:ecs:eu-north-1:891459268445:cluster/dotkom","containerArn":"arn:aws:ecs:eu-north-1:891459268445:container/dotkom/0f4a3b2c1d/7b1d","containerName":"web","interactive":true,"session":{"sessionId":"ecs-execute-command-0e86561fd1EXAMPLE","streamUrl":"wss://ssmmessages.eu-north-1.amazonaws.com/v1/data-channel/ecs-execute-command-0e86561fd1EXAMPLE?role=publish_subscribe","tokenValue":"AAEAAHdaEXAMPLEtoken"},"taskArn":"arn:aws:ecs:eu-north-1:891459268445:task/dotkom/0f4a3b2c1d"}"#
                    .into(),
            ),
        )
        .build();
    let mut aws = aws(EcsTarget {
        profile: None,
        region: Some(REGION.into()),
        cluster: Some("dotkom".into()),
        endpoint_url: None,
    })
    .await;
    aws.ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&execute], |c| c
        .region(aws_sdk_ecs::config::Region::new(REGION)));
    let dir = tempfile::tempdir().expect("tempdir");
    let (plugin, record) = stand_in_plugin(dir.path(), "1.2.650.0");

    session::diagnose_exec(None, &task(), "web").expect("nothing in the way");
    let call = session::start_exec(&aws, "dotkom", &task(), "web", "/bin/sh")
        .await
        .expect("ExecuteCommand");
    session::run_plugin(&aws, &plugin, &call)
        .await
        .expect("plugin ran");
    let recorded = std::fs::read_to_string(&record).expect("plugin recorded");
    let lines: Vec<&str> = recorded.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"sessionId": "ecs-execute-command-0e86561fd1EXAMPLE", "streamUrl": "wss://ssmmessages.eu-north-1.amazonaws.com/v1/data-channel/ecs-execute-command-0e86561fd1EXAMPLE?role=publish_subscribe", "tokenValue": "AAEAAHdaEXAMPLEtoken"}"#,
            "eu-north-1",
            "StartSession",
            "",
            r#"{"Target": "ecs:dotkom_0f4a3b2c1d_0f4a3b2c1d-2531612879"}"#,
            "https://ecs.eu-north-1.amazonaws.com",
            // `aws ecs execute-command` passes the response as an argument, never in the env.
            "ENV=",
        ]
    );
    assert_eq!(execute.num_calls(), 1);
}

fn start_session_rule() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_ssm::Client::start_session)
        .match_requests(|r| r.target() == Some("i-0b22a22eec53b9321"))
        .sequence()
        .http_status(
            200,
            Some(
                r#"{"SessionId":"Mary-Major-07a16060613c408b5","StreamUrl":"wss://ssmmessages.eu-north-1.amazonaws.com/v1/data-channel/Mary-Major-07a16060613c408b5?role=publish_subscribe","TokenValue":"AAEAAX3eEXAMPLE"}"#
                    .into(),
            ),
        )
        .repeatedly()
        .build()
}

#[tokio::test]
async fn ssm_sessions_pass_the_response_in_the_environment_to_new_plugins() {
    let start = start_session_rule();
    let mut aws = aws(EcsTarget {
        profile: Some("dotkom".into()),
        region: Some(REGION.into()),
        cluster: None,
        endpoint_url: None,
    })
    .await;
    aws.ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start], |c| c
        .region(aws_sdk_ssm::config::Region::new(REGION)));
    let response = r#"{"SessionId": "Mary-Major-07a16060613c408b5", "TokenValue": "AAEAAX3eEXAMPLE", "StreamUrl": "wss://ssmmessages.eu-north-1.amazonaws.com/v1/data-channel/Mary-Major-07a16060613c408b5?role=publish_subscribe"}"#;
    for (version, first, env) in [
        // Newer than 1.2.497.0: the variable's name as the argument, the response in it.
        ("1.2.650.0", "AWS_SSM_START_SESSION_RESPONSE", response),
        // 1.2.497.0 and older: the response itself as the argument.
        ("1.2.497.0", response, ""),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plugin, record) = stand_in_plugin(dir.path(), version);
        let reported = session::plugin_version(&plugin).expect("--version");
        let call = session::start_ssm(&aws, "i-0b22a22eec53b9321", &reported)
            .await
            .expect("StartSession");
        session::run_plugin(&aws, &plugin, &call)
            .await
            .expect("plugin ran");
        let recorded = std::fs::read_to_string(&record).expect("plugin recorded");
        let env_line = format!("ENV={env}");
        assert_eq!(
            recorded.lines().collect::<Vec<_>>(),
            [
                first,
                "eu-north-1",
                "StartSession",
                "dotkom",
                r#"{"Target": "i-0b22a22eec53b9321"}"#,
                "https://ssm.eu-north-1.amazonaws.com",
                env_line.as_str(),
            ],
            "plugin {version}"
        );
    }
    assert_eq!(start.num_calls(), 2);
}

#[tokio::test]
async fn a_plugin_that_cannot_run_terminates_the_session() {
    let start = start_session_rule();
    let terminate = mock!(aws_sdk_ssm::Client::terminate_session)
        .match_requests(|r| r.session_id() == Some("Mary-Major-07a16060613c408b5"))
        .sequence()
        .http_status(
            200,
            Some(r#"{"SessionId":"Mary-Major-07a16060613c408b5"}"#.into()),
        )
        .build();
    let mut aws = aws(EcsTarget::default()).await;
    aws.ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start, &terminate], |c| c
        .region(aws_sdk_ssm::config::Region::new(REGION)));
    let call = session::start_ssm(&aws, "i-0b22a22eec53b9321", "1.2.650.0")
        .await
        .expect("StartSession");
    let gone = Path::new("/nonexistent/session-manager-plugin");
    let error = session::run_plugin(&aws, gone, &call)
        .await
        .expect_err("no plugin");
    assert_eq!(
        error,
        SessionError::PluginVanished("Mary-Major-07a16060613c408b5".into())
    );
    assert!(error.to_string().contains("terminated"), "{error}");
    assert!(
        error
            .to_string()
            .contains("install the Session Manager plugin"),
        "{error}"
    );
    assert_eq!(terminate.num_calls(), 1, "TerminateSession was not called");
}

#[test]
fn the_diagnosis_names_the_fix() {
    let mut off = task();
    off.enable_execute_command = false;
    let message = session::diagnose_exec(None, &off, "web")
        .expect_err("exec off")
        .to_string();
    assert!(message.contains("without ECS Exec"), "{message}");

    let mut agent = task();
    agent.containers[0].exec_agent = Some("STOPPED".into());
    let message = session::diagnose_exec(None, &agent, "web")
        .expect_err("agent")
        .to_string();
    assert!(
        message.contains("ExecuteCommandAgent") && message.contains("STOPPED"),
        "{message}"
    );

    let message = session::diagnose_exec(None, &task(), "sidecar")
        .expect_err("no such container")
        .to_string();
    assert!(message.contains("it has web"), "{message}");
}

/// DescribeServices in the middle of a rolling deployment (ECS API reference shape): a PRIMARY
/// deployment IN_PROGRESS with the new revision, the ACTIVE one draining, and service events.
const DESCRIBE_SERVICES_ROLLING: &str = r#"{"failures":[],"services":[{"serviceArn":"arn:aws:ecs:eu-north-1:891459268445:service/dotkom/web-prod","serviceName":"web-prod","clusterArn":"arn:aws:ecs:eu-north-1:891459268445:cluster/dotkom","status":"ACTIVE","desiredCount":2,"runningCount":3,"pendingCount":1,"launchType":"EC2","taskDefinition":"arn:aws:ecs:eu-north-1:891459268445:task-definition/web-prod:8","enableExecuteCommand":true,"loadBalancers":[],"placementStrategy":[{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"memory"}],"deployments":[{"id":"ecs-svc/9223370483522581372","status":"PRIMARY","taskDefinition":"arn:aws:ecs:eu-north-1:891459268445:task-definition/web-prod:8","desiredCount":2,"pendingCount":1,"runningCount":1,"failedTasks":0,"createdAt":1.79541e9,"updatedAt":1.79541006e9,"launchType":"EC2","rolloutState":"IN_PROGRESS","rolloutStateReason":"ECS deployment ecs-svc/9223370483522581372 in progress."},{"id":"ecs-svc/9223370483522581000","status":"ACTIVE","taskDefinition":"arn:aws:ecs:eu-north-1:891459268445:task-definition/web-prod:7","desiredCount":1,"pendingCount":0,"runningCount":2,"failedTasks":0,"createdAt":1.7953e9,"updatedAt":1.79541e9,"launchType":"EC2","rolloutState":"COMPLETED","rolloutStateReason":"ECS deployment ecs-svc/9223370483522581000 completed."}],"events":[{"id":"e2","createdAt":1.79541006e9,"message":"(service web-prod) has started 1 tasks: (task 5a3c)."},{"id":"e1","createdAt":1.7953e9,"message":"(service web-prod) has reached a steady state."}]}]}"#;

const DESCRIBE_TASK_DEFINITION: &str = r#"{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:eu-north-1:891459268445:task-definition/web-prod:8","family":"web-prod","revision":8,"status":"ACTIVE","cpu":"512","memory":"1024","containerDefinitions":[{"name":"web","image":"891459268445.dkr.ecr.eu-north-1.amazonaws.com/web:v8","cpu":512,"memory":1024,"essential":true,"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web-prod","awslogs-region":"eu-north-1","awslogs-stream-prefix":"ecs"}}}]}}"#;

#[tokio::test]
async fn throttled_tasks_show_an_error_while_services_stay_live_then_recover() {
    let list_services = mock!(aws_sdk_ecs::Client::list_services)
        .sequence()
        .http_status(
            200,
            Some(r#"{"serviceArns":["arn:aws:ecs:eu-north-1:891459268445:service/dotkom/web-prod"]}"#.into()),
        )
        .repeatedly()
        .build();
    let describe_services = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .http_status(200, Some(DESCRIBE_SERVICES_ROLLING.into()))
        .repeatedly()
        .build();
    let describe_definition = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .sequence()
        .http_status(200, Some(DESCRIBE_TASK_DEFINITION.into()))
        .repeatedly()
        .build();
    // Throttled on every attempt of the first refresh (the client retries 5 times), then fine.
    let list_tasks = mock!(aws_sdk_ecs::Client::list_tasks)
        .sequence()
        .http_status(400, throttled())
        .times(5)
        .http_status(200, Some(r#"{"taskArns":[]}"#.into()))
        .repeatedly()
        .build();
    let list_instances = mock!(aws_sdk_ecs::Client::list_container_instances)
        .sequence()
        .http_status(200, Some(r#"{"containerInstanceArns":[]}"#.into()))
        .repeatedly()
        .build();
    // CloudWatch answers in Smithy RPC v2 CBOR; the modeled output stands for it here.
    let metrics = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(|| {
        use aws_sdk_cloudwatch::types::MetricDataResult;
        let at = aws_smithy_types::DateTime::from_secs(1_795_410_000);
        aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput::builder()
            .metric_data_results(
                MetricDataResult::builder()
                    .id("c0")
                    .values(37.5)
                    .timestamps(at)
                    .build(),
            )
            .metric_data_results(
                MetricDataResult::builder()
                    .id("m0")
                    .values(50.0)
                    .timestamps(at)
                    .build(),
            )
            .build()
    });
    let mut aws = aws(EcsTarget::default()).await;
    aws.cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&metrics], |c| c
        .region(aws_sdk_cloudwatch::config::Region::new(REGION)));
    let calls = aws.calls.clone();
    aws.ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [
            &list_services,
            &describe_services,
            &describe_definition,
            &list_tasks,
            &list_instances
        ],
        |c| c
            .region(aws_sdk_ecs::config::Region::new(REGION))
            .retry_config(
                aws_sdk_ecs::config::retry::RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
            )
            .interceptor(calls.clone())
    );
    let mut refresher = Refresher::default();
    let mut data = ClusterData::default();

    let first = refresher.refresh(&aws, "dotkom").await;
    assert_eq!(
        list_tasks.num_calls(),
        5,
        "the client backs off and retries"
    );
    let error = first.errors.get(&Section::Tasks).expect("tasks failed");
    assert!(
        error.contains("ThrottlingException: Rate exceeded"),
        "{error}"
    );
    assert!(!first.errors.contains_key(&Section::Services));
    data.apply(first, chrono::Utc::now());
    let service = data.service("web-prod").expect("services still read");
    let primary = &service.deployments[0];
    assert_eq!(
        (primary.status.as_str(), primary.task_definition.as_str()),
        ("PRIMARY", "web-prod:8")
    );
    assert_eq!(primary.rollout_state.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(
        (primary.running, primary.desired, primary.pending),
        (1, 2, 1)
    );
    assert_eq!(
        service.deployments[1].rollout_state.as_deref(),
        Some("COMPLETED")
    );
    assert_eq!(
        service.events[0].message,
        "(service web-prod) has started 1 tasks: (task 5a3c)."
    );
    assert_eq!(
        service.placement,
        ["spread(attribute:ecs.availability-zone)", "binpack(memory)"]
    );
    assert_eq!(
        (service.cpu_units, service.memory_mib),
        (Some(512), Some(1024))
    );
    // Usage: utilization of what the 3 running tasks reserve (3 × 0.5 vCPU, 3 × 1 GiB).
    assert_eq!(data.usage(service), (Some(56.25), Some(3 << 29)));
    assert_eq!(metrics.num_calls(), 1);

    let second = refresher.refresh(&aws, "dotkom").await;
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    data.apply(second, chrono::Utc::now());
    assert!(data.errors.is_empty());
    // Task definitions are read once, metrics once a minute: the second refresh asked neither.
    assert_eq!(describe_definition.num_calls(), 1);
    assert_eq!(metrics.num_calls(), 1);
}

/// DescribeServices during a rollout to web-prod:9, as ECS answers it at each poll.
fn rollout(primary: &str, state: &str, reason: &str, running: i32) -> String {
    format!(
        r#"{{"failures":[],"services":[{{"serviceArn":"arn:aws:ecs:eu-north-1:891459268445:service/dotkom/web-prod","serviceName":"web-prod","status":"ACTIVE","desiredCount":2,"runningCount":2,"pendingCount":0,"taskDefinition":"arn:aws:ecs:eu-north-1:891459268445:task-definition/{primary}","deployments":[{{"id":"ecs-svc/2","status":"PRIMARY","taskDefinition":"arn:aws:ecs:eu-north-1:891459268445:task-definition/{primary}","desiredCount":2,"pendingCount":0,"runningCount":{running},"failedTasks":0,"rolloutState":"{state}","rolloutStateReason":"{reason}"}}],"events":[{{"id":"e1","createdAt":1.79541006e9,"message":"(service web-prod) {reason}"}}]}}]}}"#
    )
}

async fn rollout_client(responses: Vec<String>) -> (Aws, aws_smithy_mocks::Rule) {
    let mut sequence = mock!(aws_sdk_ecs::Client::describe_services).sequence();
    for body in responses {
        sequence = sequence.http_status(200, Some(body));
    }
    let describe = sequence.build();
    let definition = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .sequence()
        .http_status(200, Some(DESCRIBE_TASK_DEFINITION.into()))
        .repeatedly()
        .build();
    let mut aws = aws(EcsTarget::default()).await;
    aws.ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&describe, &definition],
        |c| c.region(aws_sdk_ecs::config::Region::new(REGION))
    );
    (aws, describe)
}

#[tokio::test]
async fn a_rollout_is_followed_until_ecs_calls_it_completed() {
    use dokk::backend::deploy::ecs::{Outcome, wait};
    let (aws, describe) = rollout_client(vec![
        rollout(
            "web-prod:9",
            "IN_PROGRESS",
            "ECS deployment ecs-svc/2 in progress.",
            0,
        ),
        rollout(
            "web-prod:9",
            "IN_PROGRESS",
            "ECS deployment ecs-svc/2 in progress.",
            1,
        ),
        rollout(
            "web-prod:9",
            "COMPLETED",
            "ECS deployment ecs-svc/2 completed.",
            2,
        ),
    ])
    .await;
    let mut seen = Vec::new();
    let outcome = wait(
        &aws,
        "dotkom",
        "web-prod",
        "web-prod:9",
        std::time::Duration::from_millis(1),
        std::time::Duration::from_secs(30),
        |s| seen.push(s.deployments[0].running),
    )
    .await
    .expect("wait");
    assert_eq!(outcome, Outcome::Stable);
    assert_eq!(seen, [0, 1, 2]);
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn a_failed_rollout_and_a_circuit_breaker_rollback_are_failures_with_the_reason() {
    use dokk::backend::deploy::ecs::{Outcome, wait};
    let failed = "ECS deployment circuit breaker: tasks failed to start.";
    let (aws, _) = rollout_client(vec![
        rollout("web-prod:9", "IN_PROGRESS", "in progress", 0),
        rollout("web-prod:9", "FAILED", failed, 0),
    ])
    .await;
    let outcome = wait(
        &aws,
        "dotkom",
        "web-prod",
        "web-prod:9",
        std::time::Duration::from_millis(1),
        std::time::Duration::from_secs(30),
        |_| {},
    )
    .await
    .expect("wait");
    assert_eq!(outcome, Outcome::Failed(failed.into()));

    // With rollback enabled on the circuit breaker, ECS itself goes back to :8.
    let (aws, _) = rollout_client(vec![rollout(
        "web-prod:8",
        "IN_PROGRESS",
        "rolling back",
        1,
    )])
    .await;
    let outcome = wait(
        &aws,
        "dotkom",
        "web-prod",
        "web-prod:9",
        std::time::Duration::from_millis(1),
        std::time::Duration::from_secs(30),
        |_| {},
    )
    .await
    .expect("wait");
    assert!(
        matches!(&outcome, Outcome::Failed(reason) if reason.contains("web-prod:8")),
        "{outcome:?}"
    );
}
