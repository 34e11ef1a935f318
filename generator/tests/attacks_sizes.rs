//! Hostile sizes and shapes (`tests/data/attacks/size-*.yaml`) through the real binary: deep
//! nesting, custom tags, a site file too large, an object too large, templates that do not
//! stop or write too much. Each fixture's header says how to build the hostile input (so the
//! repository holds kilobytes, not the megabytes of the attack) and the exact refusal:
//!
//! ```text
//! # <what it is>
//! # expand: @TOKEN@ <count> <JSON string>      the string repeated, in place of the token
//! # template: <name> <JSON string>             a --templates override: the string, a line
//! #                                            break, then the embedded template
//! # command: render                            only `render` (default: render and validate)
//! # expect: <a whole line of stderr>           in order, one or more
//! ```
//!
//! Each command must exit 2, print nothing on stdout, write nothing, and print the expected
//! lines; render's stderr is snapshotted.

mod support;

use std::path::Path;

use support::Sandbox;

fixture_tests! {
    check_attack, ATTACKS;
    deep_flow_sequences_are_refused_before_parsing => "size-deep-flow-sequences",
    deep_flow_mappings_are_refused_before_parsing => "size-deep-flow-mappings",
    deep_block_sequences_are_refused_before_parsing => "size-deep-block-sequences",
    a_custom_tag_is_refused => "size-custom-tag",
    a_python_tag_is_refused => "size-python-tag",
    a_tag_directive_is_refused => "size-tag-directive",
    a_site_file_over_the_limit_is_refused_before_it_is_read => "size-site-file-too-large",
    an_object_over_the_limit_is_refused_naming_its_largest_value => "size-object-too-large",
    a_template_that_does_not_stop_runs_out_of_fuel => "size-template-endless-loop",
    a_template_that_writes_too_much_is_stopped => "size-template-output-too-large",
}

#[test]
fn every_size_attack_has_a_test() {
    let keep = |s: &str| s.starts_with("size-");
    support::fixtures::assert_listed(&support::data("attacks"), keep, ATTACKS, "fixture_tests!");
}

/// A fixture's header.
#[derive(Default)]
struct Header {
    expands: Vec<(String, usize, String)>,
    templates: Vec<(String, String)>,
    render_only: bool,
    expect: Vec<String>,
}

fn header(text: &str, file: &str) -> Header {
    let json = |s: &str| -> String {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("{file}: {s} is no JSON string: {e}"))
    };
    let mut header = Header::default();
    for (key, rest) in support::fixtures::header(text) {
        match key {
            "expand" => {
                let mut parts = rest.splitn(3, ' ');
                let (token, count, string) = (parts.next(), parts.next(), parts.next());
                let (Some(token), Some(count), Some(string)) = (token, count, string) else {
                    panic!("{file}: `# expand: @TOKEN@ <count> <JSON string>`");
                };
                header
                    .expands
                    .push((token.into(), count.parse().unwrap(), json(string)));
            }
            "template" => {
                let (name, string) = rest
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("{file}: `# template: <name> <JSON string>`"));
                header.templates.push((name.into(), json(string)));
            }
            "command" => {
                assert_eq!(rest, "render", "{file}: only `# command: render`");
                header.render_only = true;
            }
            "expect" => header.expect.push(rest.into()),
            _ => {}
        }
    }
    assert!(!header.expect.is_empty(), "{file}: no `# expect:` line");
    header
}

/// The fixture with its tokens expanded after the header (line numbers stay).
fn build(text: &str, header: &Header) -> String {
    let split = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| !text[i..].starts_with('#'))
        .unwrap_or(text.len());
    let (head, mut body) = (&text[..split], text[split..].to_string());
    for (token, count, string) in &header.expands {
        assert!(body.contains(token.as_str()), "{token} is not in the body");
        body = body.replace(token.as_str(), &string.repeat(*count));
    }
    format!("{head}{body}")
}

fn check_attack(name: &str) {
    let file = format!("{name}.yaml");
    let text = std::fs::read_to_string(support::data("attacks").join(&file)).unwrap();
    let header = header(&text, &file);
    let sandbox = Sandbox::new();
    let work = sandbox.join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join(&file), build(&text, &header)).unwrap();
    let mut args = vec!["--site".to_string(), file.clone()];
    if !header.templates.is_empty() {
        let dir = work.join("templates");
        std::fs::create_dir(&dir).unwrap();
        for (template, prefix) in &header.templates {
            let embedded = std::fs::read_to_string(
                support::manifest_dir().join("../templates").join(template),
            )
            .unwrap_or_else(|e| panic!("{file}: no embedded template {template}: {e}"));
            std::fs::write(dir.join(template), format!("{prefix}\n{embedded}")).unwrap();
        }
        args.extend(["--templates".into(), "templates".into()]);
    }
    let out = sandbox.join("out/repo");
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut all = vec![command.to_string()];
        all.extend(args.iter().cloned());
        all.extend(extra.iter().map(|s| s.to_string()));
        all
    };
    let render = with("render", &["--out", out.to_str().unwrap()]);
    let mut commands = vec![render];
    if !header.render_only {
        commands.push(with("validate", &[]));
    }
    let mut render_stderr = None;
    for command in &commands {
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let run = sandbox.hubdr_in(&work, &command);
        run.expect_code(2);
        assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
        assert!(
            !sandbox.join("out").exists(),
            "the output directory must not be created\n{run}"
        );
        assert_lines_in_order(&run.stderr, &header.expect, &run.to_string());
        render_stderr.get_or_insert(run.stderr.clone());
    }
    let listing = std::fs::read_dir(&work).unwrap().count();
    assert_eq!(
        listing,
        1 + usize::from(!header.templates.is_empty()),
        "nothing written beside the site file"
    );
    let stderr = render_stderr.unwrap();
    support::snapshots().bind(|| insta::assert_snapshot!(name, stderr));
}

/// Each of `expected` is a whole line of `stderr`, in this order.
#[track_caller]
fn assert_lines_in_order(stderr: &str, expected: &[String], run: &str) {
    let mut lines = stderr.lines();
    for want in expected {
        assert!(
            lines.any(|line| line == want),
            "stderr lacks the line (in this order):\n{want}\n{run}"
        );
    }
}

/// A site "file" that never ends (`/dev/zero` lists as 0 bytes): read only up to the limit.
/// (Not run against the code before the limit, which reads until memory runs out.)
#[test]
fn an_endless_site_file_is_refused_at_the_limit() {
    if !Path::new("/dev/zero").exists() {
        println!("skipped: no /dev/zero on this system");
        return;
    }
    let sandbox = Sandbox::new();
    let run = sandbox.hubdr(&["validate", "--site", "/dev/zero"]);
    run.expect_code(2).expect_stderr(
        "error: site file /dev/zero is larger than the limit of 16 MiB\n  fix: a site file holds",
    );
}
