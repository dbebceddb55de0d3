//! `stampede bootstrap`: create, idempotently, every AWS resource Stampede
//! uses, against the configured endpoint. For local development and tests;
//! production uses the deploy templates (`deploy/aws/`), which describe the
//! same resources. Running it twice changes nothing the second time.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use stampede_domain::ports::{StoreError, StoreResult};

use crate::history::{GSI_CARD, GSI_CUSTOMER};
use crate::sdk_error;
use crate::sqs::{TOPICS, dlq_name, queue_name};

/// The names of everything bootstrap creates.
#[derive(Debug, Clone)]
pub struct Resources {
    pub transactions_table: String,
    pub sessions_table: String,
    pub audit_table: String,
    pub queue_prefix: String,
    /// Receives before SQS moves a message to the dead-letter queue.
    pub max_receive_count: u32,
    /// Seconds a received message stays invisible to other consumers.
    pub visibility_timeout_secs: u32,
    /// The verified sender address (bare, no display name).
    pub sender: String,
    pub bucket: String,
    pub region: String,
}

/// One line per resource: what was created and what already existed.
pub async fn run(conf: &SdkConfig, r: &Resources) -> StoreResult<Vec<String>> {
    let mut report = Vec::new();
    let dynamo = aws_sdk_dynamodb::Client::new(conf);
    for t in tables(r) {
        report.push(ensure_table(&dynamo, &t).await?);
    }
    let sqs = aws_sdk_sqs::Client::new(conf);
    for topic in TOPICS {
        report.push(ensure_queue(&sqs, r, topic).await?);
    }
    let ses = aws_sdk_sesv2::Client::new(conf);
    report.push(ensure_sender(&ses, &r.sender).await?);
    let s3 = crate::s3::S3Objects::client_for(conf);
    report.push(ensure_bucket(&s3, &r.bucket, &r.region).await?);
    Ok(report)
}

struct Table {
    name: String,
    key: &'static str,
    /// (index name, partition key, sort key)
    indexes: Vec<(&'static str, &'static str, &'static str)>,
}

fn tables(r: &Resources) -> Vec<Table> {
    vec![
        Table {
            name: r.transactions_table.clone(),
            key: "TransactionId",
            indexes: vec![(GSI_CUSTOMER, "CustomerId", "Timestamp"), (GSI_CARD, "CardId", "Timestamp")],
        },
        Table {
            name: r.sessions_table.clone(),
            key: "TokenHash",
            indexes: vec![("GSI1", "FamilyId", "IssuedAt"), ("GSI2", "SubjectId", "IssuedAt")],
        },
        Table { name: r.audit_table.clone(), key: "AuditId", indexes: vec![("GSI1", "BusinessId", "Timestamp")] },
    ]
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Other(format!("bootstrap: {e}")))
}

fn key(name: &str, kind: KeyType) -> StoreResult<KeySchemaElement> {
    build(KeySchemaElement::builder().attribute_name(name).key_type(kind).build())
}

fn attribute(name: &str) -> StoreResult<AttributeDefinition> {
    build(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build())
}

async fn ensure_table(client: &aws_sdk_dynamodb::Client, t: &Table) -> StoreResult<String> {
    let mut attrs = vec![t.key];
    for (_, pk, sk) in &t.indexes {
        for a in [*pk, *sk] {
            if !attrs.contains(&a) {
                attrs.push(a);
            }
        }
    }
    let mut req = client
        .create_table()
        .table_name(&t.name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(t.key, KeyType::Hash)?);
    for a in attrs {
        req = req.attribute_definitions(attribute(a)?);
    }
    for (name, pk, sk) in &t.indexes {
        req = req.global_secondary_indexes(build(
            GlobalSecondaryIndex::builder()
                .index_name(*name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build(),
        )?);
    }
    let created = match req.send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => false,
        Err(e) => return Err(sdk_error(&format!("create table {}", t.name), e)),
    };
    client
        .update_time_to_live()
        .table_name(&t.name)
        .time_to_live_specification(build(
            TimeToLiveSpecification::builder().attribute_name("ExpiresAt").enabled(true).build(),
        )?)
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            // Enabling TTL twice is refused by AWS ("already enabled").
            if e.as_service_error().is_some_and(|s| s.to_string().contains("already enabled")) {
                Ok(())
            } else {
                Err(sdk_error(&format!("ttl on {}", t.name), e))
            }
        })?;
    Ok(format!("dynamodb table {}: {}", t.name, if created { "created" } else { "exists" }))
}

