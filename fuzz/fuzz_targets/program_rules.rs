//! A program's rules as a business sends them (JSON): parsing never panics,
//! validating never panics, and rules that parse read back the same after
//! writing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::program::ProgramRules;

fuzz_target!(|data: &[u8]| {
    let Ok(rules) = serde_json::from_slice::<ProgramRules>(data) else { return };
    let _ = rules.validate();
    let written = serde_json::to_vec(&rules).expect("rules serialise");
    let back: ProgramRules = serde_json::from_slice(&written).expect("written rules parse");
    assert_eq!(back, rules);
});
