//! JSON request bodies: any bytes decode into an input type with field errors or are refused
//! (no panic), and decoded inputs parse into checked values or field errors.
#![no_main]

use fieldwork_core::customers::CustomerCreate;
use fieldwork_core::fields::from_json_value;
use fieldwork_core::invoices::InvoiceCreate;
use fieldwork_core::products::ProductCreate;
use fieldwork_core::tickets::TicketCreate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(c) = from_json_value::<CustomerCreate>(value.clone()) {
        let _ = c.parse();
    }
    if let Ok(t) = from_json_value::<TicketCreate>(value.clone()) {
        let _ = t.parse();
    }
    if let Ok(p) = from_json_value::<ProductCreate>(value.clone()) {
        let _ = p.parse();
    }
    let _ = from_json_value::<InvoiceCreate>(value.clone());
    let _ = from_json_value::<fieldwork_core::auth::RegisterInput>(value);
});
