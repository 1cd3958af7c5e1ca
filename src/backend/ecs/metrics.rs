//! Service-level CPUUtilization and MemoryUtilization from CloudWatch (AWS/ECS, one-minute
//! averages): what the services use of what their tasks reserve. The data is minutes old,
//! so the time of the newest datapoint comes with each value.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Aws, EcsError, failed, to_chrono};

/// GetMetricData takes at most 500 queries a call; two a service.
const SERVICES_PER_CALL: usize = 250;
const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ServiceMetrics {
    /// Percent of the reserved CPU the service's tasks use (can exceed 100).
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    /// When the newest of the two datapoints was taken.
    pub at: Option<DateTime<Utc>>,
}

/// The newest datapoint of each service's CPU and memory utilization, by service name.
pub async fn load_metrics(
    aws: &Aws,
    cluster: &str,
    services: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, ServiceMetrics>, EcsError> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
    let mut metrics: HashMap<String, ServiceMetrics> = HashMap::new();
    let start = aws_smithy_types::DateTime::from_secs((now - WINDOW).timestamp());
    let end = aws_smithy_types::DateTime::from_secs(now.timestamp());
    for chunk in services.chunks(SERVICES_PER_CALL) {
        let mut queries = Vec::with_capacity(chunk.len() * 2);
        for (i, service) in chunk.iter().enumerate() {
            for (prefix, metric) in [("c", "CPUUtilization"), ("m", "MemoryUtilization")] {
                let stat = MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/ECS")
                            .metric_name(metric)
                            .dimensions(
                                Dimension::builder()
                                    .name("ClusterName")
                                    .value(cluster)
                                    .build(),
                            )
                            .dimensions(
                                Dimension::builder()
                                    .name("ServiceName")
                                    .value(service)
                                    .build(),
                            )
                            .build(),
                    )
                    .period(60)
                    .stat("Average")
                    .build();
                queries.push(
                    MetricDataQuery::builder()
                        .id(format!("{prefix}{i}"))
                        .metric_stat(stat)
                        .build(),
                );
            }
        }
        let mut pages = aws
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(start)
            .end_time(end)
            .scan_by(ScanBy::TimestampDescending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(failed("GetMetricData"))?;
            for result in page.metric_data_results() {
                let Some(id) = result.id() else { continue };
                let (kind, index) = id.split_at(1);
                let Some(service) = index.parse::<usize>().ok().and_then(|i| chunk.get(i)) else {
                    continue;
                };
                // Newest first (TimestampDescending); a later page never holds a newer one.
                let (Some(value), Some(at)) =
                    (result.values().first(), result.timestamps().first())
                else {
                    continue;
                };
                let entry = metrics.entry(service.clone()).or_default();
                let slot = if kind == "c" {
                    &mut entry.cpu_percent
                } else {
                    &mut entry.memory_percent
                };
                if slot.is_none() {
                    *slot = Some(*value);
                    entry.at = entry.at.max(to_chrono(at));
                }
            }
        }
    }
    Ok(metrics)
}
