//! hubdr-agent: pulls the rendered repository, applies this cluster's directory, reports status.
