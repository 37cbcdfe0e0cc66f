//! Products: physical items sold alongside services, priced exactly (`NUMERIC(10,2)`) and
//! referenced by invoice items. The entity, its create/patch inputs and their parsing; queries
//! live in `service`.

mod service;

pub use service::{create, delete, get, get_for_invoice, list, update};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::fields::{self, Checker, FieldError, JsonInput, Patch};
use crate::values::{self, DecimalInput};

/// A product as clients see it. Money is a decimal string (`"19.99"`).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = String, example = "19.99")]
    pub price: Decimal,
    /// Stock keeping unit: unique (case-insensitively) among the tenant's live products.
    pub sku: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, user_id, name, description, price, sku, is_active, created_at, updated_at"
    };
}
pub(crate) use columns;

crate::entity::entity!(Product, table: "products", audit: "product", not_found: "product not found",
    columns: columns!());

const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 5000;
const SKU_MAX: usize = 64;

const READ_ONLY: &[&str] = &["id", "user_id", "created_at", "updated_at", "deleted_at"];

/// Body of `POST /api/data/products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductCreate {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Decimal string, at least 0, at most two decimal places.
    #[schema(value_type = String, example = "19.99")]
    pub price: DecimalInput,
    #[serde(default)]
    pub sku: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub is_active: Option<bool>,
}
impl JsonInput for ProductCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/products/{id}`: only the fields sent change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Patch<DecimalInput>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub sku: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub is_active: Patch<bool>,
}
impl JsonInput for ProductPatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Every writable column of a product, checked.
#[derive(Debug, Clone)]
pub struct ProductValues {
    pub name: String,
    pub description: Option<String>,
    pub price: Decimal,
    pub sku: Option<String>,
    pub is_active: bool,
}

fn name(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, NAME_MAX, false)
}
fn description(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, DESCRIPTION_MAX, true)
}
fn price(v: DecimalInput) -> Result<Decimal, FieldError> {
    values::money(v, values::price_max())
}
fn sku(v: String) -> Result<Option<String>, FieldError> {
    let sku = fields::optional_text(v, SKU_MAX, false)?;
    if sku
        .as_deref()
        .is_some_and(|s| s.chars().any(char::is_whitespace))
    {
        return Err(FieldError::new("must not contain spaces"));
    }
    Ok(sku)
}

impl ProductCreate {
    /// Checks every field, reporting all problems at once.
    pub fn parse(self) -> Result<ProductValues> {
        let mut c = Checker::new();
        let name = c.check("name", name(self.name));
        let price = c.check("price", price(self.price));
        let values = ProductValues {
            name: name.unwrap_or_default(),
            description: c.check_opt("description", self.description, description),
            price: price.unwrap_or_default(),
            sku: c.check_opt("sku", self.sku, sku),
            is_active: self.is_active.unwrap_or(true),
        };
        c.finish()?;
        Ok(values)
    }
}

impl ProductPatch {
    /// Applies the patch to `current`, checking every sent field.
    pub fn apply(self, current: &Product) -> Result<ProductValues> {
        let mut c = Checker::new();
        let current = current.clone();
        let values = ProductValues {
            name: c.patch_required("name", self.name, current.name, name),
            description: c.patch_nullable(
                "description",
                self.description,
                current.description,
                description,
            ),
            price: c.patch_required("price", self.price, current.price, price),
            sku: c.patch_nullable("sku", self.sku, current.sku, sku),
            is_active: c.patch_required("is_active", self.is_active, current.is_active, Ok),
        };
        c.finish()?;
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::from_json_value;
    use serde_json::json;

    #[test]
    fn prices_are_exact_and_never_negative() {
        let p: ProductCreate =
            from_json_value(json!({"name": "Filter", "price": "19.99"})).unwrap();
        assert_eq!(p.parse().unwrap().price.to_string(), "19.99");
        let p: ProductCreate = from_json_value(json!({"name": "Filter", "price": "-1"})).unwrap();
        assert!(p.parse().is_err());
        let p: ProductCreate =
            from_json_value(json!({"name": "Filter", "price": "1", "sku": "A B"})).unwrap();
        assert!(p.parse().is_err());
    }
}
