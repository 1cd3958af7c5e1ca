//! A seeder for a local AWS endpoint (the moto server): a cluster like seed 001 — nodes in
//! three AZs, services in prod + staging with several task-definition revisions.

use std::io::{Read, Write};
use std::net::TcpStream;

use aws_sdk_ecs::types::{ContainerDefinition, PortMapping};

pub const REGION: &str = "eu-north-1";

/// The moto server tests/run starts; its address can be moved with DOKK_TEST_MOTO.
pub fn endpoint() -> String {
    std::env::var("DOKK_TEST_MOTO").unwrap_or_else(|_| "http://127.0.0.1:5055".to_string())
}

/// Sets the fake credentials and region every AWS client of the test process uses.
pub fn aws_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

pub async fn ecs_client() -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&aws_config().await)
}

/// A plain HTTP/1.1 POST to the moto server; returns the whole response.
fn http_post(path: &str, headers: &str, body: &str) -> String {
    let endpoint = endpoint();
    let address = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n{headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(&address)
        .unwrap_or_else(|e| panic!("no moto server at {endpoint} ({e}): tests/run starts one"));
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    response
}

/// Tests that seed moto take turns: a seed resets the server.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static MOTO: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    MOTO.lock().await
}

/// Forgets everything moto holds, so a test starts from what it seeds.
pub fn reset() {
    let response = http_post("/moto-api/reset", "", "");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "moto reset: {response}"
    );
}

/// A raw EC2 query call (no EC2 SDK: it is the largest crate there is). moto routes on the
/// credential scope and does not check signatures.
fn ec2(params: &[(&str, &str)]) -> String {
    let mut body = String::from("Version=2016-11-15");
    for (key, value) in params {
        body.push('&');
        body.push_str(key);
        body.push('=');
        body.push_str(&value.replace(' ', "+"));
    }
    let auth = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    let response = http_post("/", &auth, &body);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "EC2 {params:?}: {response}"
    );
    response
}

fn first_tag(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let end = xml[start..].find('<').map_or(xml.len(), |i| start + i);
    xml[start..end].to_string()
}

/// Starts one EC2 instance of `instance_type` in `zone`; returns its id.
pub fn run_instance(instance_type: &str, zone: &str) -> String {
    let image = first_tag(&ec2(&[("Action", "DescribeImages")]), "imageId");
    let response = ec2(&[
        ("Action", "RunInstances"),
        ("ImageId", &image),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("InstanceType", instance_type),
        ("Placement.AvailabilityZone", zone),
    ]);
    first_tag(&response, "instanceId")
}

pub struct Seeded {
    pub cluster: String,
    pub instances: Vec<(String, String)>,
    /// Service name → (family:revision it runs, desired count).
    pub services: Vec<(String, String, i32)>,
    pub tasks: Vec<SeededTask>,
    /// Service name → its target group's ARN (prod services sit behind the ALB).
    pub target_groups: Vec<(String, String)>,
}

pub struct SeededTask {
    pub service: String,
    pub id: String,
    pub ip: String,
    /// The log lines written to this task's own stream.
    pub lines: Vec<String>,
}

pub fn aws_config() -> impl std::future::Future<Output = aws_config::SdkConfig> {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
}

