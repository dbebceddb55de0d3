//! The Lambda entry points with real SQS event JSON (built from messages
//! received from moto's SQS, as the event source mapping would deliver them),
//! against PostgreSQL and moto (SQS, SES, S3). `scripts/test` starts moto.

use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use stampede::configuration::Settings;
use stampede_aws::bootstrap::Resources;
use stampede_domain::card::TxKind;
use stampede_domain::ids::{BusinessId, CardId, CustomerId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::ports::{Queue, QueueMessage};
use stampede_lambda::{Function, Worker};
use stampede_store::testing::TestDatabase;
use uuid::Uuid;

struct World {
    _db: TestDatabase,
    settings: Settings,
    r: Resources,
    conf: stampede_aws::SdkConfig,
    moto: String,
}

async fn world() -> World {
    let moto = stampede_aws::testing::moto_url().unwrap_or_else(|e| panic!("{e}"));
    let prefix = format!("l{}", &Uuid::new_v4().simple().to_string()[..10]);
    let r = stampede_aws::testing::resources(&prefix, 2);
    let conf = stampede_aws::testing::sdk_config(&moto).await;
    stampede_aws::bootstrap::run(&conf, &r).await.expect("bootstrap");
    let db = TestDatabase::postgres().await;
    let data = std::env::temp_dir().join(format!("stampede-lambda-{prefix}"));
    let toml = format!(
        "data_dir = {data:?}\n[database]\nbackend = \"postgres\"\nurl = {url:?}\n[log]\nlevel = \"warn\"\n\
         [queue]\nbackend = \"sqs\"\n[mail]\nbackend = \"ses\"\nfrom = \"Stampede <{sender}>\"\n\
         [objects]\nbackend = \"s3\"\n[history]\nbackend = \"dynamodb\"\n\
         [identity]\nlink_secret = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"\n\
         [aws]\nendpoint_url = {moto:?}\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n\
         transactions_table = {tt:?}\nqueue_prefix = {qp:?}\nbucket = {b:?}\nmax_receive_count = 2\n",
        data = data.display().to_string(),
        url = db.options.url,
        sender = r.sender,
        tt = r.transactions_table,
        qp = r.queue_prefix,
        b = r.bucket,
    );
    let settings = Settings::from_toml(&toml).expect("settings");
    World { _db: db, settings, r, conf, moto }
}

fn transaction() -> TransactionMessage {
    TransactionMessage {
        schema_version: 1,
        transaction_id: Uuid::now_v7(),
        card_id: CardId(Uuid::now_v7()),
        customer_id: CustomerId(Uuid::now_v7()),
        business_id: BusinessId(Uuid::now_v7()),
        store_id: None,
        program_id: Uuid::now_v7(),
        program_version: 1,
        transaction_type: TxKind::StampIssuance,
        amount: 1,
        balance_after: 1,
        reward_id: None,
        reverses_id: None,
        timestamp: stampede_domain::ledger::now(),
        request_id: Some("req".into()),
    }
}

fn message(id: Uuid, message_type: &str, body: String) -> QueueMessage {
    QueueMessage { id, message_type: message_type.into(), schema_version: 1, request_id: None, body }
}

/// Receive what is visible and shape it as Lambda's SQS event.
async fn event_from_queue(sqs: &aws_sdk_sqs::Client, url: &str, arn: &str) -> (Value, Vec<(String, String)>) {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let mut handles = Vec::new();
    let records: Vec<Value> = out
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let id = m.message_id.clone().unwrap_or_default();
            handles.push((id.clone(), m.receipt_handle.clone().unwrap_or_default()));
            let attributes: serde_json::Map<String, Value> = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v)))
                .collect();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    (k, json!({"stringValue": v.string_value, "dataType": v.data_type, "stringListValues": [], "binaryListValues": []}))
                })
                .collect();
            json!({
                "messageId": id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    (json!({ "Records": records }), handles)
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_poison_message_alone_fails_and_reaches_the_dlq_after_the_receive_count() {
    let w = world().await;
    let worker = Worker::from_settings(Function::Loyalty, &w.settings).await.expect("cold start");
    let queue = stampede_aws::sqs::SqsQueue::from_conf(&w.conf, &w.r.queue_prefix);
    let good: Vec<QueueMessage> = (0..2)
        .map(|_| {
            let t = transaction();
            message(t.transaction_id, "transaction.committed", serde_json::to_string(&t).expect("json"))
        })
        .collect();
    let poison = message(Uuid::now_v7(), "transaction.committed", "{\"schema_version\": 1, \"oops\":".into());
    queue.publish("transaction", &good).await.expect("publish");
    queue.publish("transaction", std::slice::from_ref(&poison)).await.expect("publish poison");

    let sqs = aws_sdk_sqs::Client::new(&w.conf);
    let url = queue.url("transaction").await.expect("url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("arn")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("arn");

    // The event source mapping, by hand: receive, invoke, delete what did not
    // fail, make the failures visible again at once.
    let mut poison_sqs_id = None;
    let mut handled_good = 0;
    for round in 0..6 {
        let (event, handles) = event_from_queue(&sqs, &url, &arn).await;
        let records = event["Records"].as_array().map(Vec::len).unwrap_or(0);
        if records == 0 {
            break;
        }
        let response = worker.invoke(LambdaEvent::new(event.clone(), Context::default())).await.expect("invoke");
        let failed = failures(&response);
        for r in event["Records"].as_array().expect("records") {
            if r["body"].as_str() == Some(poison.body.as_str()) {
                poison_sqs_id = r["messageId"].as_str().map(str::to_owned);
            }
        }
        assert_eq!(
            failed,
            poison_sqs_id.iter().cloned().collect::<Vec<_>>(),
            "round {round}: exactly the poison fails"
        );
        for (id, handle) in handles {
            if failed.contains(&id) {
                sqs.change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .ok();
            } else {
                handled_good += 1;
                sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.expect("delete");
            }
        }
    }
    assert_eq!(handled_good, 2);
    let dlq = sqs
        .get_queue_url()
        .queue_name(stampede_aws::sqs::dlq_name(&w.r.queue_prefix, "transaction"))
        .send()
        .await
        .expect("dlq")
        .queue_url
        .expect("url");
    let dead = sqs.receive_message().queue_url(&dlq).wait_time_seconds(1).send().await.expect("receive dlq");
    let dead = dead.messages.unwrap_or_default();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(poison.body.as_str()));
}

#[tokio::test]
async fn the_email_function_sends_once_and_schedules_run() {
    let w = world().await;
    let worker = Worker::from_settings(Function::Email, &w.settings).await.expect("cold start");
    let to = format!("{}@example.com", Uuid::new_v4().simple());
    let email = stampede_domain::messages::EmailMessage {
        schema_version: 1,
        event_id: Uuid::now_v7(),
        template: "export_ready".into(),
        customer_id: None,
        to: Some(to.clone()),
        business_id: None,
        values: [("name", "Ada"), ("what", "transactions"), ("link", "https://x.test/d"), ("expires", "tomorrow")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        request_id: None,
        mailing_id: None,
    };
    let body = serde_json::to_string(&email).expect("json");
    let record = |n: u32| {
        json!({"messageId": Uuid::new_v4().to_string(), "receiptHandle": "h", "body": body,
            "attributes": {"ApproximateReceiveCount": n.to_string()},
            "messageAttributes": {"id": {"stringValue": email.event_id.to_string(), "dataType": "String",
                "stringListValues": [], "binaryListValues": []}},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
    };
    // Delivered twice (at least once): sent once.
    for n in 1..=2 {
        let event = json!({ "Records": [record(n)] });
        let response = worker.invoke(LambdaEvent::new(event, Context::default())).await.expect("invoke");
        assert!(failures(&response).is_empty(), "{response}");
    }
    let data: Value =
        reqwest::get(format!("{}/moto-api/data.json", w.moto)).await.expect("moto").json().await.expect("json");
    let sent = data["ses"]["Message"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == to.as_str())
        .count();
    assert_eq!(sent, 1);

    // EventBridge schedules.
    let scheduled = json!({"version": "0", "id": Uuid::new_v4().to_string(), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-26T00:15:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/stampede-daily"], "detail": {}});
    let analytics = Worker::from_settings(Function::Analytics, &w.settings).await.expect("cold start");
    let out = analytics.invoke(LambdaEvent::new(scheduled.clone(), Context::default())).await.expect("reports");
    assert!(out["reports"].is_number(), "{out}");
    let loyalty = Worker::from_settings(Function::Loyalty, &w.settings).await.expect("cold start");
    let out = loyalty.invoke(LambdaEvent::new(scheduled, Context::default())).await.expect("loyalty");
    assert_eq!(out["expired_cards"], 0);
    // Anything else is refused.
    assert!(worker.invoke(LambdaEvent::new(json!({"hello": 1}), Context::default())).await.is_err());
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_message() {
    let records: Vec<Value> = (0..3)
        .map(|i| json!({"messageId": format!("m{i}"), "body": format!("{i}"), "attributes": {}, "messageAttributes": {}}))
        .collect();
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({ "Records": records })).expect("event");
    let response = stampede_lambda::process_batch(event, |msg| async move {
        match msg.body.as_str() {
            "1" => panic!("boom"),
            "2" => Err(stampede_workers::failure::Failure::Retryable("later".into())),
            _ => Ok(()),
        }
    })
    .await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m1", "m2"]);
}

#[tokio::test]
async fn the_export_function_writes_to_s3_and_queues_the_email() {
    use stampede_domain::export::{Export, ExportKind, ExportMessage, ExportStatus};
    use stampede_domain::ports::ObjectStore;
    let w = world().await;
    let worker = Worker::from_settings(Function::Export, &w.settings).await.expect("cold start");
    let store = stampede_store::open(&w.settings.database_options()).await.expect("store");
    let today = chrono::Utc::now().date_naive();
    let export =
        Export::requested(ExportKind::Transactions, Some(BusinessId(Uuid::now_v7())), None, None, Some((today, today)));
    store.create_export(&export).await.expect("export");
    let body = serde_json::to_string(&ExportMessage { schema_version: 1, export_id: export.id, request_id: None })
        .expect("json");
    let event = json!({ "Records": [{"messageId": "x1", "receiptHandle": "h", "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:export", "awsRegion": "us-east-1"}]});
    let response = worker.invoke(LambdaEvent::new(event, Context::default())).await.expect("invoke");
    assert!(failures(&response).is_empty(), "{response}");
    let done = store.get_export(export.id).await.expect("get").expect("export");
    assert_eq!(done.status, ExportStatus::Done);
    let key = done.object_key.expect("key");
    let objects = stampede_aws::s3::S3Objects::from_conf(&w.conf, &w.r.bucket);
    let (csv, content_type) = objects.get(&key).await.expect("s3").expect("in S3");
    assert_eq!(content_type, "text/csv");
    assert!(String::from_utf8_lossy(&csv).starts_with("transaction_id,"));
    assert!(key.starts_with("private/exports/"));
}
