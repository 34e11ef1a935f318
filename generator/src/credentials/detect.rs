//! What one string looks like, when it looks like key material. Pure, and cheap for the
//! ordinary strings of a site or a manifest: strings shorter than any key are passed over at
//! once; the rest are searched once for the prefixes keys start with (one automaton for all of
//! them), and each hit is confirmed by the shape of what follows it. Messages built from a
//! finding never repeat the string.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use base64::Engine;

use crate::site::units;

/// A kind of key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum What {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    GcpServiceAccountKey,
    AzureAccountKey,
    AzureSharedAccessSignature,
    PrivateKey,
    GitHubToken,
    GitLabToken,
    Jwt,
    BearerToken,
    UrlCredentials,
    PreSharedKey,
    /// A field named like a secret (`password`, `aws_secret_access_key`, ...) with a value.
    SecretField,
    /// `stringData` (or a top-level `data`): a Secret's payload, on whatever kind.
    SecretPayload,
}

impl What {
    /// In words, after "looks like".
    pub fn describe(self) -> &'static str {
        match self {
            What::AwsAccessKeyId => "an AWS access key id",
            What::AwsSecretAccessKey => "an AWS secret access key",
            What::GcpServiceAccountKey => "a GCP service-account key (JSON with a private key)",
            What::AzureAccountKey => "an Azure storage account key or connection string",
            What::AzureSharedAccessSignature => "an Azure shared access signature (SAS token)",
            What::PrivateKey => "a PEM private key",
            What::GitHubToken => "a GitHub token",
            What::GitLabToken => "a GitLab token",
            What::Jwt => "a JSON Web Token (a bearer token)",
            What::BearerToken => "a bearer token",
            What::UrlCredentials => "a URL with a password or token in it",
            What::PreSharedKey => "a pre-shared key",
            What::SecretField => "a secret value (the field is named like one)",
            What::SecretPayload => "a Secret's payload (stringData or data)",
        }
    }

    /// The message of a finding, after its field path.
    pub fn message(self) -> String {
        match self {
            What::SecretPayload => format!(
                "{} on an object that is not a Secret; credentials never go into git",
                self.describe()
            ),
            _ => format!(
                "looks like {}; credentials never go into git",
                self.describe()
            ),
        }
    }
}

/// No key material is shorter: an AWS access key id has 20 characters, and the others more
/// (a URL with a password and a real host name too).
const MIN_LEN: usize = 20;

/// Confirms a hit of a trigger: `s` is the whole string, `at..end` the trigger's bytes.
type Confirm = fn(s: &[u8], at: usize, end: usize) -> Option<What>;

/// The prefixes key material starts with (or text around it always holds), each with what
/// confirms a hit.
const TRIGGERS: &[(&str, Confirm)] = &[
    ("AKIA", aws_access_key_id),
    ("ASIA", aws_access_key_id),
    ("aws_secret_access_key", aws_secret_assignment),
    ("AWS_SECRET_ACCESS_KEY", aws_secret_assignment),
    // Every PEM private key: PRIVATE KEY, RSA / EC / DSA / OPENSSH / ENCRYPTED PRIVATE KEY,
    // PGP PRIVATE KEY BLOCK.
    ("PRIVATE KEY-----", private_key),
    ("PRIVATE KEY BLOCK-----", private_key),
    ("service_account", gcp_type),
    ("\"private_key\"", gcp_private_key),
    ("AccountKey=", azure_key),
    ("SharedAccessKey=", azure_key),
    ("SharedAccessSignature=", azure_sas),
    ("sig=", azure_sig),
    ("ghp_", github_classic),
    ("gho_", github_classic),
    ("ghu_", github_classic),
    ("ghs_", github_classic),
    ("ghr_", github_classic),
    ("github_pat_", github_fine_grained),
    ("glpat-", gitlab),
    ("eyJ", jwt),
    ("Bearer ", bearer),
    ("bearer ", bearer),
    ("://", url_credentials),
];

static AUTOMATON: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new(TRIGGERS.iter().map(|(pattern, _)| pattern))
        .expect("the trigger patterns compile")
});

