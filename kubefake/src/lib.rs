//! In-process fake Kubernetes API server for tests.
