//! Money and quantities: any string or JSON value parses or is refused (no panic, no
//! overflow); accepted values keep their scale and bounds, and a line amount never panics.
#![no_main]

use fieldwork_core::values::{self, DecimalInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let from_json = serde_json::from_slice::<DecimalInput>(data).ok();
    for input in std::iter::once(DecimalInput(text)).chain(from_json) {
        let money = values::money(input.clone(), values::price_max());
        let quantity = values::quantity(input);
        if let Ok(m) = &money {
            assert!(m.scale() == 2 && !m.is_sign_negative() && *m <= values::price_max());
        }
        if let Ok(q) = &quantity {
            assert!(q.scale() == 3 && q.is_sign_positive());
        }
        if let (Ok(m), Ok(q)) = (money, quantity) {
            let _ = values::line_amount(q, m);
        }
    }
});
