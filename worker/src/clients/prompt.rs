//! The extraction prompt: `templates/prompts/ticket_attributes.{system,user}.j2` rendered with
//! minijinja from the attribute schema's categories and descriptions (the schema is the
//! single source: a category added there appears in the prompt) and the notes. Its version is
//! a hash of both templates and the schema, so `extraction.prompt_version` changes exactly when
//! what the model was asked changes.

use fieldwork_core::extraction::{AttributeSchema, ExtractionInput};
use minijinja::{Environment, context};
use serde::Serialize;
use sha2::{Digest, Sha256};

const SYSTEM: &str = include_str!("../../../templates/prompts/ticket_attributes.system.j2");
const USER: &str = include_str!("../../../templates/prompts/ticket_attributes.user.j2");

/// The rendered messages of one request.
#[derive(Debug, Clone)]
pub struct PromptMessages {
    pub system: String,
    pub user: String,
}

/// The prompt templates, parsed once.
#[derive(Debug)]
pub struct Prompt {
    env: Environment<'static>,
    categories: Vec<Category>,
    version: String,
}

#[derive(Debug, Clone, Serialize)]
struct Category {
    name: String,
    description: String,
}

impl Prompt {
    /// Parses the templates; a template error stops start-up.
    pub fn new(schema: &AttributeSchema) -> Result<Prompt, String> {
        let mut env = Environment::new();
        env.add_template("system", SYSTEM)
            .map_err(|e| format!("ticket_attributes.system.j2: {e}"))?;
        env.add_template("user", USER)
            .map_err(|e| format!("ticket_attributes.user.j2: {e}"))?;
        let categories = schema
            .categories()
            .into_iter()
            .map(|(name, description)| Category {
                name: name.to_owned(),
                description: description.to_owned(),
            })
            .collect();
        let mut hash = Sha256::new();
        for part in [
            SYSTEM,
            USER,
            fieldwork_core::extraction::schema::SCHEMA_JSON,
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let digest: String = hash
            .finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Prompt {
            env,
            categories,
            version: format!("ticket_attributes-{digest}"),
        })
    }

    /// `ticket_attributes-<12 hex>`: changes whenever the templates or the schema change.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The system and user messages for `input`.
    pub fn render(&self, input: &ExtractionInput) -> Result<PromptMessages, String> {
        let visit_date = input.visit_date.format("%Y-%m-%d").to_string();
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| {
                    t.render(context! {
                        categories => minijinja::value::Serde(&self.categories),
                        visit_date => &visit_date,
                        notes => &input.notes,
                    })
                })
                .map_err(|e| format!("cannot render the {name} prompt: {}", e.kind()))
        };
        Ok(PromptMessages {
            system: render("system")?,
            user: render("user")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_prompt_lists_every_category_of_the_schema_and_carries_the_notes() {
        let schema = fieldwork_core::extraction::schema().unwrap();
        let prompt = Prompt::new(schema).unwrap();
        let input = ExtractionInput {
            notes: "Dog named Biscuit.".into(),
            visit_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        };
        let m = prompt.render(&input).unwrap();
        for (name, description) in schema.categories() {
            assert!(
                m.system.contains(&format!("- {name}: {description}")),
                "{name}"
            );
        }
        assert!(m.system.contains("2026-03-02"));
        assert!(m.user.contains("Dog named Biscuit."));
        assert!(
            !m.system.contains("Biscuit"),
            "notes only in the user message"
        );
        assert!(prompt.version().starts_with("ticket_attributes-"));
        assert_eq!(prompt.version().len(), "ticket_attributes-".len() + 12);
    }
}