/// Where the prefixes key material starts with (and the text around it holds) occur in `text`,
/// unconfirmed; non-overlapping.
pub(super) fn trigger_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    AUTOMATON.find_iter(text).map(|m| m.start())
}

/// What `s` looks like, if it looks like key material. Long base64 text is decoded and its
/// content checked too (a base64-encoded private key is still a private key).
pub fn in_text(s: &str) -> Option<What> {
    if !may_be_key_material(s.as_bytes()) {
        return None;
    }
    in_plain(s).or_else(|| {
        (s.len() >= 40 && is_base64_blob(s.as_bytes()))
            .then(|| in_encoded(s))
            .flatten()
    })
}

/// What the base64 text `s` holds once decoded (the values of a Secret-like `data` map).
pub fn in_encoded(s: &str) -> Option<What> {
    let decoded = decode_base64(s)?;
    let text = String::from_utf8_lossy(&decoded);
    in_plain(&text)
}

/// `in_text` without decoding.
fn in_plain(s: &str) -> Option<What> {
    let bytes = s.as_bytes();
    if bytes.len() < MIN_LEN {
        return None;
    }
    if may_hold_a_trigger(bytes) {
        for hit in AUTOMATON.find_overlapping_iter(s) {
            let (_, confirm) = TRIGGERS[hit.pattern().as_usize()];
            if let Some(what) = confirm(bytes, hit.start(), hit.end()) {
                return Some(what);
            }
        }
        if bytes.contains(&b':') && is_psk(s) {
            return Some(What::PreSharedKey);
        }
    }
    if is_aws_secret_access_key(bytes) {
        return Some(What::AwsSecretAccessKey);
    }
    if is_azure_account_key(bytes) {
        return Some(What::AzureAccountKey);
    }
    None
}

/// For each byte: 1 when every trigger holding it starts there or after (`A` of `AKIA`,
/// `ASIA`, `AWS_`, `AccountKey=`; `J` of `eyJ`; `_`, `=`, space, `"`, `:` of the others), 2 for
/// the `g` of `glpat-`, the one trigger without such a byte.
const TRIGGER_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let special = b"AJ_= \":";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = 1;
        i += 1;
    }
    table[b'g' as usize] = 2;
    table
};

/// Whether a trigger (or a pre-shared key line) can be in `bytes`: false for most names,
/// numbers and paths, which are then not searched at all.
fn may_hold_a_trigger(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| match TRIGGER_BYTES[b as usize] {
            0 => false,
            1 => true,
            _ => bytes[i..].starts_with(b"glpat-"),
        })
}

/// False when `bytes` cannot be key material ([`in_text`] would find nothing): a cheap test
/// that passes over most strings without looking further.
pub fn may_be_key_material(bytes: &[u8]) -> bool {
    bytes.len() >= MIN_LEN && (bytes.len() >= 40 || may_hold_a_trigger(bytes))
}

/// Whether a field of this name holds a secret value (`password`, `aws_secret_access_key`,
/// `clientSecret`, `token`, ...): compared without case, `_`, `-` and `.`.
pub fn is_secret_name(key: &str) -> bool {
    is_secret_name_bytes(key.as_bytes())
}

