//! The `slp-host` command: run the server, validate the configuration, or
//! signal a running server (spec §15.1).

use std::process::ExitCode;

use slp_host::cli::{self, Command};
use slp_host::config::Config;
use slp_host::pidfile::{self, PidFile};
use slp_host::server::Server;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("slp-host: {e}\n\n{}", cli::usage());
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match command {
        Command::Help => {
            println!("{}", cli::usage());
            ExitCode::SUCCESS
        }
        Command::Test { config } => match config.load() {
            Ok(c) => {
                for w in &c.warnings {
                    eprintln!("slp-host: warning: {w}");
                }
                println!("slp-host: configuration {} is valid", c.config_path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("slp-host: {e}");
                ExitCode::from(1)
            }
        },
        Command::Signal { config, signal } => {
            let config = match config.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("slp-host: {e}");
                    return ExitCode::from(1);
                }
            };
            match pidfile::send_signal(&config.pid_file, signal) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("slp-host: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Sub { name, args } if name == "slpm" => slp_host::slpm_cli::main(args),
        Command::Sub { name, args } if name == "test" => slp_host::scenario::cli::test_main(args),
        Command::Sub { name, args } if name == "scenario" => slp_host::scenario::cli::scenario_main(args),
        Command::Sub { name, .. } => {
            eprintln!("slp-host: unknown command {name:?}\n\n{}", cli::usage());
            ExitCode::from(cli::EXIT_USAGE as u8)
        }
        Command::Run { config } => match config.load() {
            Ok(c) => run(c),
            Err(e) => {
                eprintln!("slp-host: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn run(config: Config) -> ExitCode {
    let _pid = match PidFile::acquire(&config.pid_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("slp-host: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = init_logging(&config) {
        eprintln!("slp-host: cannot open the log: {e}");
        return ExitCode::from(1);
    }
    for w in &config.warnings {
        tracing::warn!(target: "main", "{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("slp-host: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let server = match Server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "main", "startup failed: {e:#}");
                eprintln!("slp-host: startup failed: {e:#}");
                return ExitCode::from(1);
            }
        };
        println!(
            "slp-host ready: ws://{}/rtc?userid=<id>  management API http://{}",
            server.rtc_addr, server.api_addr
        );
        wait_for_stop().await;
        tracing::info!(target: "main", "stopping");
        server.stop().await;
        ExitCode::SUCCESS
    })
}

/// Waits for SIGINT, SIGQUIT or SIGTERM. (Graceful drain and reload arrive
/// with the operations issue; for now every stop closes sockets with 1001.)
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut streams = Vec::new();
    for kind in [SignalKind::interrupt(), SignalKind::quit(), SignalKind::terminate()] {
        if let Ok(s) = signal(kind) {
            streams.push(s);
        }
    }
    let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
    futures_util::future::select_all(waits).await;
}

fn init_logging(config: &Config) -> std::io::Result<()> {
    slp_host::logging::init(config)
}
