//! TLS for `rediss://` URLs: the certificate authority to trust (instead of
//! the system's) and a client certificate for servers that ask for one
//! (`tls-auth-clients yes`). Read from PEM files when the configuration is
//! built, so a missing or unreadable file is a configuration error, not a
//! connection failure later.

use std::path::{Path, PathBuf};

/// The files as given, before [`TlsFiles::load`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsFiles {
    pub(crate) ca: Option<PathBuf>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
}

/// The files' PEM contents.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) root_cert: Option<Vec<u8>>,
    /// The client certificate and its key.
    pub(crate) client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Tls")
            .field("custom_ca", &self.root_cert.is_some())
            .field("client_cert", &self.client.is_some())
            .finish()
    }
}

impl TlsFiles {
    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    /// Reads the files; `None` when none was given. `uses_tls`: whether the
    /// configured URLs are `rediss://`.
    pub(crate) fn load(&self, uses_tls: bool, problems: &mut Vec<String>) -> Option<Tls> {
        if uses_tls && !cfg!(feature = "tls") {
            problems.push(
                "rediss:// (TLS) needs redis-runtime's `tls` feature: \
                 redis-runtime = { version = \"...\", features = [\"tls\"] }"
                    .to_owned(),
            );
        }
        if self.is_empty() {
            return None;
        }
        if !uses_tls {
            problems.push(
                "TLS files are set but the URL is not rediss://; use rediss://host:port".to_owned(),
            );
        }
        let root_cert = self.ca.as_deref().and_then(|path| read_pem(path, problems));
        #[cfg(feature = "tls")]
        if let (Some(ca), Some(path)) = (&root_cert, &self.ca) {
            check::certificates(ca, path, "CA certificate", problems);
        }
        let client = match (&self.cert, &self.key) {
            (Some(cert_path), Some(key_path)) => {
                match (read_pem(cert_path, problems), read_pem(key_path, problems)) {
                    (Some(cert), Some(key)) => {
                        #[cfg(feature = "tls")]
                        check::client_pair(&cert, &key, cert_path, key_path, problems);
                        Some((cert, key))
                    }
                    _ => None,
                }
            }
            (None, None) => None,
            _ => {
                problems.push(
                    "a TLS client certificate needs both its certificate and its key file"
                        .to_owned(),
                );
                None
            }
        };
        Some(Tls { root_cert, client })
    }
}

/// A PEM file's contents, or a problem naming the file (never its contents).
fn read_pem(path: &Path, problems: &mut Vec<String>) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.windows(11).any(|w| w == b"-----BEGIN ") => Some(bytes),
        Ok(_) => {
            problems.push(format!("TLS file `{}` is not PEM", path.display()));
            None
        }
        Err(err) => {
            problems.push(format!("cannot read TLS file `{}`: {err}", path.display()));
            None
        }
    }
}

#[cfg(feature = "tls")]
impl Tls {
    /// What redis-rs connects with.
    pub(crate) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.root_cert.clone(),
        }
    }
}

/// What rustls itself would refuse when connecting, refused when the
/// configuration is built instead: files that hold no certificate or no key,
/// and a key that does not belong to its certificate. Messages name the
/// files, never their contents.
#[cfg(feature = "tls")]
mod check {
    use std::path::Path;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    fn parse_certificates(pem: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .ok()?;
        (!certs.is_empty()).then_some(certs)
    }

    pub(super) fn certificates(pem: &[u8], path: &Path, what: &str, problems: &mut Vec<String>) {
        if parse_certificates(pem).is_none() {
            problems.push(format!(
                "TLS {what} file `{}` holds no certificate",
                path.display()
            ));
        }
    }

    pub(super) fn client_pair(
        cert: &[u8],
        key: &[u8],
        cert_path: &Path,
        key_path: &Path,
        problems: &mut Vec<String>,
    ) {
        let Some(certs) = parse_certificates(cert) else {
            problems.push(format!(
                "TLS client certificate file `{}` holds no certificate",
                cert_path.display()
            ));
            return;
        };
        let Ok(key) = PrivateKeyDer::from_pem_slice(key) else {
            problems.push(format!(
                "TLS client key file `{}` holds no private key",
                key_path.display()
            ));
            return;
        };
        let provider = rustls::crypto::ring::default_provider();
        if let Err(err) = rustls::sign::CertifiedKey::from_der(certs, key, &provider) {
            problems.push(format!(
                "TLS client key `{}` cannot be used with certificate `{}`: {err}",
                key_path.display(),
                cert_path.display()
            ));
        }
    }
}
