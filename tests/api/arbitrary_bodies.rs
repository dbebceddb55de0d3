//! Every write endpoint that takes JSON, read from the OpenAPI document,
//! gets arbitrary JSON, and bodies with its own fields holding arbitrary
//! values (control characters, NULs, huge and negative numbers, deep
//! nesting), as the role it is made for, on both databases: every answer is
//! 2xx or 4xx, and every 4xx is problem+json. Cases are generated from a
//! fixed seed, so a failure repeats; the failing body is printed.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::pos::{Counter, counter};

both_backends!(write_endpoints_answer_arbitrary_json_with_2xx_or_4xx_only);

/// Cases per operation and kind of body.
const CASES: usize = 40;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(-1i64), Just(0), Just(1), Just(i64::MAX), Just(i64::MIN), Just(1 << 53)].prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN", |f| f.is_finite()).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        "[\\x00-\\x1f]{1,4}".prop_map(Value::from),
        Just(Value::from("a\u{0}b")),
        Just(Value::from("x".repeat(10_000))),
        Just(Value::from("00000000-0000-0000-0000-000000000000")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,10}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the schema's shape, mostly: each field of its type (strings
/// with control characters, integers at their edges, ids of the test's world
/// or of nothing), now and then one of any type at all.
fn typed(doc: &Value, schema: &Value, ids: &[String], depth: u32) -> BoxedStrategy<Value> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return typed(doc, &doc["components"]["schemas"][name], ids, depth);
    }
    let parts: Vec<&Value> =
        ["allOf", "oneOf", "anyOf"].iter().flat_map(|k| schema[*k].as_array().into_iter().flatten()).collect();
    if !parts.is_empty() && depth < 4 {
        let merged = parts.iter().map(|p| typed(doc, p, ids, depth + 1)).collect::<Vec<_>>();
        return proptest::strategy::Union::new(merged).boxed();
    }
    let kind = schema["type"].as_str().or_else(|| schema["type"].as_array().and_then(|t| t[0].as_str()));
    let own = match kind {
        Some("string") if schema["format"] == "uuid" => {
            let mut choices: Vec<Value> = ids.iter().map(|i| Value::from(i.as_str())).collect();
            choices.push(Value::from(uuid::Uuid::now_v7().to_string()));
            proptest::sample::select(choices).boxed()
        }
        Some("string") => prop_oneof![
            "[a-zA-Z0-9 ]{0,20}".prop_map(Value::from),
            ".{0,30}".prop_map(Value::from),
            "[\\x00-\\x1f]{1,3}".prop_map(Value::from),
            Just(Value::from("a\u{0}b")),
            Just(Value::from("x".repeat(10_000))),
        ]
        .boxed(),
        Some("integer" | "number") => prop_oneof![
            (-5i64..100).prop_map(Value::from),
            prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(1 << 53), Just(-1)].prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ]
        .boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
        Some("array") if depth < 4 => {
            prop::collection::vec(typed(doc, &schema["items"], ids, depth + 1), 0..4).prop_map(Value::from).boxed()
        }
        _ if schema["properties"].is_object() && depth < 4 => object(doc, schema, ids, depth),
        _ => json_value().boxed(),
    };
    prop_oneof![9 => own, 1 => json_value()].boxed()
}

/// An object with most of the schema's properties, each `typed`.
fn object(doc: &Value, schema: &Value, ids: &[String], depth: u32) -> BoxedStrategy<Value> {
    let (names, values): (Vec<String>, Vec<BoxedStrategy<Value>>) = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, s)| (k.clone(), typed(doc, s, ids, depth + 1)))
        .unzip();
    let keep = prop::collection::vec(prop::bool::weighted(0.8), names.len());
    (values, keep)
        .prop_map(move |(values, keep)| {
            let present = names.iter().zip(values).zip(keep).filter(|(_, keep)| *keep);
            Value::Object(present.map(|((k, v), _)| (k.clone(), v)).collect())
        })
        .boxed()
}

struct Who {
    owner: String,
    customer: String,
    terminal: String,
}

impl Who {
    /// The credentials a path is made for.
    fn for_path(&self, path: &str) -> &str {
        if path.starts_with("/v1/pos/") {
            &self.terminal
        } else if path.starts_with("/v1/me") || path.ends_with("/join") {
            &self.customer
        } else {
            &self.owner
        }
    }
}

/// The path with its parameters filled: the world's ids where the name
/// matches, a random id elsewhere.
fn fill(path: &str, c: &Counter) -> String {
    let known = [
        ("business_id", c.business_id.as_str()),
        ("store_id", c.store_id.as_str()),
        ("program_id", c.stamp_program.as_str()),
        ("card_id", c.stamp_card.as_str()),
        ("reward_id", c.free_coffee.as_str()),
    ];
    let mut out = String::new();
    for segment in path.split('/').skip(1) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match known.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&uuid::Uuid::now_v7().to_string()),
            },
            None => out.push_str(segment),
        }
    }
    out
}

async fn write_endpoints_answer_arbitrary_json_with_2xx_or_4xx_only(backend: DatabaseBackend) {
    let limits = "[rate_limits]\npos_per_terminal = { count = 100000, period_secs = 1 }\n";
    let c = counter(backend, "actors", limits).await;
    let customer = crate::admin::customer(&c.app, "fuzz@example.com").await;
    let who = Who { owner: c.owner.clone(), customer, terminal: c.key.clone() };
    let doc: Value =
        c.app.client.get(c.app.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    let ids: Vec<String> =
        [&c.business_id, &c.store_id, &c.stamp_program, &c.stamp_card, &c.points_card, &c.free_coffee]
            .into_iter()
            .cloned()
            .collect();
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut operations = 0;
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch"] {
            let op = &item[method];
            let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object() else { continue };
            let shape = typed(&doc, &Value::Object(schema.clone()), &ids, 0);
            operations += 1;
            for case in 0..CASES * 2 {
                let body = if case % 2 == 0 {
                    json_value().new_tree(&mut runner).expect("value").current()
                } else {
                    shape.new_tree(&mut runner).expect("value").current()
                };
                let url = c.app.url(&fill(path, &c));
                let req = match method {
                    "post" => c.app.client.post(url),
                    "put" => c.app.client.put(url),
                    _ => c.app.client.patch(url),
                };
                let res = req
                    .bearer_auth(who.for_path(path))
                    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                    .header("if-match", "\"1\"")
                    .json(&body)
                    .send()
                    .await
                    .expect("request");
                let status = res.status();
                *tally.entry(status.as_u16()).or_default() += 1;
                let problem = res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let text = res.text().await.unwrap_or_default();
                let shown: String = body.to_string().chars().take(400).collect();
                assert!(status.as_u16() < 500, "{method} {path} answered {status} to {shown}: {text}");
                if status.is_client_error() {
                    assert_eq!(
                        problem.as_deref(),
                        Some("application/problem+json"),
                        "{method} {path} {status}: {text}"
                    );
                }
            }
        }
    }
    assert!(operations >= 30, "the document lists the write endpoints ({operations} found)");
    eprintln!("{operations} operations, answers by status: {tally:?}");
    // Bodies got past parsing to the checks behind it, and some went through.
    assert!(tally.get(&422).is_some_and(|n| *n > 0), "{tally:?}");
    assert!(tally.keys().any(|s| (200..300).contains(s)), "{tally:?}");
    // The world still works: a stamp goes through.
    assert_eq!(c.stamp("after-the-storm", 1).await.status(), 201);
}
