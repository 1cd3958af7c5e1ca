//! The ECS backend against a local AWS endpoint (the moto server, started by tests/run):
//! what dokk reports equals what was seeded and what the API says.

mod common;

use common::Dokk;
use common::ecs::{aws_env, ecs_client, endpoint, seed};
use serde_json::Value;

fn configure(dokk: &Dokk, cluster: &str) {
    std::fs::write(
        dokk.config(),
        format!(
            "[contexts.aws]\nkind = \"ecs\"\nregion = \"{}\"\ncluster = \"{cluster}\"\nendpoint_url = \"{}\"\n",
            common::ecs::REGION,
            endpoint()
        ),
    )
    .expect("config");
}

fn status(dokk: &Dokk, cluster: &str) -> Value {
    configure(dokk, cluster);
    let output = dokk
        .command()
        .envs(aws_env())
        .args(["status", "--context", "aws", "--json"])
        .output()
        .expect("dokk runs");
    assert!(
        output.status.success(),
        "dokk status: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_seeded_cluster() {
    let _moto = common::ecs::exclusive().await;
    let cluster = format!("dotkom-{}", std::process::id());
    let seeded = seed(&cluster).await;
    let dokk = Dokk::new();
    let json = tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || status(&dokk, &cluster)
    })
    .await
    .expect("status");
    assert_eq!(json["kind"], "ecs");
    assert_eq!(json["cluster"], cluster.as_str());

    let services = json["services"].as_array().expect("services");
    assert_eq!(services.len(), seeded.services.len());
    for (name, task_definition, desired) in &seeded.services {
        let service = services
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            service["task_definition"],
            task_definition.as_str(),
            "{service:#}"
        );
        assert_eq!(service["replicas_total"], *desired);
        assert_eq!(
            service["env"],
            if name.ends_with("prod") {
                "prod"
            } else {
                "staging"
            }
        );
        assert!(
            service["image"]
                .as_str()
                .is_some_and(|i| i.ends_with(":v3")),
            "{service:#}"
        );
        let per_task = if name.starts_with("gradestats") {
            256
        } else {
            512
        };
        assert_eq!(service["cpu_units_per_task"], per_task);
    }

    // Nodes: as seeded, and registered/remaining exactly as the API describes them.
    let nodes = json["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    let client = ecs_client().await;
    let arns = client
        .list_container_instances()
        .cluster(&cluster)
        .send()
        .await
        .expect("list");
    let described = client
        .describe_container_instances()
        .cluster(&cluster)
        .set_container_instances(Some(arns.container_instance_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    for (instance_id, zone) in &seeded.instances {
        let node = nodes
            .iter()
            .find(|n| n["instance_id"] == instance_id.as_str())
            .expect("seeded node");
        assert_eq!(node["availability_zone"], zone.as_str());
        assert_eq!(node["instance_type"], "t3.small");
        assert_eq!(node["agent_connected"], true);
        let truth = described
            .container_instances()
            .iter()
            .find(|c| c.ec2_instance_id() == Some(instance_id.as_str()))
            .expect("described");
        let value = |list: &[aws_sdk_ecs::types::Resource], name: &str| {
            list.iter()
                .find(|r| r.name() == Some(name))
                .map(|r| r.integer_value)
                .expect("resource")
        };
        assert_eq!(
            node["registered_cpu_units"],
            value(truth.registered_resources(), "CPU")
        );
        assert_eq!(
            node["registered_memory_mib"],
            value(truth.registered_resources(), "MEMORY")
        );
        assert_eq!(
            node["remaining_cpu_units"],
            value(truth.remaining_resources(), "CPU")
        );
        assert_eq!(
            node["remaining_memory_mib"],
            value(truth.remaining_resources(), "MEMORY")
        );
    }
    // Tasks: each service's own, by id; ALB targets joined to them by IP.
    for (name, _, desired) in &seeded.services {
        let service = services
            .iter()
            .find(|s| s["name"] == name.as_str())
            .expect("service");
        let mut ids: Vec<&str> = service["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter_map(|t| t["id"].as_str())
            .collect();
        ids.sort();
        let mut seeded_ids: Vec<&str> = seeded
            .tasks
            .iter()
            .filter(|t| &t.service == name)
            .map(|t| t.id.as_str())
            .collect();
        seeded_ids.sort();
        assert_eq!(ids, seeded_ids, "{name}");
        assert_eq!(ids.len(), *desired as usize);
        let targets = service["targets"].as_array().expect("targets");
        if seeded.target_groups.iter().any(|(s, _)| s == name) {
            for task in seeded.tasks.iter().filter(|t| &t.service == name) {
                let target = targets
                    .iter()
                    .find(|t| t["id"] == task.ip.as_str())
                    .unwrap_or_else(|| panic!("no target for {} in {targets:?}", task.ip));
                assert_eq!(target["state"], "healthy");
                assert_eq!(target["port"], 3000);
            }
            assert_eq!(targets.len(), *desired as usize);
        } else {
            assert!(targets.is_empty(), "{name}: {targets:?}");
        }
    }
    // moto (5.2) does not serve CloudWatch's current protocol (Smithy RPC v2 CBOR, which the
    // SDK speaks): GetMetricData gets a 404 there. Every other part must have been read.
    let errors = json["errors"].as_object().expect("errors");
    assert!(errors.keys().all(|k| k == "metrics"), "{errors:#?}");

    let registered: i64 = nodes
        .iter()
        .map(|n| n["registered_cpu_units"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(json["host"]["cpu_units"], registered);
}

#[test]
fn an_unknown_cluster_is_a_clear_error() {
    let dokk = Dokk::new();
    std::fs::write(
        dokk.config(),
        format!("[contexts.aws]\nkind = \"ecs\"\nregion = \"eu-north-1\"\ncluster = \"nowhere-{}\"\nendpoint_url = \"{}\"\n", std::process::id(), endpoint()),
    )
    .expect("config");
    let output = dokk
        .command()
        .envs(aws_env())
        .args(["status", "--context", "aws"])
        .output()
        .expect("dokk runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ListServices failed") && stderr.contains("ClusterNotFound"),
        "{stderr}"
    );
}

/// `dokk logs` reads the task's own stream (`prefix/container/task-id`), not the group's first
/// stream, and a service's logs merge its tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_come_from_the_tasks_own_streams() {
    let _moto = common::ecs::exclusive().await;
    let cluster = format!("logs-{}", std::process::id());
    let seeded = seed(&cluster).await;
    let dokk = Dokk::new();
    configure(&dokk, &cluster);
    let service = "gradestats-web-prod";
    let tasks: Vec<_> = seeded
        .tasks
        .iter()
        .filter(|t| t.service == service)
        .collect();
    assert_eq!(tasks.len(), 2);
    let logs = |args: Vec<String>| {
        let output = dokk
            .command()
            .envs(aws_env())
            .args(["logs", "--context", "aws"])
            .args(args)
            .output()
            .expect("dokk runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    // Blocking calls in a multi-threaded test runtime: nothing else runs on it meanwhile.
    let one = logs(vec![
        service.into(),
        "--task".into(),
        tasks[0].id[..8].to_string(),
    ]);
    let printed: Vec<&str> = one
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, m)| m))
        .collect();
    assert_eq!(printed, tasks[0].lines, "{one}");

    let all = logs(vec![service.into()]);
    assert!(!all.contains("decoy"), "{all}");
    for task in &tasks {
        for line in &task.lines {
            assert!(all.contains(line.as_str()), "{line} missing from {all}");
        }
    }
    assert_eq!(all.lines().count(), 6, "{all}");
}

/// Not a test: seeds the demo cluster for `demo/run-ecs` and leaves it in moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds the demo cluster; run by demo/run-ecs"]
async fn seed_demo_cluster() {
    let _moto = common::ecs::exclusive().await;
    let seeded = seed("dotkom-demo").await;
    println!(
        "seeded cluster {} with {} services and {} tasks",
        seeded.cluster,
        seeded.services.len(),
        seeded.tasks.len()
    );
}

/// A full refresh costs the minimum: one list page a kind, describes batched, task definitions
/// read once, metrics once a minute. Counted by dokk's own request counter on a real endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_costs_the_minimum_of_requests() {
    let _moto = common::ecs::exclusive().await;
    let cluster = format!("calls-{}", std::process::id());
    let seeded = seed(&cluster).await;
    let target = dokk::config::EcsTarget {
        profile: None,
        region: Some(common::ecs::REGION.into()),
        cluster: Some(cluster.clone()),
        endpoint_url: Some(endpoint()),
    };
    let aws = dokk::backend::ecs::Aws::from_config(&common::ecs::aws_config().await, target);
    let mut refresher = dokk::backend::ecs::Refresher::default();
    refresher.refresh(&aws, &cluster).await;
    let first = aws.calls.take();
    assert_eq!(first.get("DescribeTaskDefinition"), Some(&4), "{first:?}");
    refresher.refresh(&aws, &cluster).await;
    let second = aws.calls.take();
    let services = seeded.services.len() as u64;
    let expected: std::collections::BTreeMap<String, u64> = [
        ("ListServices", 1),
        ("DescribeServices", services.div_ceil(10)),
        ("ListTasks", 2),
        ("DescribeTasks", 1),
        ("ListContainerInstances", 1),
        ("DescribeContainerInstances", 1),
        ("DescribeTargetHealth", seeded.target_groups.len() as u64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(second, expected);
}
