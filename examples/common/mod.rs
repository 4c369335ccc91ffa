//! What every runnable example shares: the `--listen ADDR` convention (default
//! `127.0.0.1:5000`), logging, and printing `listening on http://ADDR` once the listener
//! accepts connections.

/// An example's command line: `--listen ADDR` plus its own `--flag value` pairs.
pub(crate) struct Flags {
    /// Where to listen.
    pub(crate) listen: String,
    others: Vec<(String, String)>,
}

impl Flags {
    /// The value of one of the example's own flags.
    #[allow(dead_code)]
    pub(crate) fn get(&self, flag: &str) -> Option<&str> {
        self.others
            .iter()
            .find(|(name, _)| name == flag)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads the command line; prints the usage and exits with 2 on anything unexpected.
pub(crate) fn flags(example: &str, own: &[&str]) -> Flags {
    let usage = || {
        let extra: String = own.iter().map(|f| format!(" [{f} VALUE]")).collect();
        format!("usage: {example} [--listen ADDR]{extra}")
    };
    let mut parsed = Flags {
        listen: "127.0.0.1:5000".to_owned(),
        others: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            eprintln!("{flag} needs a value; {}", usage());
            std::process::exit(2);
        };
        if flag == "--listen" {
            parsed.listen = value;
        } else if own.contains(&flag.as_str()) {
            parsed.others.push((flag, value));
        } else {
            eprintln!("unknown argument `{flag}`; {}", usage());
            std::process::exit(2);
        }
    }
    parsed
}

/// Logs to stderr, filtered by `RUST_LOG`.
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
}

/// Binds `listen` (with a large accept backlog) and announces the address; exits with 1
/// when it cannot.
pub(crate) async fn bind(listen: &str) -> signalr::Listener {
    let listener = match signalr::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(e) => eprintln!("cannot read the bound address: {e}"),
    }
    listener
}

/// Ends the process with 1 when serving failed.
pub(crate) fn exit_on_failure(served: std::io::Result<()>) {
    if let Err(e) = served {
        eprintln!("server failed: {e}");
        std::process::exit(1);
    }
}
