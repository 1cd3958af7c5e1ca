//! The subcommands: clap arguments, printing and the terminal prompt (`deploy` and
//! `rollback` ask on a terminal unless `--yes`; `exec` and `ssm` hand it over), on the same
//! engine as the console, for scripts and CI.

mod capacity;
mod confirm;
mod deploy;
mod ecs;
mod interrupt;
mod logs;
mod session;
mod status;
mod swarm;

pub use capacity::{CapacityArgs, CapacityError, run_capacity};
pub use deploy::{
    DeployArgs, HistoryArgs, NodeAction, NodeArgs, RollbackArgs, RolloutArgs, RolloutCommand,
    ScaleArgs, exit_code as rollout_exit_code, run_history, run_recover, run_rollout,
};
pub use ecs::{EcsStatusJson, ecs_status_json, load_cluster, print_ecs_status};
pub use logs::{LogsArgs, LogsError, parse_since, run_logs};
pub use session::{ExecArgs, SessionCliError, run_exec, run_ssm};
pub use status::{ServiceJson, StatusJson, load_fleet, print_status, run_status, status_json};
pub use swarm::{
    SwarmCapacityJson, SwarmStatusJson, load_swarm, print_swarm_capacity, print_swarm_status,
    swarm_capacity, swarm_status_json,
};
