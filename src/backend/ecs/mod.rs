//! The ECS backend: one cluster's services, tasks, container instances, ALB target health,
//! CloudWatch metrics and logs, and sessions (ECS Exec, SSM). Every list call is paginated and
//! every describe call batched to its limit; clients retry adaptively (they back off on
//! throttling), and every request is counted.

mod calls;
mod data;
mod fleet;
pub mod logs;
mod metrics;
pub mod session;
mod targets;
mod tasks;
mod watcher;

pub use calls::CallCounter;
pub use data::{ClusterData, reserved};
pub use fleet::{
    AwsLogs, ContainerSpec, EcsDeployment, EcsEvent, EcsNode, EcsService, TaskDefinitions,
    family_revision, load_nodes, load_services, service, task_definition,
};
pub use metrics::{ServiceMetrics, load_metrics};
pub use targets::{TargetHealth, load_target_health};
pub use tasks::{EcsContainer, EcsTask, load_tasks};
pub use watcher::{EcsSnapshot, Refresher, Section, spawn_ecs_watcher, watch};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::EcsTarget;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EcsError {
    #[error("{call} failed: {message}")]
    Call { call: &'static str, message: String },
    #[error("no cluster named; the account has {}: name one with `cluster = ...` in the context or `:cluster NAME`", if .0.is_empty() { "none".to_string() } else { .0.join(", ") })]
    WhichCluster(Vec<String>),
}

/// Turns an SDK error of `call` into an [`EcsError`] with the whole chain of causes.
pub fn failed<E>(
    call: &'static str,
) -> impl Fn(aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>) -> EcsError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    move |error| EcsError::Call {
        call,
        message: describe(&error),
    }
}

/// One line a person can act on: the service's error code and message, or what kept the
/// request from being answered.
pub fn describe<E>(
    error: &aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match (service.err().code(), service.err().message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => format!(
                    "HTTP {status} without an AWS error in it (is the endpoint an AWS API that serves this call?)"
                ),
            }
        }
        SdkError::TimeoutError(_) => "timed out; the endpoint did not answer in time".to_string(),
        SdkError::DispatchFailure(_) => format!(
            "could not reach the endpoint ({}); check the network, the region and endpoint_url",
            aws_sdk_ecs::error::DisplayErrorContext(error)
        ),
        SdkError::ResponseError(response) => format!(
            "HTTP {} that is not an AWS answer (is endpoint_url right?)",
            response.raw().status().as_u16()
        ),
        other => aws_sdk_ecs::error::DisplayErrorContext(other).to_string(),
    }
}

/// Every item of a paginated list call.
pub async fn every_item<T, E>(
    call: &'static str,
    items: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<T, aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>>,
    >,
) -> Result<Vec<T>, EcsError>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    items
        .collect::<Result<Vec<T>, _>>()
        .await
        .map_err(failed(call))
}

/// How many describe calls of one refresh are in flight at once: a refresh of 2,000 services
/// is 200 DescribeServices calls, too slow one after another, and still gentle on the API.
const IN_FLIGHT: usize = 8;

/// A describe call over `items` in batches of `size`, up to `IN_FLIGHT` at once; the outputs
/// in the order of the batches.
pub async fn in_batches<O, E, F, Fut>(
    call: &'static str,
    items: &[String],
    size: usize,
    send: F,
) -> Result<Vec<O>, EcsError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<
            Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>>,
        >,
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    use futures_util::{StreamExt, TryStreamExt};
    // Built up front: the stream then owns its futures and borrows nothing.
    let calls: Vec<Fut> = items
        .chunks(size)
        .map(|chunk| send(chunk.to_vec()))
        .collect();
    futures_util::stream::iter(calls)
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
        .map_err(failed(call))
}

/// The clients of one context, built from one AWS configuration (profile, region, endpoint)
/// and sharing one request counter.
#[derive(Clone, Debug)]
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub target: EcsTarget,
    /// The region the clients resolved (from the context, the profile or the environment).
    pub region: Option<String>,
    pub calls: CallCounter,
}

impl Aws {
    pub async fn connect(target: &EcsTarget) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(5));
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &target.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &target.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        Aws::from_config(&loader.load().await, target.clone())
    }

    pub fn from_config(config: &aws_config::SdkConfig, target: EcsTarget) -> Aws {
        let calls = CallCounter::default();
        Aws {
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(config)
                    .interceptor(calls.clone())
                    .build(),
            ),
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(config)
                    .interceptor(calls.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .interceptor(calls.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config)
                    .interceptor(calls.clone())
                    .build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(config)
                    .interceptor(calls.clone())
                    .build(),
            ),
            region: config.region().map(|r| r.to_string()),
            target,
            calls,
        }
    }
}

/// The cluster the context names, or the only one the account has.
pub async fn cluster_name(aws: &Aws) -> Result<String, EcsError> {
    if let Some(cluster) = &aws.target.cluster {
        return Ok(cluster.clone());
    }
    let names = cluster_names(aws).await?;
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(EcsError::WhichCluster(names)),
    }
}

/// The names of the account's clusters in the region.
pub async fn cluster_names(aws: &Aws) -> Result<Vec<String>, EcsError> {
    let arns = every_item(
        "ListClusters",
        aws.ecs.list_clusters().into_paginator().items().send(),
    )
    .await?;
    let mut names: Vec<String> = arns.iter().map(|a| last_segment(a).to_string()).collect();
    names.sort();
    Ok(names)
}

/// The part of an ARN after its last `/`: `…:task/cluster/0123abcd` → `0123abcd`.
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}
