use redis_runtime::{KeyPart, KeyPartError, KeyPartWriter, RedisModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl KeyPart for TenantId {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        self.0.write_key_part(out)
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        String::from_key_part(raw).map(TenantId)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Prefs {
    theme: String,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant", ttl = "30d")]
pub struct User {
    tenant: TenantId,
    id: u64,
    email: String,
    name: Option<String>,
    #[redis(json)]
    prefs: Prefs,
    logins: i64,
}

#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", ttl = "30m")]
pub struct Session {
    token: String,
    user: u64,
}

#[test]
fn meta() {
    assert_eq!(User::META.key.source, "tenant:{tenant}:user:{id}");
    let _f = User::fields().logins;
}