/// [`is_secret_name`] of a name's bytes.
pub fn is_secret_name_bytes(key: &[u8]) -> bool {
    const NAMES: [&str; 24] = [
        "password",
        "passwd",
        "secretkey",
        "secretaccesskey",
        "awssecretaccesskey",
        "sessiontoken",
        "awssessiontoken",
        "token",
        "accesstoken",
        "authtoken",
        "bearertoken",
        "apitoken",
        "apikey",
        "privatekey",
        "clientsecret",
        "azureclientsecret",
        "accountkey",
        "storageaccountkey",
        "storageaccountaccesskey",
        "azurestorageaccountaccesskey",
        "azurestoragekey",
        "sastoken",
        "connectionstring",
        "azurestorageconnectionstring",
    ];
    const MAX: usize = 32;
    if key.len() < 5 || key.len() > MAX + 8 {
        return false;
    }
    // Every name ends with one of these words: most field names are passed over without
    // normalizing them, at their last letter.
    if !matches!(
        key[key.len() - 1].to_ascii_lowercase(),
        b'y' | b'n' | b't' | b'd' | b'g'
    ) {
        return false;
    }
    let ends_with = |word: &[u8]| {
        key.len() >= word.len() && key[key.len() - word.len()..].eq_ignore_ascii_case(word)
    };
    if !(ends_with(b"key")
        || ends_with(b"token")
        || ends_with(b"secret")
        || ends_with(b"word")
        || ends_with(b"passwd")
        || ends_with(b"string"))
    {
        return false;
    }
    let mut buf = [0u8; MAX];
    let mut len = 0;
    for &b in key {
        if matches!(b, b'_' | b'-' | b'.') {
            continue;
        }
        if len == MAX {
            return false;
        }
        buf[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let normalized = &buf[..len];
    NAMES.iter().any(|n| n.as_bytes() == normalized)
}

/// The end of a PEM private key's header or footer line.
fn private_key(_: &[u8], _: usize, _: usize) -> Option<What> {
    Some(What::PrivateKey)
}

/// The `"private_key"` field of a service-account key file.
fn gcp_private_key(_: &[u8], _: usize, _: usize) -> Option<What> {
    Some(What::GcpServiceAccountKey)
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether the byte before `at` (if any) ends a word: a key starts at a word boundary.
fn starts_word(s: &[u8], at: usize, in_word: fn(u8) -> bool) -> bool {
    at == 0 || !in_word(s[at - 1])
}

/// How many bytes from `from` on satisfy `f`.
fn run(s: &[u8], from: usize, f: fn(u8) -> bool) -> usize {
    s.get(from..)
        .map_or(0, |rest| rest.iter().take_while(|b| f(**b)).count())
}

/// `AKIA` / `ASIA` and 16 more upper-case letters or digits, as a word of its own.
fn aws_access_key_id(s: &[u8], at: usize, end: usize) -> Option<What> {
    let upper_digit = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let tail = run(s, end, upper_digit);
    (starts_word(s, at, is_alnum) && tail == 16).then_some(What::AwsAccessKeyId)
}

/// `aws_secret_access_key = <key>` (a pasted credentials file or environment).
fn aws_secret_assignment(s: &[u8], _at: usize, end: usize) -> Option<What> {
    let filler = |b: u8| matches!(b, b' ' | b'\t' | b'"' | b'\'');
    let mut i = end + run(s, end, filler);
    if !matches!(s.get(i), Some(b'=' | b':')) {
        return None;
    }
    i += 1;
    i += run(s, i, filler);
    let key = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    (run(s, i, key) >= 16).then_some(What::AwsSecretAccessKey)
}

/// 40 characters of the base64 alphabet with upper and lower case and digits: the shape of an
/// AWS secret access key. (Hex digests and names lack one of the three.)
fn is_aws_secret_access_key(s: &[u8]) -> bool {
    s.len() == 40
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
        && mixed(s)
}

/// 88 characters of base64 ending in `==`: the shape of an Azure storage account key.
fn is_azure_account_key(s: &[u8]) -> bool {
    s.len() == 88
        && s.ends_with(b"==")
        && s[..86]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
        && mixed(s)
}

/// Upper case, lower case and digits all present.
fn mixed(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
}

/// `"type": "service_account"` (or `type: service_account`).
fn gcp_type(s: &[u8], at: usize, end: usize) -> Option<What> {
    let before = &s[at.saturating_sub(16)..at];
    let quoted_after = s.get(end) != Some(&b'_') && !s.get(end).copied().is_some_and(is_alnum);
    (quoted_after && before.windows(4).any(|w| w == b"type")).then_some(What::GcpServiceAccountKey)
}

fn base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// `AccountKey=<base64>` in a connection string.
fn azure_key(s: &[u8], _at: usize, end: usize) -> Option<What> {
    (run(s, end, base64_char) >= 20).then_some(What::AzureAccountKey)
}

/// `SharedAccessSignature=<token>` in a connection string.
fn azure_sas(s: &[u8], _at: usize, end: usize) -> Option<What> {
    let token = |b: u8| !b.is_ascii_whitespace() && b != b';';
    (run(s, end, token) >= 10).then_some(What::AzureSharedAccessSignature)
}

/// `?...&sig=<signature>`: the signature of a SAS URL or token.
fn azure_sig(s: &[u8], at: usize, end: usize) -> Option<What> {
    let after_separator = at == 0 || matches!(s[at - 1], b'?' | b'&' | b';');
    let signature = |b: u8| base64_char(b) || b == b'%';
    (after_separator && run(s, end, signature) >= 16).then_some(What::AzureSharedAccessSignature)
}

/// `ghp_` and at least 30 letters and digits (classic GitHub tokens have 36).
fn github_classic(s: &[u8], at: usize, end: usize) -> Option<What> {
    let word = |b: u8| is_alnum(b) || b == b'_';
    (starts_word(s, at, word) && run(s, end, is_alnum) >= 30).then_some(What::GitHubToken)
}

/// `github_pat_` and at least 22 letters, digits and underscores.
fn github_fine_grained(s: &[u8], at: usize, end: usize) -> Option<What> {
    let word = |b: u8| is_alnum(b) || b == b'_';
    (starts_word(s, at, word) && run(s, end, word) >= 22).then_some(What::GitHubToken)
}

/// `glpat-` and at least 20 letters, digits, `_`, `-` or `.`.
fn gitlab(s: &[u8], at: usize, end: usize) -> Option<What> {
    let token = |b: u8| is_alnum(b) || matches!(b, b'_' | b'-' | b'.');
    (starts_word(s, at, is_alnum) && run(s, end, token) >= 20).then_some(What::GitLabToken)
}

fn base64url_char(b: u8) -> bool {
    is_alnum(b) || b == b'_' || b == b'-'
}

/// Three base64url segments separated by dots, the first a JSON object (`eyJ` is `{"`).
fn jwt(s: &[u8], at: usize, _end: usize) -> Option<What> {
    if !starts_word(s, at, base64url_char) {
        return None;
    }
    let header = run(s, at, base64url_char);
    let mut i = at + header;
    if header < 10 || s.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let payload = run(s, i, base64url_char);
    i += payload;
    (payload >= 10 && s.get(i) == Some(&b'.')).then_some(What::Jwt)
}

/// `Bearer <token>` (an Authorization header).
fn bearer(s: &[u8], _at: usize, end: usize) -> Option<What> {
    let token = |b: u8| is_alnum(b) || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-');
    (run(s, end, token) >= 16).then_some(What::BearerToken)
}

/// `scheme://user:password@host` (or a token as the user).
fn url_credentials(s: &[u8], _at: usize, end: usize) -> Option<What> {
    let authority = run(s, end, |b| {
        !b.is_ascii_whitespace()
            && !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>')
    });
    let authority = &s[end..end + authority];
    let at = authority.iter().rposition(|b| *b == b'@')?;
    let userinfo = &authority[..at];
    let password = userinfo
        .iter()
        .position(|b| *b == b':')
        .is_some_and(|colon| colon + 1 < userinfo.len());
    let token_user = userinfo.len() >= 20 && userinfo.iter().all(|b| base64url_char(*b));
    (password || token_user).then_some(What::UrlCredentials)
}

/// A VolSync pre-shared key line `<identity>:<32+ hex digits>` on a line of its own; not a
/// digest such as `sha256:<hex>` or an image reference `image@sha256:<hex>`.
fn is_psk(s: &str) -> bool {
    s.lines().any(|line| {
        units::is_psk_line(line) && {
            let id = line.split_once(':').map_or("", |(id, _)| id);
            let algorithm = id.rsplit('@').next().unwrap_or(id);
            ![
                "sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b", "blake3",
            ]
            .iter()
            .any(|a| algorithm.eq_ignore_ascii_case(a))
        }
    })
}

/// Base64 text of some length (line breaks allowed) that is not merely hex digits.
fn is_base64_blob(s: &[u8]) -> bool {
    let mut hex_only = true;
    for &b in s {
        if !(base64_char(b) || b == b'-' || b == b'_' || b.is_ascii_whitespace()) {
            return false;
        }
        hex_only &= b.is_ascii_hexdigit() || b.is_ascii_whitespace();
    }
    !hex_only
}

/// The bytes of base64 (standard or URL-safe, padded or not; whitespace ignored).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE_NO_PAD.decode(compact.trim_end_matches('=')))
        .ok()
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
