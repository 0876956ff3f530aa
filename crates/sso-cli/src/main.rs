//! `gatehouse`: the command a support engineer runs on a failing login or provisioning
//! request.
//!
//! Success exits 0 with JSON on stdout. A rejected input exits 1 with one line on stderr
//! naming the failed check (and, for SCIM errors, the RFC 7644 error body on stdout). Bad
//! usage exits 2.
//!
//! The commands (quick start), design, security checks and limitations are in the crate's
//! README.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod oidc;
mod saml;
mod scim;

/// Inspect and debug SAML responses, OpenID Connect ID tokens and SCIM inputs.
#[derive(Parser)]
#[command(name = "gatehouse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// SCIM 2.0 filters and PATCH requests.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// SAML 2.0 responses and SP metadata.
    #[command(subcommand)]
    Saml(saml::SamlCommand),
    /// OpenID Connect ID tokens and provider configuration.
    #[command(subcommand)]
    Oidc(oidc::OidcCommand),
}

#[derive(Subcommand)]
enum ScimCommand {
    /// Parse a filter and print its canonical form, or the ids of the resources it matches.
    Filter {
        /// The filter, as in `userName eq "bjensen"`.
        filter: String,
        /// A JSON file holding an array of resources (`-` for stdin); prints the `id`s of
        /// those the filter matches.
        #[arg(long = "match", value_name = "RESOURCES.json")]
        match_file: Option<PathBuf>,
    },
    /// Apply a PatchOp request to a resource and print the patched resource.
    Patch {
        /// The resource, as a JSON file (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        resource: PathBuf,
        /// The PatchOp request body, as a JSON file (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        request: PathBuf,
        /// The resource type.
        #[arg(long, value_enum, ignore_case = true, default_value = "User")]
        resource_type: ResourceTypeArg,
    },
}

/// The SCIM resource types the CLI knows.
#[derive(Clone, Copy, ValueEnum)]
enum ResourceTypeArg {
    /// `urn:ietf:params:scim:schemas:core:2.0:User` with the Enterprise User extension.
    #[value(name = "User")]
    User,
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    #[value(name = "Group")]
    Group,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scim(ScimCommand::Filter { filter, match_file }) => {
            scim::filter(&filter, match_file.as_deref())
        }
        Command::Scim(ScimCommand::Patch {
            resource,
            request,
            resource_type,
        }) => scim::patch(&resource, &request, resource_type),
        Command::Saml(command) => return saml::run(command),
        Command::Oidc(command) => return oidc::run(command),
    };
    match result {
        Ok(output) => {
            println!("{output:#}");
            ExitCode::SUCCESS
        }
        Err(rejection) => {
            rejection.report();
            ExitCode::from(1)
        }
    }
}
