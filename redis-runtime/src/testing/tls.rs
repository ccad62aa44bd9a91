//! Certificates for TLS tests, made by the `openssl` command at test time:
//! a throw-away certificate authority, a server certificate for 127.0.0.1
//! and `localhost`, and a client certificate, all signed by it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tempfile::TempDir;

use super::HarnessError;

/// A CA with a server and a client certificate, in a temporary directory
/// removed when the last clone is dropped. Needs `openssl` on `PATH`.
///
/// ```no_run
/// # use redis_runtime::testing::{RedisServer, TestCertificates};
/// let certificates = TestCertificates::generate()?;
/// let server = RedisServer::builder().tls(&certificates).start()?;
/// let config = redis_runtime::Config::builder()
///     .url(server.tls_url().unwrap())
///     .tls_ca_file(certificates.ca_file())
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TestCertificates {
    dir: Arc<TempDir>,
}

/// Every certificate is X.509 v3 (rustls refuses older ones), hence the
/// extension files. Cluster nodes also present the server certificate as
/// clients of each other (`tls-cluster yes`), so it serves both ends.
const SERVER_EXTENSIONS: &str = "basicConstraints=CA:FALSE\n\
subjectAltName=IP:127.0.0.1,DNS:localhost\n\
extendedKeyUsage=serverAuth,clientAuth\n";
const CLIENT_EXTENSIONS: &str = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";

impl TestCertificates {
    /// Makes a new CA and the server and client certificates it signs.
    pub fn generate() -> Result<TestCertificates, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("redis-runtime-tls-")
            .tempdir()
            .map_err(HarnessError::Spawn)?;
        let path = |name: &str| dir.path().join(name).display().to_string();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=redis-runtime test CA",
            "-keyout",
            &path("ca.key"),
            "-out",
            &path("ca.crt"),
        ])?;
        for (name, extensions) in [("server", SERVER_EXTENSIONS), ("client", CLIENT_EXTENSIONS)] {
            let ext = path(&format!("{name}.ext"));
            std::fs::write(&ext, extensions).map_err(HarnessError::Spawn)?;
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &path(&format!("{name}.key")),
                "-out",
                &path(&format!("{name}.csr")),
            ])?;
            openssl(&[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &path(&format!("{name}.csr")),
                "-CA",
                &path("ca.crt"),
                "-CAkey",
                &path("ca.key"),
                "-CAcreateserial",
                "-extfile",
                &ext,
                "-out",
                &path(&format!("{name}.crt")),
            ])?;
        }
        Ok(TestCertificates { dir: Arc::new(dir) })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA's certificate (PEM): what clients trust.
    pub fn ca_file(&self) -> PathBuf {
        self.file("ca.crt")
    }

    /// The server's certificate (PEM), for 127.0.0.1 and `localhost`.
    pub fn server_cert_file(&self) -> PathBuf {
        self.file("server.crt")
    }

    /// The server's key (PEM).
    pub fn server_key_file(&self) -> PathBuf {
        self.file("server.key")
    }

    /// A client certificate (PEM) the CA signed.
    pub fn client_cert_file(&self) -> PathBuf {
        self.file("client.crt")
    }

    /// The client certificate's key (PEM).
    pub fn client_key_file(&self) -> PathBuf {
        self.file("client.key")
    }

    /// The directory holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `redis-server` arguments for TLS with these files (without the port).
    pub(crate) fn server_args(&self) -> Vec<String> {
        let file = |f: PathBuf| f.display().to_string();
        vec![
            "--tls-cert-file".into(),
            file(self.server_cert_file()),
            "--tls-key-file".into(),
            file(self.server_key_file()),
            "--tls-ca-cert-file".into(),
            file(self.ca_file()),
            "--tls-auth-clients".into(),
            "optional".into(),
        ]
    }
}

fn openssl(args: &[&str]) -> Result<(), HarnessError> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(HarnessError::Spawn)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Spawn(std::io::Error::other(format!(
            "openssl {} failed: {}",
            args[0],
            String::from_utf8_lossy(&output.stderr)
        ))))
    }
}
