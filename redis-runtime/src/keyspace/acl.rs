//! The ACL rule derived from a manifest.

/// An ACL rule derived from a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    /// Key patterns the user may touch.
    pub key_patterns: Vec<String>,
    /// Pub/sub channel patterns the user may publish and subscribe to (the
    /// keyspace's `#[derive(RedisChannel)]` families).
    pub channel_patterns: Vec<String>,
    /// Commands the user may run (lower case; `parent|sub` for subcommands).
    pub commands: Vec<String>,
}

impl AclRule {
    /// The rule's arguments for `ACL SETUSER <user> ...`: resets keys, channels
    /// and commands, then allows exactly this rule's keys and commands. Add `on`
    /// and a password (`>secret`) when creating the user.
    pub fn setuser_args(&self) -> Vec<String> {
        let mut args = vec![
            "resetkeys".to_owned(),
            "resetchannels".to_owned(),
            "-@all".to_owned(),
        ];
        args.extend(self.key_patterns.iter().map(|p| format!("~{p}")));
        args.extend(self.channel_patterns.iter().map(|p| format!("&{p}")));
        args.extend(self.commands.iter().map(|c| format!("+{c}")));
        args
    }

    /// The key patterns that begin with a placeholder's glob (no namespace, and
    /// a template starting with a placeholder, like `{tenant}:user:{id}`):
    /// `?*` also matches `:`, so such a pattern grants other applications'
    /// keys too (`~?*` is every key). Give the application a namespace.
    pub fn broad_patterns(&self) -> Vec<&str> {
        self.key_patterns
            .iter()
            .filter(|p| p.starts_with('?') || p.starts_with("{?*}"))
            .map(String::as_str)
            .collect()
    }

    /// The full `ACL SETUSER` command line for `user`, for a `users.acl` file or
    /// `redis-cli`. The password is not included; append `>password` or `#sha256`.
    pub fn setuser_command(&self, user: &str) -> String {
        let mut line = format!("ACL SETUSER {user} on");
        for arg in self.setuser_args() {
            line.push(' ');
            line.push_str(&arg);
        }
        line
    }
}
