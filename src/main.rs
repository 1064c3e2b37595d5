//! The `tidings` command: parse arguments, build the runtime, call the
//! library, map errors to exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tidings::config::{self, ConfigError};
use tidings::store::{Storage, Store};
use tidings::{daemon, daily, edits, ingest, report, subscriptions};

/// Exit code for configuration that cannot be used.
const EXIT_CONFIG: u8 = 2;

/// The runtime every command runs on. Blocking work (parsing, the
/// database) gets a few threads, not tokio's default 512: there are two
/// cores, and each thread keeps memory of its own.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().max_blocking_threads(8).enable_all().build()
}

#[derive(Parser)]
#[command(name = "tidings", version, about = "AI-industry news aggregator: fetch feeds, publish a daily digest")]
struct Cli {
    /// Config file.
    #[arg(long, short, global = true, default_value = "config/tidings.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum SourcesAction {
    /// Add the subscriptions of an OPML file (duplicates are skipped and reported).
    Import { file: PathBuf },
    /// Print the source list as OPML 2.0.
    Export,
    /// Add a source from a feed URL or a web page that announces its feed.
    Add {
        url: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every configured source (or one) into the database.
    Fetch {
        /// Fetch only the source with this name.
        #[arg(long)]
        source: Option<String>,
        /// Fetch only sources that are due, as the daemon does, leasing them
        /// so that nodes sharing a database share the work.
        #[arg(long, conflicts_with = "source")]
        due: bool,
    },
    /// Validate config, sources, taxonomy and gazetteer; exit non-zero on any problem.
    Check,
    /// List sources with their last status, item count and last error; or
    /// import, export and add sources.
    Sources {
        #[command(subcommand)]
        action: Option<SourcesAction>,
    },
    /// Run as a service: fetch and digest on schedule, serve the feeds over HTTP.
    Serve {
        /// Address to listen on (default: serve.listen from the config).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Show how a day's reports were grouped into stories: what joined each
    /// story and on what evidence, which near pairs were kept apart and why,
    /// and each story's tags with the keywords, rules or examples behind them.
    Explain {
        /// The day, YYYY-MM-DD (default: today in the site's timezone).
        #[arg(long, value_parser = digest_date)]
        date: Option<chrono::NaiveDate>,
        /// Only the stories holding these item links.
        urls: Vec<String>,
    },
    /// Copy this installation's SQLite database (sources with their fetch
    /// state, items, posts, article pages) into PostgreSQL; run again, it
    /// copies only what is missing.
    Migrate {
        /// The PostgreSQL database to fill, postgres://user@host/db (it must exist).
        #[arg(long)]
        to: String,
    },
    /// Fetch, then write the day's digest post and the feeds.
    Digest {
        /// The day to digest, YYYY-MM-DD (default: today in the site's timezone).
        #[arg(long, value_parser = digest_date)]
        date: Option<chrono::NaiveDate>,
        /// Use what is already stored; do not fetch first.
        #[arg(long)]
        no_fetch: bool,
        /// Print the story list (position, id, headline, outlets, tags) the
        /// digest would have now, from what is stored; fetch and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Correct a day's digest. The correction is added to the date's edits
    /// file and applies on every build of that date; prints the story list
    /// it gives. Stories are named by the id the post and `digest --dry-run`
    /// show, reports by their URL.
    Edit {
        /// The day, YYYY-MM-DD (default: today in the site's timezone).
        #[arg(long, value_parser = digest_date)]
        date: Option<chrono::NaiveDate>,
        #[command(subcommand)]
        action: EditAction,
    },
}

#[derive(Subcommand)]
enum EditAction {
    /// Hide a story (its id) or one report (its URL).
    Hide { target: String },
    /// Put a story at a position (1 = first).
    Pin { story: String, position: usize },
    /// Set the post's title.
    Title { text: String },
    /// Set the post's H1.
    Heading { text: String },
    /// Set the post's description.
    Description { text: String },
    /// Set a story's headline.
    Headline { story: String, text: String },
    /// Set a story's summary.
    Summary { story: String, text: String },
    /// Set a story's image.
    Image { story: String, url: String },
    /// Make one story of the stories these ids or URLs belong to.
    Merge {
        #[arg(num_args = 2.., required = true)]
        targets: Vec<String>,
    },
    /// Take a report (URL or id) out of its story into a story of its own.
    Split { target: String },
    /// Add (+TAG or TAG) and remove (-TAG) a story's tags.
    Tag {
        story: String,
        #[arg(allow_hyphen_values = true, required = true)]
        changes: Vec<String>,
    },
}

impl EditAction {
    /// The edits-file entry this command writes.
    fn entry(self) -> edits::EditEntry {
        use edits::EditEntry as E;
        match self {
            EditAction::Hide { target } => E { hide: Some(target), ..E::default() },
            EditAction::Pin { story, position } => E { pin: Some(story), position: Some(position), ..E::default() },
            EditAction::Title { text } => E { title: Some(text), ..E::default() },
            EditAction::Heading { text } => E { heading: Some(text), ..E::default() },
            EditAction::Description { text } => E { description: Some(text), ..E::default() },
            EditAction::Headline { story, text } => E { story: Some(story), headline: Some(text), ..E::default() },
            EditAction::Summary { story, text } => E { story: Some(story), summary: Some(text), ..E::default() },
            EditAction::Image { story, url } => E { story: Some(story), image: Some(url), ..E::default() },
            EditAction::Merge { targets } => E { merge: targets, ..E::default() },
            EditAction::Split { target } => E { split: Some(target), ..E::default() },
            EditAction::Tag { story, changes } => {
                let (mut add, mut remove) = (Vec::new(), Vec::new());
                for c in changes {
                    match c.strip_prefix('-') {
                        Some(t) => remove.push(t.to_string()),
                        None => add.push(c.strip_prefix('+').unwrap_or(&c).to_string()),
                    }
                }
                E { story: Some(story), add_tags: add, remove_tags: remove, ..E::default() }
            }
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                eprintln!("configuration error:\n{ce}");
                return ExitCode::from(EXIT_CONFIG);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => {
            let loaded = config::load_all(&cli.config)?;
            let edit_files = edits::check_dir(&loaded.config.output.edits_dir)?;
            println!(
                "{}: ok ({} sources, {} tags, {} entities, {} edits files)",
                cli.config.display(),
                loaded.sources.len(),
                loaded.taxonomy.tag.len(),
                loaded.entities.len(),
                edit_files
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { action: None } => {
            let loaded = config::load_all(&cli.config)?;
            let store = open_store(&loaded.config)?;
            let names: Vec<String> = loaded.sources.iter().map(|s| s.name.clone()).collect();
            print!("{}", report::sources_table(&store.source_states()?, &names));
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { action: Some(SourcesAction::Import { file }) } => {
            let config = config::Config::load(&cli.config)?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let rep = subscriptions::import(&config.sources.file, &text)?;
            for s in &rep.added {
                println!(
                    "added   {} <{}>{}",
                    s.name,
                    s.url,
                    s.group.as_deref().map(|g| format!(" [{g}]")).unwrap_or_default()
                );
            }
            for (s, why) in &rep.skipped {
                println!("skipped {} <{}>: {why}", s.name, s.url);
            }
            println!(
                "{} added, {} skipped, into {}",
                rep.added.len(),
                rep.skipped.len(),
                config.sources.file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { action: Some(SourcesAction::Export) } => {
            let config = config::Config::load(&cli.config)?;
            print!("{}", subscriptions::export(&config)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { action: Some(SourcesAction::Add { url, name, group }) } => {
            let config = config::Config::load(&cli.config)?;
            let runtime = runtime()?;
            let sub = runtime.block_on(subscriptions::add(&config, &url, name.as_deref(), group.as_deref()))?;
            println!("added {} <{}> to {}", sub.name, sub.url, config.sources.file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen } => {
            let runtime = runtime()?;
            let options = daemon::ServeOptions { config_path: cli.config.clone(), listen };
            match runtime.block_on(daemon::serve(options)) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(daemon::DaemonError::Config(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            }
        }
        Command::Digest { date, dry_run: true, .. } => {
            let loaded = config::load_all(&cli.config)?;
            let store = open_store(&loaded.config)?;
            let date = date.unwrap_or_else(|| today(&loaded.config));
            print_story_list(&loaded, &store, date)
        }
        Command::Edit { date, action } => {
            let loaded = config::load_all(&cli.config)?;
            let date = date.unwrap_or_else(|| today(&loaded.config));
            let path = edits::append(&loaded.config.output.edits_dir, date, &action.entry())?;
            eprintln!("edited {}", path.display());
            let store = open_store(&loaded.config)?;
            print_story_list(&loaded, &store, date)
        }
        Command::Digest { date, no_fetch, dry_run: false } => {
            let loaded = config::load_all(&cli.config)?;
            let mut store = open_store(&loaded.config)?;
            let runtime = runtime()?;
            let mut fetcher = None;
            if !no_fetch {
                let progress = progress_reporter(loaded.sources.len() as u64);
                let (rep, back) = runtime.block_on(ingest::run(
                    &loaded.config,
                    &loaded.sources,
                    store,
                    Default::default(),
                    progress,
                ))?;
                store = back;
                eprint!("{}", report::ingest_summary(&rep));
                fetcher =
                    Some(tidings::fetch::Fetcher::for_untrusted(&loaded.config.fetch, &loaded.config.user_agent())?);
            }
            let date = date.unwrap_or_else(|| today(&loaded.config));
            let rep = runtime.block_on(daily::run(&loaded, &mut store, date, fetcher.as_ref()))?;
            print!("{}", report::daily_summary(&rep));
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { to } => {
            let loaded = config::load_all(&cli.config)?;
            let storage = &loaded.config.storage;
            if let Some(url) = storage.postgres_url() {
                anyhow::bail!(
                    "the config's database is already PostgreSQL ({}); migrate reads a SQLite database",
                    tidings::store::redacted(url)
                );
            }
            if !tidings::config::is_postgres_url(&to) {
                anyhow::bail!("--to must be a postgres:// or postgresql:// URL");
            }
            let from = tidings::store::SqliteStore::open(
                &storage.database,
                std::time::Duration::from_secs(storage.busy_timeout_secs),
            )
            .with_context(|| format!("opening database {}", storage.database.display()))?;
            let dest = tidings::store::PgStore::connect(&to)?;
            let report = tidings::store::copy::sqlite_to_postgres(&from, &dest)?;
            println!("{} → {}", storage.database.display(), tidings::store::redacted(&to));
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { date, urls } => {
            let loaded = config::load_all(&cli.config)?;
            let store = open_store(&loaded.config)?;
            let date = date.unwrap_or_else(|| today(&loaded.config));
            print!("{}", tidings::explain::explain_day(&loaded, &store, date, &urls)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch { source, due } => {
            let loaded = config::load_all(&cli.config)?;
            let store = open_store(&loaded.config)?;
            let runtime = runtime()?;
            let total = if source.is_some() { 1 } else { loaded.sources.len() as u64 };
            let progress = progress_reporter(total);
            let (rep, _store) = runtime.block_on(ingest::run(
                &loaded.config,
                &loaded.sources,
                store,
                ingest::RunOptions { only: source.as_deref(), only_due: due, ..Default::default() },
                progress,
            ))?;
            print!("{}", report::ingest_summary(&rep));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The story list `date`'s digest would have now (`digest --dry-run`, `edit`).
fn print_story_list(loaded: &config::Loaded, store: &Store, date: chrono::NaiveDate) -> anyhow::Result<ExitCode> {
    match daily::preview(loaded, store, date)? {
        Some(d) => print!("{}", report::story_list(&d)),
        None => println!("{date}: no new items in the window; no post would be written"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Today in the site's timezone.
fn today(config: &config::Config) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&config.site.tz()).date_naive()
}

/// A `--date`: YYYY-MM-DD, in the years a digest can cover.
fn digest_date(s: &str) -> Result<chrono::NaiveDate, String> {
    let d: chrono::NaiveDate = s.parse().map_err(|e| format!("{e} (expected YYYY-MM-DD)"))?;
    let year = chrono::Datelike::year(&d);
    if !(1970..=9999).contains(&year) {
        return Err(format!("year {year} is outside 1970–9999"));
    }
    Ok(d)
}

fn open_store(cfg: &config::Config) -> anyhow::Result<Store> {
    let shown = match cfg.storage.postgres_url() {
        Some(url) => tidings::store::redacted(url),
        None => cfg.storage.database.display().to_string(),
    };
    tidings::store::open(&cfg.storage).with_context(|| format!("opening database {shown}"))
}

/// A progress bar on a terminal; plain problem lines on stderr either way.
fn progress_reporter(total: u64) -> Box<dyn FnMut(&ingest::SourceReport) + Send> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} sources  {msg}") {
            bar.set_style(style);
        }
        bar
    });
    Box::new(move |r| {
        for line in report::problem_lines(r) {
            match &bar {
                Some(b) => b.println(&line),
                None => eprintln!("{line}"),
            }
        }
        if let Some(b) = &bar {
            b.set_message(r.name.clone());
            b.inc(1);
            if b.position() >= total {
                b.finish_and_clear();
            }
        }
    })
}
