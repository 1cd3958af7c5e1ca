//! Non-interactive subcommands: the same engine as the console, for scripts and CI.

mod logs;
mod status;

pub use logs::{LogsArgs, LogsError, parse_since, run_logs};
pub use status::{ServiceJson, StatusJson, load_fleet, print_status, status_json};
