//! Pure validators for the value formats found in a site file.
//!
//! Every function takes the raw text and returns `Result<_, String>`. The
//! error is a short message that says what is wrong and how to fix it, ready
//! to be shown to a user after the key path of the offending value. None of
//! these functions panic, whatever the input. They do no I/O and use no
//! dependencies.
//!
//! The formats follow what the consuming controllers accept:
//!
//! * cron schedules: the standard parser of `robfig/cron` v3 used by Velero
//!   and VolSync ([`parse_cron`]),
//! * durations: Go `time.ParseDuration`, as used by Kubernetes
//!   `metav1.Duration` ([`parse_duration`]),
//! * quantities: Kubernetes `resource.Quantity` ([`parse_quantity`]),
//! * names: Kubernetes DNS-1123 labels and subdomains
//!   ([`check_dns1123_label`], [`check_dns1123_subdomain`]),
//! * VolSync rsync-tls pre-shared key lines ([`check_psk_line`]),
//! * URLs, minimally ([`check_url`]).

mod cron;
mod duration;
mod names;
mod psk;
mod quantity;
mod url;

pub use cron::*;
pub use duration::*;
pub use names::*;
pub use psk::*;
pub use quantity::*;
pub use url::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_panics_on_odd_input() {
        let inputs = [
            "",
            " ",
            "\0",
            "-",
            "+",
            ".",
            ":",
            "@",
            "@every",
            "/",
            "*/",
            "µ",
            "é",
            "é:é",
            "💥",
            "-µs",
            "1µ",
            "0x10",
            "1e-",
            "[",
            "]",
            "://",
            "TZ=",
            "CRON_TZ=é",
            "*,*,*",
            "\u{200b}",
            "9999999999999999999999",
        ];
        for s in inputs {
            let _ = parse_cron(s);
            let _ = parse_cron(&format!("{s} * * * *"));
            let _ = parse_cron(&format!("0 0 {s} {s} {s}"));
            let _ = parse_duration(s);
            let _ = parse_quantity(s);
            let _ = check_dns1123_label(s);
            let _ = check_dns1123_subdomain(s);
            let _ = check_psk_line(s);
            let _ = check_url(s, &["https"]);
            let _ = check_url(&format!("https://{s}"), &["https"]);
            let _ = check_url(&format!("https://[{s}]:{s}"), &[]);
        }
    }
}
