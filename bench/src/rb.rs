//! The server's own limit: `redis-benchmark` with the same command shape and
//! payload, run from the harness (so on the harness's core).

use std::process::Command;

use crate::BenchError;

/// One `redis-benchmark` shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RbShape {
    /// Parallel connections (`-c`).
    pub clients: u32,
    /// Pipeline depth (`-P`).
    pub pipeline: u32,
    /// The command and its arguments (`__rand_int__` is replaced by redis-benchmark).
    pub command: Vec<String>,
}

impl RbShape {
    /// `redis-benchmark -c clients -P pipeline <command>`.
    pub fn new(clients: u32, pipeline: u32, command: Vec<String>) -> RbShape {
        RbShape {
            clients,
            pipeline,
            command,
        }
    }

    /// The shape as a short command line, payloads abbreviated.
    pub fn describe(&self) -> String {
        let mut args = Vec::new();
        for a in &self.command {
            if a.len() > 24 {
                args.push(format!("<{} B>", a.len()));
            } else {
                args.push(a.clone());
            }
        }
        let shown = if args.len() > 8 {
            format!("{} … ({} args)", args[..4].join(" "), args.len())
        } else {
            args.join(" ")
        };
        format!("-c {} -P {} {}", self.clients, self.pipeline, shown)
    }
}

/// Whether `redis-benchmark` is on `PATH`.
pub fn available() -> bool {
    Command::new("redis-benchmark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `requests` commands of `shape` against `port`; commands per second.
pub fn run(port: u16, shape: &RbShape, requests: u64) -> Result<f64, BenchError> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", &shape.clients.to_string()])
        .args(["-P", &shape.pipeline.to_string()])
        .args(["-n", &requests.to_string()])
        .args(["-r", "100000", "--csv"])
        .args(&shape.command)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    parse_csv(&stdout).ok_or_else(|| {
        format!(
            "cannot parse redis-benchmark output: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into()
    })
}

/// The `rps` column of `redis-benchmark --csv`.
fn parse_csv(out: &str) -> Option<f64> {
    let (header, body) = out.trim().split_once('\n')?;
    let columns: Vec<&str> = header.split(',').map(|h| h.trim_matches('"')).collect();
    let column = columns.iter().position(|&h| h == "rps")?;
    // The test name (the first column) may hold commas, quotes and newlines:
    // read the numeric fields from the end of the row.
    let from_end = columns.len() - 1 - column;
    let fields: Vec<&str> = body.trim_end().rsplitn(columns.len(), ',').collect();
    fields.get(from_end)?.trim_matches('"').parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_rps_column() {
        let out = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"HSET k a,b\n1\",\"30769.23\",\"0.031\",\"0.008\",\"0.023\",\"0.055\",\"0.063\",\"0.159\"\n";
        assert_eq!(super::parse_csv(out), Some(30769.23));
    }
}