/// Seed 001 in small: three t3.small nodes in three AZs; two apps in prod + staging, each with
/// three task-definition revisions (the service runs the newest); awslogs configured.
pub async fn seed(cluster: &str) -> Seeded {
    reset();
    // moto moves a task one state on (RUNNING → DEACTIVATING → … → STOPPED) each time it is
    // described; tasks here stay RUNNING as a service's would.
    let response = http_post(
        "/moto-api/state-manager/set-transition",
        "",
        r#"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000000}}"#,
    );
    assert!(
        response.starts_with("HTTP/1.1 20"),
        "set-transition: {response}"
    );
    let client = ecs_client().await;
    client
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("CreateCluster");
    let mut instances = Vec::new();
    for zone in ["a", "b", "c"] {
        let zone = format!("{REGION}{zone}");
        let id = run_instance("t3.small", &zone);
        let document = format!(
            r#"{{"instanceId":"{id}","region":"{REGION}","availabilityZone":"{zone}","instanceType":"t3.small"}}"#
        );
        client
            .register_container_instance()
            .cluster(cluster)
            .instance_identity_document(document)
            .send()
            .await
            .expect("RegisterContainerInstance");
        instances.push((id, zone));
    }
    let vpc = first_tag(&ec2(&[("Action", "DescribeVpcs")]), "vpcId");
    let subnets = ec2(&[
        ("Action", "DescribeSubnets"),
        ("Filter.1.Name", "availability-zone"),
        ("Filter.1.Value.1", &format!("{REGION}a")),
    ]);
    let subnet = first_tag(&subnets, "subnetId");
    let security_group = first_tag(&ec2(&[("Action", "DescribeSecurityGroups")]), "groupId");
    let config = aws_config().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let mut services = Vec::new();
    let mut tasks = Vec::new();
    let mut target_groups = Vec::new();
    for (app, cpu, memory) in [
        ("gradestats-web", 256, 512),
        ("vengeful-vineyard", 512, 1024),
    ] {
        for (env, desired) in [("prod", 2), ("staging", 1)] {
            let family = format!("{app}-{env}");
            let mut latest = String::new();
            for revision in 1..=3 {
                let container = ContainerDefinition::builder()
                    .name(app)
                    .image(format!(
                        "891459268445.dkr.ecr.{REGION}.amazonaws.com/{app}:v{revision}"
                    ))
                    .cpu(cpu)
                    .memory(memory)
                    .port_mappings(PortMapping::builder().container_port(3000).build())
                    .log_configuration(
                        aws_sdk_ecs::types::LogConfiguration::builder()
                            .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
                            .options("awslogs-group", format!("/ecs/{family}"))
                            .options("awslogs-region", REGION)
                            .options("awslogs-stream-prefix", "ecs")
                            .build()
                            .expect("log configuration"),
                    )
                    .build();
                let output = client
                    .register_task_definition()
                    .family(&family)
                    .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                    .container_definitions(container)
                    .send()
                    .await
                    .expect("RegisterTaskDefinition");
                latest = output
                    .task_definition()
                    .and_then(|d| d.task_definition_arn())
                    .expect("arn")
                    .to_string();
            }
            let mut create = client
                .create_service()
                .cluster(cluster)
                .service_name(&family)
                .task_definition(&latest)
                .desired_count(desired)
                .enable_execute_command(env == "prod");
            let target_group = if env == "prod" {
                let output = elb
                    .create_target_group()
                    .name(format!("{app}-prod").chars().take(32).collect::<String>())
                    .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                    .port(3000)
                    .vpc_id(&vpc)
                    .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
                    .send()
                    .await
                    .expect("CreateTargetGroup");
                let arn = output.target_groups()[0]
                    .target_group_arn()
                    .expect("target group ARN")
                    .to_string();
                create = create.load_balancers(
                    aws_sdk_ecs::types::LoadBalancer::builder()
                        .target_group_arn(&arn)
                        .container_name(app)
                        .container_port(3000)
                        .build(),
                );
                target_groups.push((family.clone(), arn.clone()));
                Some(arn)
            } else {
                None
            };
            create.send().await.expect("CreateService");
            // moto starts no tasks for a service: run them as the service would, in its group.
            let run = client
                .run_task()
                .cluster(cluster)
                .task_definition(&latest)
                .count(desired)
                .group(format!("service:{family}"))
                .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
                .network_configuration(
                    aws_sdk_ecs::types::NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                                .subnets(&subnet)
                                .security_groups(&security_group)
                                .build()
                                .expect("awsvpc configuration"),
                        )
                        .build(),
                )
                .send()
                .await
                .expect("RunTask");
            let group = format!("/ecs/{family}");
            logs.create_log_group()
                .log_group_name(&group)
                .send()
                .await
                .expect("CreateLogGroup");
            // A stream that sorts first in the group and is no task's: the lines a tool that
            // reads "the first stream" would show.
            put_lines(
                &logs,
                &group,
                &format!("ecs/{app}/0000-not-a-task"),
                &["decoy line".to_string()],
            )
            .await;
            for task in run.tasks() {
                let arn = task.task_arn().expect("task ARN");
                let id = arn.rsplit('/').next().unwrap_or(arn).to_string();
                let ip = task
                    .attachments()
                    .iter()
                    .flat_map(|a| a.details())
                    .find(|d| d.name() == Some("privateIPv4Address"))
                    .and_then(|d| d.value())
                    .expect("task IP")
                    .to_string();
                if let Some(arn) = &target_group {
                    elb.register_targets()
                        .target_group_arn(arn)
                        .targets(
                            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                                .id(&ip)
                                .port(3000)
                                .build(),
                        )
                        .send()
                        .await
                        .expect("RegisterTargets");
                }
                let lines: Vec<String> = (1..=3)
                    .map(|n| format!("GET /health 200 from task {id} line {n}"))
                    .collect();
                put_lines(&logs, &group, &format!("ecs/{app}/{id}"), &lines).await;
                tasks.push(SeededTask {
                    service: family.clone(),
                    id,
                    ip,
                    lines,
                });
            }
            // The newest revision: moto keeps earlier runs' revisions unless it was reset.
            let revision = latest.rsplit('/').next().unwrap_or(&latest).to_string();
            services.push((family.clone(), revision, desired));
        }
    }
    Seeded {
        cluster: cluster.to_string(),
        instances,
        services,
        tasks,
        target_groups,
    }
}

