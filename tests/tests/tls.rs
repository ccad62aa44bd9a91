//! `rediss://`: the store over TLS with a CA and a client certificate made by
//! the openssl command at test time, on one server and on a cluster.

mod common;

use common::*;
use redis_runtime::testing::{RedisServer, TestCertificates};
use redis_runtime::{Config, Error, Store};

fn tls_server(certificates: &TestCertificates, require_client_cert: bool) -> RedisServer {
    let mut builder = RedisServer::builder().tls(certificates);
    if require_client_cert {
        builder = builder.arg("--tls-auth-clients").arg("yes");
    }
    builder.start().unwrap()
}

#[tokio::test]
async fn a_store_works_over_tls_with_the_servers_ca() {
    let certificates = TestCertificates::generate().unwrap();
    let server = tls_server(&certificates, false);
    let config = Config::builder()
        .url(server.tls_url().unwrap())
        .tls_ca_file(certificates.ca_file())
        .namespace("tls")
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let user = User::sample("acme", 1);
    store.save(&user).await.unwrap();
    assert_eq!(
        store.get::<User>(&user.key_id()).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.count::<User>().await.unwrap(), 1);

    // The server saw a TLS client: the plain listener has no connection of the store's.
    let mut admin = server.raw_connection().await.unwrap();
    let stored: Vec<(String, String)> = raw!(
        &mut admin,
        "HGETALL",
        store.key::<User>(&user.key_id()).unwrap()
    );
    assert!(!stored.is_empty());
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused_with_a_typed_error() {
    let certificates = TestCertificates::generate().unwrap();
    let other = TestCertificates::generate().unwrap();
    let server = tls_server(&certificates, false);
    let config = Config::builder()
        .url(server.tls_url().unwrap())
        .tls_ca_file(other.ca_file())
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let err = Store::connect(&config).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err}");
    // Without the CA, the system's roots do not know the test CA either.
    let config = Config::builder()
        .url(server.tls_url().unwrap())
        .build()
        .unwrap();
    let err = Store::connect(&config).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err}");
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate_gets_it() {
    let certificates = TestCertificates::generate().unwrap();
    let server = tls_server(&certificates, true);
    let base = || {
        Config::builder()
            .url(server.tls_url().unwrap())
            .tls_ca_file(certificates.ca_file())
            .connect_timeout(std::time::Duration::from_secs(2))
    };
    let err = Store::connect(&base().build().unwrap()).await.unwrap_err();
    assert!(err.is_connection(), "without a client certificate: {err}");

    let config = base()
        .tls_client_cert_files(
            certificates.client_cert_file(),
            certificates.client_key_file(),
        )
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let user = User::sample("acme", 2);
    store.save(&user).await.unwrap();
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
}

#[test]
fn tls_files_are_checked_when_the_configuration_is_built() {
    let certificates = TestCertificates::generate().unwrap();
    let err = Config::builder()
        .url("redis://127.0.0.1:6379")
        .tls_ca_file(certificates.ca_file())
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not rediss://"), "{err}");
    let err = Config::builder()
        .url("rediss://127.0.0.1:6379")
        .tls_ca_file("/nonexistent/ca.pem")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read TLS file `/nonexistent/ca.pem`"),
        "{err}"
    );
    // A key is never echoed, even when it is not what was expected.
    let err = Config::builder()
        .url("rediss://127.0.0.1:6379")
        .tls_ca_file(certificates.client_key_file())
        .tls_client_cert_files(
            certificates.client_cert_file(),
            certificates.dir().join("client.ext"),
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not PEM") && !err.contains("PRIVATE KEY"),
        "{err}"
    );
    let from_env = Config::from_lookup(|name| match name {
        "REDIS_URL" => Some("rediss://127.0.0.1:6379".into()),
        "REDIS_TLS_CERT_FILE" => Some(certificates.client_cert_file().display().to_string()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(
        from_env.contains("both its certificate and its key"),
        "{from_env}"
    );
}

/// A cluster whose nodes speak TLS only to clients and to each other: the
/// seeds are `rediss://`, and the nodes the store learns from them are
/// reached over TLS too.
#[tokio::test]
async fn a_store_works_over_tls_on_a_cluster() {
    let certificates = TestCertificates::generate().unwrap();
    let cluster = redis_runtime::testing::RedisCluster::builder()
        .tls(&certificates)
        .start()
        .unwrap();
    assert!(
        cluster
            .urls()
            .iter()
            .all(|url| url.starts_with("rediss://"))
    );
    let store = Store::connect(&cluster.config_builder().namespace("tls").build().unwrap())
        .await
        .unwrap();
    let users: Vec<User> = (0..50).map(|i| User::sample(&format!("t{i}"), i)).collect();
    store.save_many(&users).await.unwrap();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    let got = store.get_many::<User>(&ids).await.unwrap();
    assert_eq!(got.into_iter().flatten().collect::<Vec<_>>(), users);
    assert_eq!(store.count::<User>().await.unwrap(), 50);
}

/// A client key that is garbage, swapped with its certificate, or another
/// certificate's is refused when the configuration is built (not later, as a
/// connection error that looks worth retrying), naming the files only.
#[test]
fn unusable_client_keys_are_configuration_errors() {
    let certificates = TestCertificates::generate().unwrap();
    let other = TestCertificates::generate().unwrap();
    let garbage = certificates.dir().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let build = |cert: std::path::PathBuf, key: std::path::PathBuf| {
        Config::builder()
            .url("rediss://127.0.0.1:6379")
            .tls_client_cert_files(cert, key)
            .build()
            .map(drop)
            .map_err(|e| e.to_string())
    };
    for (label, cert, key, expected) in [
        (
            "garbage key",
            certificates.client_cert_file(),
            garbage.clone(),
            "cannot be used with certificate",
        ),
        (
            "swapped",
            certificates.client_key_file(),
            certificates.client_cert_file(),
            "holds no certificate",
        ),
        (
            "another certificate's key",
            certificates.client_cert_file(),
            other.client_key_file(),
            "cannot be used with certificate",
        ),
    ] {
        let err = build(cert, key).unwrap_err();
        assert!(err.contains(expected), "{label}: {err}");
        assert!(
            !err.contains("BEGIN") && !err.contains("not a key"),
            "{label}: {err}"
        );
    }
    assert!(
        build(
            certificates.client_cert_file(),
            certificates.client_key_file()
        )
        .is_ok()
    );
}
