//! How the agent names the Kubernetes API server in errors and logs: `scheme://host:port` of
//! the kubeconfig's (or in-cluster) server URL, never its user information, path or query,
//! which may carry credentials.

/// `scheme://host:port` (the port of the scheme when the URL gives none).
pub fn origin(scheme: Option<&str>, host: Option<&str>, port: Option<u16>) -> String {
    let scheme = scheme.unwrap_or("https");
    let host = host.unwrap_or("unknown-host");
    let port = port.unwrap_or(if scheme == "http" { 80 } else { 443 });
    format!("{scheme}://{host}:{port}")
}

/// The origin of the server a kube client configuration talks to.
pub fn of_config(config: &kube::Config) -> String {
    let url = &config.cluster_url;
    origin(url.scheme_str(), url.host(), url.port_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(url: &str) -> String {
        of_config(&kube::Config::new(url.parse().unwrap()))
    }

    #[test]
    fn only_scheme_host_and_port_are_shown() {
        assert_eq!(
            of("https://bob:s3cret@api.example.com:6443/k8s/?token=abc#x"),
            "https://api.example.com:6443"
        );
        assert_eq!(of("https://10.0.0.1"), "https://10.0.0.1:443");
        assert_eq!(of("http://localhost"), "http://localhost:80");
        assert_eq!(of("https://[::1]:6443"), "https://[::1]:6443");
    }
}
