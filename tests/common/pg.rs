//! A PostgreSQL database of a test's own, on the server every machine runs.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A database of its own on the test server (`TIDINGS_TEST_POSTGRES`,
/// default `postgres://postgres@127.0.0.1:5432/postgres`), dropped with this value.
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    pub fn admin_url() -> String {
        std::env::var("TIDINGS_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates it (panics, saying how to fix it, when the server is not
    /// there). Usable from async tests: the blocking client runs on a
    /// thread of its own.
    pub fn create() -> PgDatabase {
        static N: AtomicUsize = AtomicUsize::new(0);
        let admin = Self::admin_url();
        let name = format!("tidings_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let (a, n) = (admin.clone(), name.clone());
        let made = std::thread::spawn(move || -> Result<(), String> {
            let mut client = ::postgres::Client::connect(&a, ::postgres::NoTls).map_err(|e| e.to_string())?;
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {n}")).map_err(|e| e.to_string())?;
            client.batch_execute(&format!("CREATE DATABASE {n}")).map_err(|e| e.to_string())
        })
        .join();
        match made {
            Ok(Ok(())) => PgDatabase { admin, name },
            Ok(Err(e)) => {
                panic!("PostgreSQL is not usable at {admin} ({e}); .ci/run starts it, or set TIDINGS_TEST_POSTGRES")
            }
            Err(_) => panic!("creating the test database panicked"),
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        match url::Url::parse(&self.admin) {
            Ok(mut u) => {
                u.set_path(&self.name);
                u.to_string()
            }
            Err(e) => panic!("TIDINGS_TEST_POSTGRES is not a URL: {e}"),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = ::postgres::Client::connect(&admin, ::postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}
