//! The Redis channel names of one hub, as ASP.NET Core's `RedisChannels` forms them.

/// The channels of one hub: `{prefix}{hub}:all`, `…:group:{name}`, and so on, where
/// `prefix` is the configured channel prefix (written with no separator, as .NET writes
/// `RedisOptions.Configuration.ChannelPrefix`) and `hub` the hub's full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisChannels {
    /// `{prefix}{hub}`: every channel of the hub starts with it and a `:`.
    base: String,
}

impl RedisChannels {
    pub(crate) fn new(channel_prefix: &str, hub_name: &str) -> Self {
        RedisChannels {
            base: format!("{channel_prefix}{hub_name}"),
        }
    }

    /// What every channel of this hub starts with (before its `:`).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Broadcasts to every connection.
    pub(crate) fn all(&self) -> String {
        format!("{}:all", self.base)
    }

    /// Messages to a group; subscribed while this server has a member.
    pub(crate) fn group(&self, group: &str) -> String {
        format!("{}:group:{group}", self.base)
    }

    /// Messages to a user; subscribed while this server has a connection of the user.
    pub(crate) fn user(&self, user: &str) -> String {
        format!("{}:user:{user}", self.base)
    }

    /// Messages to one connection; subscribed by the server that holds it.
    pub(crate) fn connection(&self, connection_id: &str) -> String {
        format!("{}:connection:{connection_id}", self.base)
    }

    /// Group changes for connections on other servers.
    pub(crate) fn group_management(&self) -> String {
        format!("{}:internal:groups", self.base)
    }

    /// Acknowledgements of group changes, back to the server that asked.
    pub(crate) fn ack(&self, server_name: &str) -> String {
        format!("{}:internal:ack:{server_name}", self.base)
    }

    /// Client results, back to the server that awaits them.
    pub(crate) fn return_results(&self, server_name: &str) -> String {
        format!("{}:internal:return:{server_name}", self.base)
    }

    /// What a channel of this hub is for, or `None` for another hub's channel.
    pub(crate) fn classify<'c>(&self, channel: &'c str, server_name: &str) -> Option<Channel<'c>> {
        let rest = channel
            .strip_prefix(self.base.as_str())?
            .strip_prefix(':')?;
        Some(match rest {
            "all" => Channel::All,
            "internal:groups" => Channel::GroupManagement,
            _ => {
                if let Some(group) = rest.strip_prefix("group:") {
                    Channel::Group(group)
                } else if let Some(user) = rest.strip_prefix("user:") {
                    Channel::User(user)
                } else if let Some(id) = rest.strip_prefix("connection:") {
                    Channel::Connection(id)
                } else if rest.strip_prefix("internal:ack:") == Some(server_name) {
                    Channel::Ack
                } else if rest.strip_prefix("internal:return:") == Some(server_name) {
                    Channel::ReturnResults
                } else {
                    return None;
                }
            }
        })
    }
}

/// A received channel, by purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel<'c> {
    All,
    Group(&'c str),
    User(&'c str),
    Connection(&'c str),
    GroupManagement,
    Ack,
    ReturnResults,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_those_of_the_dotnet_backplane() {
        let c = RedisChannels::new("", "FunctionalTests.TestHub");
        assert_eq!(c.all(), "FunctionalTests.TestHub:all");
        assert_eq!(c.group("g 1"), "FunctionalTests.TestHub:group:g 1");
        assert_eq!(c.user("bob"), "FunctionalTests.TestHub:user:bob");
        assert_eq!(
            c.connection("abc"),
            "FunctionalTests.TestHub:connection:abc"
        );
        assert_eq!(
            c.group_management(),
            "FunctionalTests.TestHub:internal:groups"
        );
        assert_eq!(c.ack("srv_1"), "FunctionalTests.TestHub:internal:ack:srv_1");
        assert_eq!(
            c.return_results("srv_1"),
            "FunctionalTests.TestHub:internal:return:srv_1"
        );
        let prefixed = RedisChannels::new("app1", "Chat");
        assert_eq!(prefixed.all(), "app1Chat:all");
    }

    #[test]
    fn channels_are_classified_for_this_hub_and_server_only() {
        let c = RedisChannels::new("", "H");
        assert_eq!(c.classify("H:all", "s"), Some(Channel::All));
        assert_eq!(c.classify("H:group:a:b", "s"), Some(Channel::Group("a:b")));
        assert_eq!(c.classify("H:user:u", "s"), Some(Channel::User("u")));
        assert_eq!(
            c.classify("H:connection:x", "s"),
            Some(Channel::Connection("x"))
        );
        assert_eq!(
            c.classify("H:internal:groups", "s"),
            Some(Channel::GroupManagement)
        );
        assert_eq!(c.classify("H:internal:ack:s", "s"), Some(Channel::Ack));
        assert_eq!(
            c.classify("H:internal:return:s", "s"),
            Some(Channel::ReturnResults)
        );
        assert_eq!(c.classify("H:internal:ack:other", "s"), None);
        assert_eq!(c.classify("Hub2:all", "s"), None);
        assert_eq!(c.classify("HX:all", "s"), None);
    }
}
