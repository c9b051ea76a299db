//! `doorstep-server` on a PostgreSQL that wants TLS, as managed services
//! do: `sslmode=require` connects over TLS and verifies the server's
//! certificate against public roots or `PGSSLROOTCERT`; a certificate it
//! cannot verify, or a CA file that is not one, is refused with a message
//! that says so.
//!
//! Runs in the PostgreSQL pass of `.ci/test`, whose throwaway cluster has a
//! certificate for 127.0.0.1 signed by a throwaway CA
//! (`DOORSTEP_TEST_POSTGRES_CA`). On SQLite there is nothing to test.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use doorstep_e2e::{bin, db_arg, on_postgres};

fn server(url: &str, ca: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(bin("doorstep-server"));
    cmd.args(["--db", url]).args(args).env("DOORSTEP_LOG", "warn");
    match ca {
        Some(ca) => cmd.env("PGSSLROOTCERT", ca),
        None => cmd.env_remove("PGSSLROOTCERT"),
    };
    cmd.output().unwrap()
}

#[test]
fn sslmode_require_verifies_the_server_certificate() {
    if !on_postgres() {
        eprintln!("postgres_tls: not on PostgreSQL (DOORSTEP_TEST_POSTGRES unset): nothing to test");
        return;
    }
    let Ok(ca) = std::env::var("DOORSTEP_TEST_POSTGRES_CA") else {
        // A skip must be loud: libtest hides a passing test's output, so
        // it fails unless the skip was asked for.
        assert!(
            std::env::var("DOORSTEP_SKIP_POSTGRES_TLS").is_ok_and(|v| v == "1"),
            "the test cluster has no TLS (DOORSTEP_TEST_POSTGRES_CA unset: .ci/postgres needs openssl); \
             set DOORSTEP_SKIP_POSTGRES_TLS=1 to skip this test"
        );
        eprintln!("##### postgres_tls SKIPPED (DOORSTEP_SKIP_POSTGRES_TLS=1)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let tls_url = format!("{}?sslmode=require", db_arg(&db));

    // The test CA is no public root: without it the certificate is refused,
    // and nothing is written.
    let out = server(&tls_url, None, &["campaign", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("certificate"), "the message names the certificate: {err}");
    let tables = doorstep_e2e::pg::query(
        &db,
        "SELECT count(*)::text FROM information_schema.tables WHERE table_schema = current_schema()",
    );
    assert_eq!(tables[0][0], "0", "a refused connection creates nothing");

    // A CA file that is not one is named.
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let out = server(&tls_url, Some(not_pem.to_str().unwrap()), &["campaign", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("PGSSLROOTCERT"), "the message names the variable: {err}");

    // With the CA: the campaign is made and served over TLS.
    let out = server(
        &tls_url,
        Some(&ca),
        &[
            "campaign",
            "create",
            "--name",
            "TLS",
            "--starts-on",
            "2026-12-01",
            "--commune",
            "Muong Lan=Bun",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = Command::new(bin("doorstep-server"))
        .args(["--db", &tls_url, "serve", "--listen", "127.0.0.1:0"])
        .env("PGSSLROOTCERT", &ca)
        .env("DOORSTEP_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening = line.starts_with("listening on ");
    // The serving process keeps its pooled connections open: every one of
    // them to this database is encrypted.
    let ssl = doorstep_e2e::pg::query(
        &db,
        "SELECT count(*) FILTER (WHERE s.ssl)::text, count(*) FILTER (WHERE NOT s.ssl)::text
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.datname = current_database() AND a.backend_type = 'client backend'
           AND a.application_name = 'doorstep-server'",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "the server started: {line:?}");
    assert_ne!(ssl[0][0], "0", "the server's connections use TLS");
    assert_eq!(ssl[0][1], "0", "none of the server's connections is plain");
}
