//! Tests of `detect`. Key-shaped strings are assembled at run time so that this file does not
//! itself look like it holds keys to a secret scanner.

use base64::Engine;

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn aws_key_id() -> String {
    format!("AKIA{}", "IOSFODNN7EXAMPLE")
}

fn aws_secret() -> String {
    format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYEXAMPLEKEY")
}

fn pem(label: &str) -> String {
    format!(
        "-----BEGIN {label}-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END {label}-----\n"
    )
}

fn jwt_token() -> String {
    format!(
        "{}.{}.{}",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
}

#[test]
fn aws_keys_are_found_alone_and_inside_pasted_text() {
    let id = aws_key_id();
    let secret = aws_secret();
    assert_eq!(in_text(&id), Some(What::AwsAccessKeyId));
    assert_eq!(
        in_text(&format!("ASIA{}", "Y34FZKBOKMUTVV7A")),
        Some(What::AwsAccessKeyId)
    );
    assert_eq!(in_text(&secret), Some(What::AwsSecretAccessKey));
    assert_eq!(
        in_text(&format!(
            "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
        )),
        Some(What::AwsAccessKeyId)
    );
    assert_eq!(
        in_text(&format!("AWS_SECRET_ACCESS_KEY={secret}")),
        Some(What::AwsSecretAccessKey)
    );
    // Too short, too long, or inside a longer word: not a key id.
    assert_eq!(in_text("AKIAIOSFODNN7EXAMP"), None);
    assert_eq!(in_text(&format!("{id}X")), None);
    assert_eq!(in_text(&format!("X{id}")), None);
}

#[test]
fn every_pem_private_key_shape_is_found() {
    for label in [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        assert_eq!(in_text(&pem(label)), Some(What::PrivateKey), "{label}");
        // Pasted on one line, and base64-encoded as a whole.
        assert_eq!(
            in_text(&pem(label).replace('\n', " ")),
            Some(What::PrivateKey),
            "{label}"
        );
        assert_eq!(
            in_text(&b64(&pem(label))),
            Some(What::PrivateKey),
            "{label}"
        );
    }
}

#[test]
fn a_gcp_service_account_key_is_found() {
    let key = format!(
        "{{\"type\": \"service_account\", \"project_id\": \"p\", \"private_key_id\": \"1\", \"private_key\": \"{}\"}}",
        pem("PRIVATE KEY").replace('\n', "\\n")
    );
    assert!(in_text(&key).is_some());
    assert_eq!(
        in_text("{\"type\":\"service_account\",\"project_id\":\"p\"}"),
        Some(What::GcpServiceAccountKey)
    );
    assert_eq!(
        in_text("{\"client_email\": \"x\", \"private_key\": \"...\"}"),
        Some(What::GcpServiceAccountKey)
    );
    assert_eq!(in_text(&b64(&key)), Some(What::GcpServiceAccountKey));
}

#[test]
fn azure_keys_connection_strings_and_sas_tokens_are_found() {
    // Azurite's published development key.
    let key = format!(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/{}==",
        "K1SZFPTOtr/KBHBeksoGMGw"
    );
    assert_eq!(key.len(), 88);
    assert_eq!(in_text(&key), Some(What::AzureAccountKey));
    assert_eq!(
        in_text(&format!(
            "DefaultEndpointsProtocol=https;AccountName=acmbackups;AccountKey={key};EndpointSuffix=core.windows.net"
        )),
        Some(What::AzureAccountKey)
    );
    assert_eq!(
        in_text("BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=abc"),
        Some(What::AzureSharedAccessSignature)
    );
    assert_eq!(
        in_text("https://acm.blob.core.windows.net/backups?sv=2022-11-02&se=2030-01-01&sp=rwl&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D"),
        Some(What::AzureSharedAccessSignature)
    );
    assert_eq!(in_text("design=a-long-value-that-is-no-signature"), None);
}

#[test]
fn git_forge_tokens_jwts_and_bearer_tokens_are_found() {
    let classic = format!("ghp_{}", "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6");
    assert_eq!(in_text(&classic), Some(What::GitHubToken));
    assert_eq!(
        in_text(&classic.replacen("ghp_", "gho_", 1)),
        Some(What::GitHubToken)
    );
    assert_eq!(
        in_text(&format!("github_pat_11ABCDEFG0{}", "x".repeat(70))),
        Some(What::GitHubToken)
    );
    assert_eq!(
        in_text(&format!("glpat-{}", "xYz12AbC34dEf56GhI78")),
        Some(What::GitLabToken)
    );
    assert_eq!(in_text(&jwt_token()), Some(What::Jwt));
    assert_eq!(
        in_text(&format!(
            "Authorization: Bearer {}",
            "sk-live-0123456789abcdef"
        )),
        Some(What::BearerToken)
    );
    // Prose and short names are not tokens.
    assert_eq!(in_text("ghp_short"), None);
    assert_eq!(in_text("Bearer tokens are never stored here"), None);
    assert_eq!(in_text("eyJ-but-not-a-token"), None);
}

#[test]
fn url_credentials_are_found_but_plain_urls_are_not() {
    assert_eq!(
        in_text("https://x-access-token:s3cr3t-t0ken@git.example.com/acm-dr.git"),
        Some(What::UrlCredentials)
    );
    assert_eq!(
        in_text("https://0123456789abcdef0123456789abcdef@git.example.com/acm-dr.git"),
        Some(What::UrlCredentials)
    );
    for url in [
        "https://git.example.com/platform/acm-dr.git",
        "ssh://git@git.example.com:2222/platform/acm-dr.git",
        "git@github.com:platform/acm-dr.git",
        "https://api.east-1.example.com:6443",
        "s3://bucket@region/prefix",
    ] {
        assert_eq!(in_text(url), None, "{url}");
    }
}

#[test]
fn pre_shared_keys_are_found_but_digests_are_not() {
    let hex = "0123456789abcdef".repeat(4);
    assert_eq!(in_text(&format!("volsync:{hex}")), Some(What::PreSharedKey));
    assert_eq!(
        in_text(&format!("volsync:{hex}\n")),
        Some(What::PreSharedKey)
    );
    for digest in [
        format!("sha256:{hex}"),
        format!("SHA512:{hex}{hex}"),
        format!("quay.io/acm-dr/hubdr-agent@sha256:{hex}"),
    ] {
        assert_eq!(in_text(&digest), None, "{digest}");
    }
}

#[test]
fn ordinary_values_are_not_key_material() {
    let sha1 = "3f786850e387550fdab836ed7e6dc881de23001b";
    let ca = b64(&pem("CERTIFICATE"));
    for value in [
        "restore-acm-passive-sync",
        "open-cluster-management-backup",
        "cloud-credentials",
        "0 */2 * * *",
        sha1,
        &sha1.to_ascii_uppercase(),
        &"ab".repeat(64),
        &pem("CERTIFICATE"),
        &ca,
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "hubdr.io/wait-for: cluster hub-a reports BackupSchedule gone at generation >= 3",
        "AKIA is how AWS key ids start",
        "ThisIsAnOrdinarySentenceWithoutAnyKeysInIt",
    ] {
        assert_eq!(in_text(value), None, "{value}");
    }
}

#[test]
fn secret_names_are_recognised_in_any_spelling() {
    for name in [
        "password",
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "secretAccessKey",
        "clientSecret",
        "private_key",
        "AccountKey",
        "connection-string",
        "token",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in [
        "credentialsSecret",
        "pskSecret",
        "gitCredentialsSecret",
        "storageAccountKeyEnvVar",
        "kmsKeyId",
        "aws_access_key_id",
        "name",
        "tokens-and-more",
    ] {
        assert!(!is_secret_name(name), "{name}");
    }
}

#[test]
fn base64_data_values_are_decoded() {
    assert_eq!(in_encoded(&b64(&aws_key_id())), Some(What::AwsAccessKeyId));
    assert_eq!(in_encoded(&b64("just a setting")), None);
    assert_eq!(in_encoded("not base64 at all!"), None);
}
