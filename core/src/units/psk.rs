//! VolSync rsync-tls pre-shared key lines.

const PSK_MIN_HEX_DIGITS: usize = 32;
const PSK_HINT: &str =
    "write it as <identity>:<hex key>, for example volsync:$(openssl rand -hex 32)";

/// Checks a VolSync rsync-tls pre-shared key line `<identity>:<hex key>`
/// with at least 32 hex digits.
///
/// The messages never repeat the key (nor the line, which would contain it);
/// only the identity is quoted.
pub fn check_psk_line(s: &str) -> Result<(), String> {
    match psk_problem(s) {
        None => Ok(()),
        Some(problem) => Err(problem.message()),
    }
}

/// Whether `s` is a well-formed pre-shared key line: [`check_psk_line`] without building a
/// message, for scanning many strings.
pub fn is_psk_line(s: &str) -> bool {
    psk_problem(s).is_none()
}

/// What is wrong with a pre-shared key line; `None` when it is a valid one.
fn psk_problem(s: &str) -> Option<PskProblem<'_>> {
    let Some((id, key)) = s.split_once(':') else {
        return Some(PskProblem::NoColon);
    };
    if id.is_empty() {
        return Some(PskProblem::EmptyIdentity);
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(PskProblem::IdentityWhitespace(id));
    }
    if key.is_empty() {
        return Some(PskProblem::NoKey(id));
    }
    if let Some((index, c)) = key.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Some(PskProblem::NotHex {
            id,
            position: index + 1,
            whitespace: c.is_whitespace(),
        });
    }
    if key.len() < PSK_MIN_HEX_DIGITS {
        return Some(PskProblem::TooShort {
            id,
            digits: key.len(),
        });
    }
    None
}

enum PskProblem<'a> {
    NoColon,
    EmptyIdentity,
    IdentityWhitespace(&'a str),
    NoKey(&'a str),
    NotHex {
        id: &'a str,
        position: usize,
        whitespace: bool,
    },
    TooShort {
        id: &'a str,
        digits: usize,
    },
}

impl PskProblem<'_> {
    fn message(&self) -> String {
        match self {
            PskProblem::NoColon => format!(
                "the pre-shared key line has no ':' between identity and key; {PSK_HINT}"
            ),
            PskProblem::EmptyIdentity => format!(
                "the pre-shared key line has an empty identity before ':'; {PSK_HINT}"
            ),
            PskProblem::IdentityWhitespace(id) => format!(
                "the pre-shared key identity {id:?} contains whitespace; {PSK_HINT}"
            ),
            PskProblem::NoKey(id) => format!(
                "the pre-shared key line for {id:?} has no key after ':'; {PSK_HINT}"
            ),
            PskProblem::NotHex {
                id,
                position,
                whitespace,
            } => {
                let what = if *whitespace {
                    "whitespace (remove trailing spaces or newlines)"
                } else {
                    "a character that is not a hex digit (0-9, a-f)"
                };
                format!(
                    "the pre-shared key for {id:?} contains {what} at key position {position}; {PSK_HINT}"
                )
            }
            PskProblem::TooShort { id, digits } => format!(
                "the pre-shared key for {id:?} has {digits} hex digits but at least {PSK_MIN_HEX_DIGITS} are needed; {PSK_HINT}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_line() {
        let hex64 = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        assert_eq!(check_psk_line(&format!("volsync:{hex64}")), Ok(()));
        assert_eq!(
            check_psk_line(&format!("volsync:{}", "a".repeat(32))),
            Ok(())
        );

        let short = format!("volsync:{}", "a".repeat(31));
        let err = check_psk_line(&short).unwrap_err();
        assert!(err.contains("has 31 hex digits but at least 32"), "{err}");

        let cases: Vec<(String, &str)> = vec![
            (hex64.to_string(), "no ':'"),
            (format!(":{hex64}"), "empty identity"),
            ("volsync:".to_string(), "no key"),
            (format!("vol sync:{hex64}"), "contains whitespace"),
            (format!("volsync:{hex64}\n"), "whitespace (remove trailing"),
            (format!("volsync:{hex64}g"), "not a hex digit"),
            (format!("volsync:{hex64}:{hex64}"), "at key position 65"),
        ];
        for (input, needle) in &cases {
            let err = check_psk_line(input).unwrap_err();
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
            assert!(!err.contains(hex64), "the key must not be echoed: {err}");
        }
    }
}
