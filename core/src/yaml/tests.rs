use super::*;
use serde_json::json;

fn same(value: &Value) {
    let expected = serde_yaml::to_string(value).unwrap();
    assert_eq!(to_string(value), expected, "value: {value}");
}

#[test]
fn yaml_layout_matches_serde_yaml() {
    same(&json!(null));
    same(&json!({}));
    same(&json!([]));
    same(&json!({"a": [], "b": {}, "c": [[], {}], "d": null}));
    same(&json!({"key": ["a", "b"], "m": {"x": 1, "w": -2}}));
    same(&json!([{"a": 1, "b": 2}, [1, [2, 3]], "s"]));
    same(&json!({"k": "line1\nline2", "l": ["x\ny\n", " lead\n"], "t": "a\n\n"}));
    same(&json!({"a\nb": 1, "x".repeat(129): {"c": [1]}}));
    same(&json!({"f": 1.5, "g": -0.0, "h": 1e300, "t": "tab\there"}));
}

#[test]
fn yaml_quoting_matches_serde_yaml() {
    for s in [
        "", "null", "~", "true", "1", "01", "-01", "0x1F", "1e3", ".5", ".inf", "a: b", "a:b",
        "- a", "-a", "#c", "a #c", "a#c", "*x", "it's", " x", "x ", "---", "...", "\u{feff}",
        "a\tb",
    ] {
        same(&json!({ s: s }));
        same(&json!([s]));
    }
}

/// Strings that YAML 1.1 readers (go-yaml v2 under kubectl, kustomize and Argo CD; PyYAML)
/// read as something else are quoted, wherever serde_yaml (YAML 1.2) would not.
#[test]
fn yaml11_readings_are_quoted() {
    for s in [
        "y",
        "Y",
        "n",
        "N",
        "yes",
        "No",
        "on",
        "OFF",
        "<<",
        "=",
        "1_000",
        "0x_1F",
        "0O17",
        "0o17",
        "0b101",
        "017",
        "08",
        "1.",
        "+.5",
        "1e3",
        "-.INF",
        ".NaN",
        "1:20",
        "190:20:30.15",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
    ] {
        assert!(yaml11_reads_as_non_string(s), "{s}");
        let text = to_string(&json!({ s: [s] }));
        assert_eq!(text, format!("'{s}':\n- '{s}'\n"), "{s}");
    }
    for s in [
        "a", "yess", "x1", "1a", "0x", "1:", "1:2:", "v1.2", "1-2", "10.0.0.1",
    ] {
        assert!(!yaml11_reads_as_non_string(s), "{s}");
    }
}

/// NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are escaped, never written raw; where libyaml
/// double-quotes too (a tab forces it), the bytes are libyaml's.
#[test]
fn unicode_line_breaks_are_escaped() {
    assert_eq!(to_string(&json!("a\u{2028}b")), "\"a\\Lb\"\n");
    assert_eq!(to_string(&json!(["x\u{85}"])), "- \"x\\N\"\n");
    assert_eq!(to_string(&json!({"k": "\u{2029}"})), "k: \"\\P\"\n");
    for s in [
        "\t\u{2028}",
        "a\u{85}\tb\"\\\u{1}\u{feff}\u{10ffff}",
        "\u{2029}\t\n\u{0}",
    ] {
        same(&json!({ "k": s, "l": [s] }));
    }
}