async fn ensure_queue(client: &aws_sdk_sqs::Client, r: &Resources, topic: &str) -> StoreResult<String> {
    // create_queue with the same attributes is idempotent in SQS.
    let dlq = dlq_name(&r.queue_prefix, topic);
    let dlq_url = client
        .create_queue()
        .queue_name(&dlq)
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| sdk_error(&format!("create queue {dlq}"), e))?
        .queue_url
        .ok_or_else(|| StoreError::Other(format!("no url for {dlq}")))?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("attributes of {dlq}"), e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| StoreError::Other(format!("no arn for {dlq}")))?;
    let name = queue_name(&r.queue_prefix, topic);
    let redrive = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": r.max_receive_count.to_string() });
    let url = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::VisibilityTimeout, r.visibility_timeout_secs.to_string())
        .send()
        .await
        .map_err(|e| sdk_error(&format!("create queue {name}"), e))?
        .queue_url
        .ok_or_else(|| StoreError::Other(format!("no url for {name}")))?;
    // The redrive policy is set separately so a changed receive count applies
    // to an existing queue too.
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| sdk_error(&format!("redrive of {name}"), e))?;
    Ok(format!("sqs queue {name} (dead letters: {dlq}, after {} receives): ready", r.max_receive_count))
}

async fn ensure_sender(client: &aws_sdk_sesv2::Client, sender: &str) -> StoreResult<String> {
    match client.get_email_identity().email_identity(sender).send().await {
        Ok(_) => return Ok(format!("ses identity {sender}: exists")),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => {}
        Err(e) => return Err(sdk_error(&format!("ses identity {sender}"), e)),
    }
    match client.create_email_identity().email_identity(sender).send().await {
        Ok(_) => Ok(format!("ses identity {sender}: created (on AWS, confirm the verification email)")),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) => {
            Ok(format!("ses identity {sender}: exists"))
        }
        Err(e) => Err(sdk_error(&format!("create ses identity {sender}"), e)),
    }
}

async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &str, region: &str) -> StoreResult<String> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(format!("s3 bucket {bucket}: exists"));
    }
    let mut req = client.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses an explicit location constraint.
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(format!("s3 bucket {bucket}: created")),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {
            Ok(format!("s3 bucket {bucket}: exists"))
        }
        Err(e) => Err(sdk_error(&format!("create bucket {bucket}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deploy template describes the resources bootstrap creates: the same
    /// table names, keys, indexes and TTL, and every queue with its DLQ.
    #[test]
    fn the_deploy_template_matches_bootstrap() {
        let text = include_str!("../../deploy/aws/stampede.cfn.json").replace("${Prefix}", "stampede-");
        let tpl: serde_json::Value = serde_json::from_str(&text).expect("template is JSON");
        let resources = tpl["Resources"].as_object().expect("resources");
        let of_type = |t: &str| resources.values().filter(move |r| r["Type"] == t).collect::<Vec<_>>();
        let r = Resources {
            transactions_table: "stampede-transactions".into(),
            sessions_table: "stampede-sessions".into(),
            audit_table: "stampede-audit".into(),
            queue_prefix: "stampede-".into(),
            max_receive_count: 5,
            visibility_timeout_secs: 60,
            sender: "no-reply@example.com".into(),
            bucket: "b".into(),
            region: "us-east-1".into(),
        };
        let cfn_tables = of_type("AWS::DynamoDB::Table");
        assert_eq!(cfn_tables.len(), tables(&r).len());
        for t in tables(&r) {
            let cfn = cfn_tables
                .iter()
                .find(|c| c["Properties"]["TableName"]["Fn::Sub"] == t.name.as_str())
                .unwrap_or_else(|| panic!("table {} is not in the template", t.name));
            let p = &cfn["Properties"];
            assert_eq!(p["KeySchema"][0]["AttributeName"], t.key, "{}", t.name);
            assert_eq!(p["TimeToLiveSpecification"]["AttributeName"], "ExpiresAt");
            let gsis: Vec<(String, String, String)> = p["GlobalSecondaryIndexes"]
                .as_array()
                .expect("indexes")
                .iter()
                .map(|g| {
                    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                    (s(&g["IndexName"]), s(&g["KeySchema"][0]["AttributeName"]), s(&g["KeySchema"][1]["AttributeName"]))
                })
                .collect();
            let want: Vec<(String, String, String)> =
                t.indexes.iter().map(|(n, pk, sk)| ((*n).to_owned(), (*pk).to_owned(), (*sk).to_owned())).collect();
            assert_eq!(gsis, want, "{}", t.name);
        }
        let queues = of_type("AWS::SQS::Queue");
        for topic in TOPICS {
            let name = queue_name(&r.queue_prefix, topic);
            let dlq = dlq_name(&r.queue_prefix, topic);
            let q = queues
                .iter()
                .find(|q| q["Properties"]["QueueName"]["Fn::Sub"] == name.as_str())
                .unwrap_or_else(|| panic!("queue {name} is not in the template"));
            let target = q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].as_str();
            let target = target.and_then(|l| resources.get(l)).expect("redrive target");
            assert_eq!(target["Properties"]["QueueName"]["Fn::Sub"], dlq.as_str());
        }
        assert_eq!(of_type("AWS::S3::Bucket").len(), 1);
        assert_eq!(of_type("AWS::SES::EmailIdentity").len(), 1);
        assert_eq!(of_type("AWS::Cognito::UserPool").len(), 2);
    }
}
