//! `stampede`: parse the command line, load settings, run one subcommand.
//! Everything else lives in the library (`stampede::…`).

use std::process::ExitCode;

use clap::Parser;
use stampede::cli::{self, Cli, Command, KeysAction};
use stampede::configuration::Settings;

fn main() -> ExitCode {
    let args = Cli::parse();
    if let Some(Command::Openapi) = args.command {
        // Needs no settings: the document is the same wherever it is served.
        return match cli::print_openapi() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stampede: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stampede: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = stampede::telemetry::init(&settings.log) {
        eprintln!("stampede: cannot start logging: {e}");
        return ExitCode::from(2);
    }
    let command = args.command.unwrap_or(Command::Serve);
    match command {
        Command::CheckConfig => {
            cli::check_config(&settings);
            return ExitCode::SUCCESS;
        }
        Command::Keys { action: KeysAction::Rotate } => {
            return match cli::rotate_keys(&settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("stampede: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Worker => {
            if let Err(e) = cli::check_worker(&settings) {
                eprintln!("stampede: {e}");
                return ExitCode::from(2);
            }
        }
        _ => {}
    }
    let result = actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve => cli::serve(settings).await,
            Command::Migrate => cli::migrate(settings).await,
            Command::Bootstrap => cli::bootstrap(settings).await,
            Command::Worker => cli::worker(settings).await,
            Command::CheckConfig | Command::Keys { .. } | Command::Openapi => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, with the chain of causes.
            eprintln!("stampede: {e:#}");
            ExitCode::FAILURE
        }
    }
}
