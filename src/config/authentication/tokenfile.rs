//! Bearer tokens: `--token-auth-file` read as
//! `k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile` reads it, behind the
//! `Authorization: Bearer` parsing of `authentication/request/bearertoken`.

use std::collections::HashMap;
use std::path::Path;

use super::{RequestAuthenticator, UserInfo};
use crate::http::Request;

/// The users of a token file, by token.
pub struct TokenFile {
    tokens: HashMap<String, UserInfo>,
}

impl TokenFile {
    pub fn new(tokens: HashMap<String, UserInfo>) -> TokenFile {
        TokenFile { tokens }
    }
}

// ANCHOR: bearer_token
/// The token of an `Authorization: Bearer <token>` header. Any other scheme (`Basic ...`), or
/// an empty token, is not a bearer token at all: the request goes on as if it had none, as
/// Go's `bearertoken` authenticator lets it.
fn bearer_token(req: &Request) -> Option<&str> {
    let header = req.header("authorization")?.trim();
    let mut parts = header.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl RequestAuthenticator for TokenFile {
    fn authenticate(&self, req: &Request) -> Result<Option<UserInfo>, String> {
        let Some(token) = bearer_token(req) else {
            return Ok(None);
        };
        // An unknown token is an error, not "no opinion": a client that sent one meant to be
        // someone, and must not silently become anonymous.
        match self.tokens.get(token) {
            Some(user) => Ok(Some(user.clone())),
            None => Err("invalid bearer token".into()),
        }
    }
}
// ANCHOR_END: bearer_token

/// Reads a `--token-auth-file`: CSV lines `token,user,uid,"group1,group2"`.
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
            ..Default::default()
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

    fn with_authorization(value: &str) -> Request {
        Request {
            headers: vec![("Authorization".into(), value.into())],
            ..Default::default()
        }
    }

    #[test]
    fn bearer_tokens_known_unknown_and_other_schemes() {
        let alice = UserInfo {
            name: "alice".into(),
            ..Default::default()
        };
        let file = TokenFile::new(HashMap::from([("good".to_string(), alice.clone())]));
        let auth = |v: &str| file.authenticate(&with_authorization(v));
        assert_eq!(auth("Bearer good"), Ok(Some(alice.clone())));
        assert_eq!(auth("bearer good"), Ok(Some(alice)));
        assert_eq!(auth("Bearer bad"), Err("invalid bearer token".into()));
        // Not bearer tokens: another authenticator (or anonymous) may take the request.
        assert_eq!(auth("Basic YWxpY2U6cHc="), Ok(None));
        assert_eq!(auth("Bearer "), Ok(None));
        assert_eq!(file.authenticate(&Request::default()), Ok(None));
    }
}