/// Writes lines to a log stream, one second apart and ending a minute ago.
pub async fn put_lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    lines: &[String],
) {
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("CreateLogStream");
    let start = chrono::Utc::now().timestamp_millis() - 60_000 - lines.len() as i64 * 1000;
    let events = lines.iter().enumerate().map(|(i, line)| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(start + i as i64 * 1000)
            .message(line)
            .build()
            .expect("log event")
    });
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events.collect()))
        .send()
        .await
        .expect("PutLogEvents");
}

/// A large cluster for the request-count benchmark: `services` services sharing one small task
/// definition, `tasks` tasks spread over them (run in each service's group), on enough nodes.
pub async fn seed_large(cluster: &str, services: usize, tasks: usize) {
    reset();
    let response = http_post(
        "/moto-api/state-manager/set-transition",
        "",
        r#"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000000}}"#,
    );
    assert!(
        response.starts_with("HTTP/1.1 20"),
        "set-transition: {response}"
    );
    let client = ecs_client().await;
    client
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("CreateCluster");
    // moto registers 4096 units and 7482 MiB a node; a task here asks 1 unit and 4 MiB.
    let nodes = (tasks * 4).div_ceil(7000).max(1);
    for i in 0..nodes {
        let zone = format!("{REGION}{}", ["a", "b", "c"][i % 3]);
        let id = run_instance("t3.small", &zone);
        let document = format!(
            r#"{{"instanceId":"{id}","region":"{REGION}","availabilityZone":"{zone}","instanceType":"t3.small"}}"#
        );
        client
            .register_container_instance()
            .cluster(cluster)
            .instance_identity_document(document)
            .send()
            .await
            .expect("RegisterContainerInstance");
    }
    let definition = client
        .register_task_definition()
        .family("bench")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("bench:1")
                .cpu(1)
                .memory(4)
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .expect("arn")
        .to_string();
    for s in 0..services {
        let name = format!("svc-{s:05}");
        let count = tasks / services + usize::from(s < tasks % services);
        client
            .create_service()
            .cluster(cluster)
            .service_name(&name)
            .task_definition(&definition)
            .desired_count(i32::try_from(count).unwrap_or(i32::MAX))
            .send()
            .await
            .expect("CreateService");
        let mut left = count;
        while left > 0 {
            let batch = left.min(10);
            client
                .run_task()
                .cluster(cluster)
                .task_definition(&definition)
                .count(i32::try_from(batch).unwrap_or(10))
                .group(format!("service:{name}"))
                .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
                .send()
                .await
                .expect("RunTask");
            left -= batch;
        }
    }
}
