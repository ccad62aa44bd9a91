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
    /// One selector per raw family (`#[derive(RedisRaw)]`): exactly the
    /// commands it declares, on its key pattern only (Redis 7 ACL
    /// selectors). Empty when the keyspace has no raw family, so the rule
    /// stays valid on Redis 6.2.
    pub selectors: Vec<AclSelector>,
}

/// A Redis 7 ACL selector: commands allowed on some keys only, apart from
/// the rule's root permissions. The rule has one per raw family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSelector {
    /// The raw family it is for.
    pub model: String,
    /// Key patterns the selector's commands may touch.
    pub key_patterns: Vec<String>,
    /// The commands allowed on them (lower case; `parent|sub` for
    /// subcommands).
    pub commands: Vec<String>,
}

impl AclSelector {
    /// The selector as one `ACL SETUSER` argument: `(~pattern +cmd ...)`.
    pub fn as_arg(&self) -> String {
        let mut arg = "(".to_owned();
        let rules = self
            .key_patterns
            .iter()
            .map(|p| format!("~{p}"))
            .chain(self.commands.iter().map(|c| format!("+{c}")));
        for (i, rule) in rules.enumerate() {
            if i > 0 {
                arg.push(' ');
            }
            arg.push_str(&rule);
        }
        arg.push(')');
        arg
    }
}

impl AclRule {
    /// The rule's arguments for `ACL SETUSER <user> ...`: resets keys, channels
    /// and commands, then allows exactly this rule's keys and commands. Add `on`
    /// and a password (`>secret`) when creating the user.
    ///
    /// With raw families, the selectors follow (`clearselectors`, then one
    /// `(~pattern +cmd ...)` argument per family): this needs Redis 7.
    pub fn setuser_args(&self) -> Vec<String> {
        let mut args = vec![
            "resetkeys".to_owned(),
            "resetchannels".to_owned(),
            "-@all".to_owned(),
        ];
        if !self.selectors.is_empty() {
            args.push("clearselectors".to_owned());
        }
        args.extend(self.key_patterns.iter().map(|p| format!("~{p}")));
        args.extend(self.channel_patterns.iter().map(|p| format!("&{p}")));
        args.extend(self.commands.iter().map(|c| format!("+{c}")));
        args.extend(self.selectors.iter().map(AclSelector::as_arg));
        args
    }

    /// Whether the rule lets the user run `command` (lower case) on some
    /// key: at the root or in a raw family's selector. A subcommand
    /// (`xgroup|create`) is granted by its own entry or its parent's; a
    /// parent named alone (`xgroup`, as raw code that builds the subcommand
    /// from arguments is seen) by any of its subcommands.
    pub fn grants(&self, command: &str) -> bool {
        let command = command.to_ascii_lowercase();
        let parent = command.split('|').next().unwrap_or_default();
        self.commands
            .iter()
            .chain(self.selectors.iter().flat_map(|s| s.commands.iter()))
            .any(|granted| {
                *granted == command
                    || granted == parent
                    || (!command.contains('|')
                        && granted.split('|').next() == Some(command.as_str()))
            })
    }

    /// The key patterns that begin with a placeholder's glob (no namespace, and
    /// a template starting with a placeholder, like `{tenant}:user:{id}`):
    /// `?*` also matches `:`, so such a pattern grants other applications'
    /// keys too (`~?*` is every key). Give the application a namespace.
    pub fn broad_patterns(&self) -> Vec<&str> {
        self.key_patterns
            .iter()
            .chain(self.selectors.iter().flat_map(|s| s.key_patterns.iter()))
            .filter(|p| p.starts_with('?') || p.starts_with("{?*}"))
            .map(String::as_str)
            .collect()
    }

    /// The full `ACL SETUSER` command line for `user`, for a `users.acl` file or
    /// `redis-cli`. The password is not included; append `>password` or `#sha256`.
    /// A selector, which holds spaces, is written in double quotes.
    pub fn setuser_command(&self, user: &str) -> String {
        let mut line = format!("ACL SETUSER {user} on");
        for arg in self.setuser_args() {
            line.push(' ');
            if arg.starts_with('(') {
                line.push('"');
                line.push_str(&arg);
                line.push('"');
            } else {
                line.push_str(&arg);
            }
        }
        line
    }
}
