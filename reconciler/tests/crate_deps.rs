//! The agent does not link the renderer: `hubdr-agent` depends on `hubdr-core` for what both
//! sides read and write, never on the generator crate `hubdr` (minijinja, the pack writer, the
//! renderer). Only its tests may use the generator, to render the sites they apply.

/// The dependencies the agent's binary links that name the generator crate, as `section: line`.
fn generator_deps(cargo_toml: &str) -> Vec<String> {
    let mut section = String::new();
    let mut found = Vec::new();
    for line in cargo_toml.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.starts_with('[') {
            section = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
            // `[dependencies.hubdr]`
            if section.ends_with("dependencies.hubdr") && !section.contains("dev-dependencies") {
                found.push(section.clone());
            }
            continue;
        }
        let linked = section.ends_with("dependencies") && !section.ends_with("dev-dependencies");
        if !linked {
            continue;
        }
        let name = line
            .split(['=', '.'])
            .next()
            .unwrap()
            .trim()
            .trim_matches('"');
        let renamed = line.contains("package") && line.contains("\"hubdr\"");
        let by_path = line.contains("../generator");
        if name == "hubdr" || renamed || by_path {
            found.push(format!("{section}: {line}"));
        }
    }
    found
}

#[test]
fn the_agent_does_not_depend_on_the_generator() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let found = generator_deps(&text);
    assert!(
        found.is_empty(),
        "reconciler/Cargo.toml makes hubdr-agent link the generator crate `hubdr`: {found:?}; \
         move what the agent needs into hubdr-core (core/) and depend on that"
    );
    assert!(
        text.contains("hubdr-core = { path = \"../core\" }"),
        "hubdr-agent should depend on hubdr-core"
    );
}

#[test]
fn every_way_of_naming_the_generator_is_caught() {
    for toml in [
        "[dependencies]\nhubdr = { path = \"../generator\" }\n",
        "[dependencies]\ngen = { package = \"hubdr\", path = \"x\" }\n",
        "[dependencies.hubdr]\npath = \"../generator\"\n",
        "[target.'cfg(unix)'.dependencies]\nhubdr.path = \"../generator\"\n",
        "[build-dependencies]\nhubdr = \"0.1\"\n",
    ] {
        assert!(!generator_deps(toml).is_empty(), "not caught: {toml}");
    }
    for toml in [
        "[dev-dependencies]\nhubdr = { path = \"../generator\" }\n",
        "[dependencies]\nhubdr-core = { path = \"../core\" }\n# hubdr = 1\n",
    ] {
        assert!(generator_deps(toml).is_empty(), "wrongly caught: {toml}");
    }
}
