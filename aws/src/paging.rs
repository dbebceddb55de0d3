//! Cursor pages over a DynamoDB index, newest first. The domain's cursor is the
//! id of the last item of the previous page; the query continues from that
//! item's own key (table key plus index key), read back by id.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use stampede_domain::ports::StoreResult;

use crate::sdk_error;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// An index of a table: its name, partition key and sort key attributes.
pub(crate) struct Index<'a> {
    pub table: &'a str,
    pub table_key: &'a str,
    pub name: &'a str,
    pub partition: &'a str,
    pub sort: &'a str,
}

impl Index<'_> {
    /// Read one item by its table key.
    pub async fn get(&self, client: &Client, id: &str) -> StoreResult<Option<Item>> {
        let out = client
            .get_item()
            .table_name(self.table)
            .key(self.table_key, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb get", e))?;
        Ok(out.item)
    }

    /// Up to `want` items whose partition key is `value`, newest first, after
    /// the item with table key `after` (`Ok(None)` when that item is gone).
    pub async fn newest_first(
        &self,
        client: &Client,
        value: &str,
        after: Option<&str>,
        want: usize,
    ) -> StoreResult<Option<Vec<Item>>> {
        let mut exclusive = match after {
            Some(id) => match self.get(client, id).await? {
                Some(item) => Some(
                    [self.table_key, self.partition, self.sort]
                        .into_iter()
                        .filter_map(|k| item.get(k).map(|v| (k.to_owned(), v.clone())))
                        .collect::<Item>(),
                ),
                None => return Ok(None),
            },
            None => None,
        };
        let mut items = Vec::with_capacity(want);
        loop {
            let out = client
                .query()
                .table_name(self.table)
                .index_name(self.name)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", self.partition)
                .expression_attribute_values(":k", AttributeValue::S(value.to_owned()))
                .scan_index_forward(false)
                .limit(i32::try_from(want - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(exclusive)
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb query", e))?;
            items.extend(out.items.unwrap_or_default());
            exclusive = out.last_evaluated_key;
            if items.len() >= want || exclusive.is_none() {
                return Ok(Some(items));
            }
        }
    }
}
