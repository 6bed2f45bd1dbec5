//! Authentication: who is asking (book chapter 3). Mirrors `DelegatingAuthenticationOptions` /
//! `BuiltInAuthenticationOptions.ToAuthenticationConfig` and the union authenticator they build.
//!
//! A request is tried against each way in, in kube-apiserver's order: bearer tokens from
//! `--token-auth-file` (plus the generated admin token), then anonymous if `--anonymous-auth`.
//! A token that matches nothing is a 401, not anonymous: a client that sent credentials meant
//! to be someone.

use std::collections::HashMap;
use std::path::Path;

use crate::http::Request;

/// `user.Info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

pub const ANONYMOUS_USER: &str = "system:anonymous";
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group that every authorizer chain allows everything (`user.SystemPrivilegedGroup`).
pub const MASTERS_GROUP: &str = "system:masters";

pub enum AuthResult {
    User(UserInfo),
    /// The request carried credentials and they are wrong: 401.
    Invalid,
}

// ANCHOR: authenticator
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
    anonymous: bool,
}

impl Authenticator {
    pub fn new(tokens: HashMap<String, UserInfo>, anonymous: bool) -> Authenticator {
        Authenticator { tokens, anonymous }
    }

    pub fn authenticate(&self, req: &Request) -> AuthResult {
        if let Some(header) = req.header("authorization") {
            let token = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty());
            return match token.and_then(|t| self.tokens.get(t)) {
                Some(user) => {
                    let mut user = user.clone();
                    if !user.groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
                        user.groups.push(AUTHENTICATED_GROUP.into());
                    }
                    AuthResult::User(user)
                }
                None => AuthResult::Invalid,
            };
        }
        if self.anonymous {
            return AuthResult::User(UserInfo {
                name: ANONYMOUS_USER.into(),
                uid: String::new(),
                groups: vec![UNAUTHENTICATED_GROUP.into()],
            });
        }
        AuthResult::Invalid
    }
}
// ANCHOR_END: authenticator

/// Reads a `--token-auth-file`: CSV lines `token,user,uid,"group1,group2"`, as
/// `k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile` reads them.
pub fn read_token_file(path: &Path) -> Result<HashMap<String, UserInfo>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--token-auth-file {}: {e}", path.display()))?;
    let mut tokens = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line)
            .map_err(|e| format!("--token-auth-file {} line {}: {e}", path.display(), n + 1))?;
        if fields.len() < 3 {
            return Err(format!(
                "--token-auth-file {} line {}: must have at least 3 columns (token, user name, user uid), found {}",
                path.display(),
                n + 1,
                fields.len()
            ));
        }
        let groups = fields
            .get(3)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let user = UserInfo {
            name: fields[1].clone(),
            uid: fields[2].clone(),
            groups,
        };
        if tokens.insert(fields[0].clone(), user).is_some() {
            log::warn!(
                "--token-auth-file {} line {}: duplicate token, the later line wins",
                path.display(),
                n + 1
            );
        }
    }
    Ok(tokens)
}

/// One CSV record: fields separated by commas, a field in double quotes may hold commas, and `""`
/// inside quotes is a quote.
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines() {
        let dir = std::env::temp_dir().join(format!("tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.csv");
        std::fs::write(&path, "t1,alice,1,\"dev,ops\"\n\nt2,bob,2\n").unwrap();
        let tokens = read_token_file(&path).unwrap();
        assert_eq!(tokens["t1"].groups, ["dev", "ops"]);
        assert_eq!(tokens["t2"].name, "bob");
        std::fs::write(&path, "only,two\n").unwrap();
        assert!(read_token_file(&path)
            .unwrap_err()
            .contains("at least 3 columns"));
        std::fs::write(&path, "a,b,c,\"open\n").unwrap();
        assert!(read_token_file(&path).is_err());
    }

    #[test]
    fn bearer_tokens_anonymous_and_bad_tokens() {
        let mut tokens = HashMap::new();
        tokens.insert(
            "good".to_string(),
            UserInfo {
                name: "alice".into(),
                ..Default::default()
            },
        );
        let authn = Authenticator::new(tokens, true);
        let req = |auth: Option<&str>| Request {
            headers: auth
                .map(|a| vec![("Authorization".to_string(), a.to_string())])
                .unwrap_or_default(),
            ..Default::default()
        };
        match authn.authenticate(&req(Some("Bearer good"))) {
            AuthResult::User(u) => assert_eq!(
                (u.name.as_str(), u.groups.as_slice()),
                ("alice", &[AUTHENTICATED_GROUP.to_string()][..])
            ),
            AuthResult::Invalid => panic!("good token refused"),
        }
        assert!(matches!(
            authn.authenticate(&req(Some("Bearer bad"))),
            AuthResult::Invalid
        ));
        match authn.authenticate(&req(None)) {
            AuthResult::User(u) => assert_eq!(u.name, ANONYMOUS_USER),
            AuthResult::Invalid => panic!("anonymous refused"),
        }
        let closed = Authenticator::new(HashMap::new(), false);
        assert!(matches!(
            closed.authenticate(&req(None)),
            AuthResult::Invalid
        ));
    }
}
