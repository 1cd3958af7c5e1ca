//! Non-interactive subcommands: the same engine as the console, for scripts and CI.

mod logs;
mod status;

pub use logs::{LogsArgs, LogsError, parse_since, run_logs};
pub use status::{
    EcsStatusJson, ServiceJson, StatusJson, ecs_status_json, load_fleet, print_ecs_status,
    print_status, status_json,
};
