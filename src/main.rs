//! The `xinhuoban` command: `serve` (default), `migrate`, `spec`, `admin create`, `demo places`,
//! `demo points`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xinhuoban::app;
use xinhuoban::config::Config;
use xinhuoban::domain::identity::{NewPassword, Username};
use xinhuoban::service::staff::{self, StaffSpec};
use xinhuoban::state::AppState;

/// mimalloc instead of glibc's allocator: a request allocates many small short-lived values (rows,
/// strings, JSON), which glibc's allocator serves slowly under threads (its consolidation showed
/// in profiles of the points pages); see benches/points.sh for the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "xinhuoban",
    version,
    about = "Backend of the xinhuoban (新伙伴) mini-program. Configured by XHB_* variables; see README.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print the OpenAPI spec as YAML (what api-spec/openapi.yaml holds).
    Spec,
    /// Manage staff accounts from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Demo and benchmark data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Add generated places spread over a square around the demo city centre (for load tests).
    Places {
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Side of the square, in kilometres.
        #[arg(long, default_value_t = 50.0)]
        side_km: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Add demo riders (`demo-bench<i>`) and ledger entries among them (for benchmarks).
    Points {
        #[arg(long, default_value_t = 100_000)]
        riders: usize,
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// station_manager, clerk or city_admin
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The office, for a clerk.
        #[arg(long)]
        office_id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Spec) = cli.command {
        print!("{}", xinhuoban::api::spec_yaml());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xinhuoban: {e}");
            return ExitCode::from(2);
        }
    };
    xinhuoban::telemetry::init(config.json_logs);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain = xinhuoban::domain::error::ErrorChain(&*e);
            tracing::error!("{chain}");
            eprintln!("xinhuoban: {chain}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = xinhuoban::store::Db::connect(&config.database_url, 1, config.sqlite_synchronous).await?;
            let lock = db.setup_lock(xinhuoban::state::SETUP_PATIENCE).await?;
            let migrated = db.migrate().await;
            lock.release().await;
            migrated?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Spec => Ok(()),
        Command::Demo { command: DemoCommand::Places { count, side_km, seed } } => {
            let state = AppState::prepare(config).await?;
            let n = xinhuoban::service::places::generate(&state.places(), count, side_km, seed).await?;
            println!("generated {n} places over {side_km} km x {side_km} km");
            Ok(())
        }
        Command::Demo { command: DemoCommand::Points { riders, entries, seed } } => {
            let state = AppState::prepare(config).await?;
            let n = xinhuoban::service::points::generate(&state.points(), riders, entries, seed).await?;
            println!("generated {n} ledger entries among {riders} riders");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { username, role, display_name, office_id } } => {
            let state = AppState::prepare(config).await?;
            let password = read_password()?;
            let username = Username::parse(&username)?;
            let account = staff::register(
                &state.db,
                &state.city.id,
                StaffSpec {
                    display_name: display_name.unwrap_or_else(|| username.as_str().to_string()),
                    username,
                    password: NewPassword::parse(&password)?,
                    role: role.parse()?,
                    office_id,
                },
            )
            .await?;
            println!("created {} ({}) with id {}", account.username.unwrap_or_default(), account.role, account.id);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let bind = config.bind;
    if config.demo {
        tracing::warn!(
            "DEMO MODE: demo city, demo accounts and `demo-<name>` rider logins; loopback only. Set XHB_DEMO=false in production."
        );
    }
    let state = AppState::prepare(config).await?;
    let server = app::start(state, bind, app::shutdown_signal()).await?;
    tracing::info!("xinhuoban listening on http://{} (docs at /docs)", server.addr);
    server.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

fn read_password() -> Result<String, Box<dyn std::error::Error>> {
    eprintln!("password (8 to 128 characters), then Enter:");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
