//! Invoice items: their input, parsing (exact decimals, defaults from the product), the exact
//! line amounts and total, and the queries that replace and read an invoice's items.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result, on_foreign_key};
use crate::fields::{self, Checker};
use crate::ids::new_id;
use crate::products;
use crate::values::{self, DecimalInput};

/// Most items one invoice may have.
pub const MAX_ITEMS: usize = 200;
const DESCRIPTION_MAX: usize = 1000;

/// One line of an invoice.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct InvoiceItem {
    pub id: Uuid,
    #[serde(skip)]
    pub invoice_id: Uuid,
    pub product_id: Option<Uuid>,
    /// 0-based order within the invoice.
    pub position: i32,
    pub description: String,
    /// Decimal string, up to three decimal places (`"1.5"`).
    #[serde(serialize_with = "normalized")]
    #[schema(value_type = String, example = "3")]
    pub quantity: Decimal,
    #[schema(value_type = String, example = "19.99")]
    pub unit_price: Decimal,
    /// quantity × unit_price, rounded to cents (half away from zero).
    #[schema(value_type = String, example = "59.97")]
    pub amount: Decimal,
}

fn normalized<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.normalize().to_string())
}

macro_rules! item_columns {
    () => {
        "id, invoice_id, product_id, position, description, quantity, unit_price, amount"
    };
}

/// One item as a client sends it. With a `product_id`, `description` and `unit_price` default
/// to the product's name and price.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceItemInput {
    #[serde(default)]
    pub product_id: Option<Uuid>,
    #[serde(default)]
    pub description: Option<String>,
    /// Decimal string greater than 0, up to three decimal places.
    #[schema(value_type = String, example = "3")]
    pub quantity: DecimalInput,
    /// Decimal string, at least 0, up to two decimal places.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "19.99")]
    pub unit_price: Option<DecimalInput>,
}

/// A checked item before product defaults are filled in.
#[derive(Debug, Clone)]
pub(super) struct ItemDraft {
    product_id: Option<Uuid>,
    description: Option<String>,
    quantity: Decimal,
    unit_price: Option<Decimal>,
}

/// A complete item, ready to be written.
#[derive(Debug, Clone)]
pub(super) struct ItemValues {
    product_id: Option<Uuid>,
    description: String,
    quantity: Decimal,
    unit_price: Decimal,
    amount: Decimal,
}

/// Checks every item, recording problems as `items[i].field` in `c`.
pub(super) fn parse(c: &mut Checker, items: Vec<InvoiceItemInput>) -> Vec<ItemDraft> {
    if items.len() > MAX_ITEMS {
        c.add("items", format!("must have at most {MAX_ITEMS} items"));
        return Vec::new();
    }
    let mut drafts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        let description = c.check_opt(&field("description"), item.description, |v| {
            fields::optional_text(v, DESCRIPTION_MAX, false)
        });
        let quantity = c.check(&field("quantity"), values::quantity(item.quantity));
        let unit_price = c.check_opt(&field("unit_price"), item.unit_price, |v| {
            values::money(v, values::price_max()).map(Some)
        });
        if item.product_id.is_none() {
            if description.is_none() {
                c.add(&field("description"), "is required without a product_id");
            }
            if unit_price.is_none() {
                c.add(&field("unit_price"), "is required without a product_id");
            }
        }
        drafts.push(ItemDraft {
            product_id: item.product_id,
            description,
            quantity: quantity.unwrap_or(Decimal::ONE),
            unit_price,
        });
    }
    drafts
}

/// Fills in product defaults (the product must be the tenant's, live and active: 404
/// otherwise), computes each amount and the exact total.
pub(super) async fn resolve(
    conn: &mut PgConnection,
    drafts: Vec<ItemDraft>,
) -> Result<(Vec<ItemValues>, Decimal)> {
    let mut items = Vec::with_capacity(drafts.len());
    let mut total = Decimal::ZERO;
    for (i, d) in drafts.into_iter().enumerate() {
        // A referenced product must be one the tenant can see, even when nothing is copied.
        let (description, unit_price) = match d.product_id {
            Some(product_id) => {
                let field = format!("items[{i}].product_id");
                let (name, price) = products::get_for_invoice(conn, product_id, &field).await?;
                (d.description.unwrap_or(name), d.unit_price.unwrap_or(price))
            }
            None => (
                d.description.unwrap_or_default(),
                d.unit_price.unwrap_or_default(),
            ),
        };
        let amount = values::line_amount(d.quantity, unit_price)
            .filter(|a| *a <= values::total_max())
            .ok_or_else(|| Error::field(&format!("items[{i}]"), "amount is too large"))?;
        total = total
            .checked_add(amount)
            .filter(|t| *t <= values::total_max())
            .ok_or_else(|| Error::field("items", "total is too large"))?;
        items.push(ItemValues {
            product_id: d.product_id,
            description,
            quantity: d.quantity,
            unit_price,
            amount,
        });
    }
    total.rescale(2);
    Ok((items, total))
}

/// Replaces every item of `invoice_id` with `items`, in order.
pub(super) async fn replace(
    conn: &mut PgConnection,
    invoice_id: Uuid,
    items: &[ItemValues],
) -> Result<()> {
    sqlx::query(
        "DELETE FROM invoice_items WHERE user_id = app_current_user_id() AND invoice_id = $1",
    )
    .bind(invoice_id)
    .execute(&mut *conn)
    .await?;
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = items.iter().map(|_| new_id()).collect();
    let positions: Vec<i32> = (0..).take(items.len()).collect();
    sqlx::query(
        "INSERT INTO invoice_items
                (id, user_id, invoice_id, product_id, position, description, quantity, unit_price, amount)
         SELECT i.id, app_current_user_id(), $1, i.product_id, i.position, i.description,
                i.quantity, i.unit_price, i.amount
           FROM UNNEST($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::numeric[], $7::numeric[], $8::numeric[])
                AS i (id, product_id, position, description, quantity, unit_price, amount)",
    )
    .bind(invoice_id)
    .bind(&ids)
    .bind(items.iter().map(|i| i.product_id).collect::<Vec<_>>())
    .bind(&positions)
    .bind(items.iter().map(|i| i.description.clone()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.quantity).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.unit_price).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.amount).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(|e| on_foreign_key("invoice_items_product_fkey", e, "product not found"))?;
    Ok(())
}

/// The items of the invoices `$1`: one probe of the tenant's `(user_id, invoice_id, position)`
/// index per invoice. Unordered: PostgreSQL would sort the probes' rows, and a page's
/// transaction forbids sorts (see `db::begin_tenant_pages`); [`of`] orders them.
pub const ITEMS_OF_SQL: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM invoice_items WHERE user_id = app_current_user_id() AND invoice_id = ANY($1)"
);

/// The items of the given invoices, each invoice's in position order.
pub(super) async fn of(conn: &mut PgConnection, invoice_ids: &[Uuid]) -> Result<Vec<InvoiceItem>> {
    let mut items: Vec<InvoiceItem> = sqlx::query_as(ITEMS_OF_SQL)
        .bind(invoice_ids)
        .fetch_all(conn)
        .await?;
    items.sort_by_key(|i| (i.invoice_id, i.position));
    Ok(items)
}
