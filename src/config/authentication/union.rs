//! The union of the authenticators (`authentication/request/union`), the
//! `AuthenticatedGroupAdder` around it, and anonymous behind both (`union.NewFailOnError`).

use super::requestheader::strip_prefix_ignore_case;
use super::{
    RequestAuthenticator, UserInfo, ANONYMOUS_USER, AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP,
};
use crate::http::Request;

pub enum AuthResult {
    User(UserInfo),
    /// The request carried credentials and none of them are good: 401.
    Invalid,
}

pub struct Authenticator {
    authenticators: Vec<Box<dyn RequestAuthenticator>>,
    anonymous: bool,
    /// The request-header names (a trailing `*` for a prefix) that a proxy sets, removed from
    /// every request once authentication is done.
    proxy_headers: Vec<String>,
}

impl Authenticator {
    pub fn new(
        authenticators: Vec<Box<dyn RequestAuthenticator>>,
        anonymous: bool,
        proxy_headers: Vec<String>,
    ) -> Authenticator {
        Authenticator {
            authenticators,
            anonymous,
            proxy_headers,
        }
    }

    // ANCHOR: union_authenticate
    /// The first authenticator that knows the user wins. An error does not stop the others
    /// (a user's certificate fails the front-proxy check and then passes x509's), but if
    /// nobody knows the user, any error makes it a 401: only a request that brought no
    /// credentials at all is anonymous.
    pub fn authenticate(&self, req: &Request) -> AuthResult {
        let mut errors = Vec::new();
        for authenticator in &self.authenticators {
            match authenticator.authenticate(req) {
                Ok(Some(user)) => return AuthResult::User(with_authenticated_group(user)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            log::info!(
                "Unable to authenticate the request: [{}]",
                errors.join(", ")
            );
            return AuthResult::Invalid;
        }
        if self.anonymous {
            return AuthResult::User(UserInfo {
                name: ANONYMOUS_USER.into(),
                groups: vec![UNAUTHENTICATED_GROUP.into()],
                ..Default::default()
            });
        }
        AuthResult::Invalid
    }
    // ANCHOR_END: union_authenticate

    /// Removes what only authentication may read: the `Authorization` header and the front
    /// proxy's headers, whether or not a proxy sent them (Go's `WithAuthentication` does the
    /// same), so no handler, log, or proxied request ever sees them.
    pub fn clear_credentials(&self, req: &mut Request) {
        req.headers.retain(|(name, _)| {
            !name.eq_ignore_ascii_case("authorization")
                && !self
                    .proxy_headers
                    .iter()
                    .any(|h| match h.strip_suffix('*') {
                        Some(prefix) => strip_prefix_ignore_case(name, prefix).is_some(),
                        None => name.eq_ignore_ascii_case(h),
                    })
        });
    }
}

// ANCHOR: authenticated_group_adder
/// `AuthenticatedGroupAdder`: everyone an authenticator vouched for is in
/// `system:authenticated`, unless it already says it is in that group or in
/// `system:unauthenticated`, which is what lets RBAC bind a role to "every signed-in user".
fn with_authenticated_group(mut user: UserInfo) -> UserInfo {
    let marked = user
        .groups
        .iter()
        .any(|g| g == AUTHENTICATED_GROUP || g == UNAUTHENTICATED_GROUP);
    if user.name != ANONYMOUS_USER && !marked {
        user.groups.push(AUTHENTICATED_GROUP.into());
    }
    user
}
// ANCHOR_END: authenticated_group_adder

#[cfg(test)]
mod tests {
    use super::*;

    /// An authenticator with a fixed answer.
    struct Says(Result<Option<UserInfo>, String>);

    impl RequestAuthenticator for Says {
        fn authenticate(&self, _: &Request) -> Result<Option<UserInfo>, String> {
            self.0.clone()
        }
    }

    fn user(name: &str) -> Option<UserInfo> {
        Some(UserInfo {
            name: name.into(),
            groups: vec!["dev".into()],
            ..Default::default()
        })
    }

    fn union(answers: Vec<Result<Option<UserInfo>, String>>, anonymous: bool) -> Authenticator {
        let authenticators = answers
            .into_iter()
            .map(|a| Box::new(Says(a)) as Box<dyn RequestAuthenticator>)
            .collect();
        Authenticator::new(authenticators, anonymous, Vec::new())
    }

    fn name(result: AuthResult) -> Option<(String, Vec<String>)> {
        match result {
            AuthResult::User(u) => Some((u.name, u.groups)),
            AuthResult::Invalid => None,
        }
    }

    #[test]
    fn first_user_wins_errors_do_not_stop_the_others() {
        let req = Request::default();
        let u = union(
            vec![
                Err("bad cert".into()),
                Ok(None),
                Ok(user("jane")),
                Ok(user("bob")),
            ],
            true,
        );
        assert_eq!(
            name(u.authenticate(&req)),
            Some((
                "jane".into(),
                vec!["dev".into(), AUTHENTICATED_GROUP.into()]
            ))
        );
    }

    #[test]
    fn errors_without_a_user_are_401_even_with_anonymous() {
        let req = Request::default();
        assert_eq!(
            name(
                union(vec![Ok(None), Err("invalid bearer token".into())], true).authenticate(&req)
            ),
            None
        );
        assert_eq!(
            name(union(vec![Ok(None)], true).authenticate(&req)),
            Some((ANONYMOUS_USER.into(), vec![UNAUTHENTICATED_GROUP.into()]))
        );
        assert_eq!(name(union(vec![Ok(None)], false).authenticate(&req)), None);
    }

    #[test]
    fn the_group_adder_respects_groups_already_there() {
        let mut u = user("jane").unwrap();
        u.groups = vec![UNAUTHENTICATED_GROUP.into()];
        assert_eq!(
            with_authenticated_group(u.clone()).groups,
            [UNAUTHENTICATED_GROUP]
        );
        u.groups = vec![AUTHENTICATED_GROUP.into(), "dev".into()];
        assert_eq!(
            with_authenticated_group(u).groups,
            [AUTHENTICATED_GROUP, "dev"]
        );
    }

    #[test]
    fn credentials_and_proxy_headers_are_cleared() {
        let u = Authenticator::new(
            Vec::new(),
            true,
            vec!["X-Remote-User".into(), "X-Remote-Extra-*".into()],
        );
        let h = |n: &str| (n.to_string(), "v".to_string());
        let mut req = Request {
            headers: vec![
                h("authorization"),
                h("x-remote-user"),
                h("X-REMOTE-EXTRA-scopes"),
                h("X-Remote-Group"),
                h("Accept"),
            ],
            ..Default::default()
        };
        u.clear_credentials(&mut req);
        let left: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(left, ["X-Remote-Group", "Accept"]);
    }
}
